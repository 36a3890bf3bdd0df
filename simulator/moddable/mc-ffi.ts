// Emulation of `mc/ffi`: `new FFI()` has one function per entry of the manifest's "ffi.functions"
// (the board's own manifest.json, bundled in), nothing else — an undeclared native is undefined, as
// on a device. Pointer arguments ("uint8_t*", "void*") are buffers the native fills: the host
// returns their new contents and they are copied back, so callers see C semantics.
import { ffiDeclarations } from 'ota-mcu:ffi-declarations';
import { bytesOf, native } from './guest-bridge.ts';

export interface FfiDeclaration {
  readonly arguments: readonly string[];
  readonly returns: string;
}

const isPointer = (type: string): boolean => type.endsWith('*');

export default class FFI {
  [name: string]: (...args: unknown[]) => unknown;

  constructor() {
    const declarations = ffiDeclarations as Record<string, FfiDeclaration>;
    for (const [name, declaration] of Object.entries(declarations)) {
      Object.defineProperty(this, name, {
        enumerable: true,
        value: (...args: unknown[]): unknown => {
          if (args.length !== declaration.arguments.length) {
            throw new TypeError(`FFI ${name}: expected ${declaration.arguments.length} arguments, got ${args.length}`);
          }
          const buffers = args.map((arg, i) => (isPointer(declaration.arguments[i]!) ? bytesOf(arg, `FFI ${name} argument ${i}`) : undefined));
          const wire = args.map((arg, i) => buffers[i] ?? arg);
          const { ret, outs } = native('ffi', name, declaration, wire) as { ret: unknown; outs: (Uint8Array | undefined)[] };
          outs.forEach((out, i) => {
            if (out !== undefined) buffers[i]!.set(out.subarray(0, buffers[i]!.length));
          });
          return declaration.returns === 'void' ? undefined : ret;
        },
      });
    }
  }
}
