// Emulation of `mc/ffi`: `new FFI()` has one function per entry of the manifests' "ffi.functions"
// (parsed at bundle time as mcconfig parses them), nothing else — an undeclared native is undefined,
// as on a device. Each call does what mcconfig's generated glue (tools/ffi.js generateCFile) does:
// every argument converted as XS converts it and cast to its C type, pointers only from an
// ArrayBuffer (its bytes from 0: a handle has no byteOffset), then the result converted back.
// The host natives (host.ts) are the C side: they get C values and a pointer's whole buffer, and
// what they write there is copied back, so callers see C semantics.
import { ffiSignatures } from 'ota-mcu:ffi-declarations';
import { fromCResult, toCArgument } from './ffi-types.ts';
import { native } from './guest-bridge.ts';

export default class FFI {
  [name: string]: (...args: unknown[]) => unknown;

  constructor() {
    for (const signature of ffiSignatures) {
      const { name } = signature;
      Object.defineProperty(this, name, {
        enumerable: true,
        value: (...args: unknown[]): unknown => {
          // The glue reads mxArgv(i) for every declared argument with no argc check
          // (ffi.js:420-422): a missing one is whatever the stack holds. Refuse it here; extra
          // arguments are ignored there and here.
          if (args.length < signature.arguments.length) {
            throw new TypeError(`FFI ${name}: expected ${signature.arguments.length} arguments, got ${args.length}`);
          }
          const values = signature.arguments.map((type, i) => toCArgument(type, args[i]));
          const wire = values.map((value) => (value instanceof ArrayBuffer ? new Uint8Array(value) : value));
          const { ret, outs } = native('ffi', name, wire) as { ret: unknown; outs: (Uint8Array | undefined)[] };
          outs.forEach((out, i) => {
            const buffer = values[i];
            if (out !== undefined && buffer instanceof ArrayBuffer) new Uint8Array(buffer).set(out.subarray(0, buffer.byteLength));
          });
          return fromCResult(signature.returns, ret);
        },
      });
    }
  }
}
