// XS guest for test/boards/emulation.test.ts: guest-main's jobs plus probes that drive the emulated
// Moddable modules directly and report what each call did (a value, or the error's class and text).
/// <reference path="../../types/moddable/inflate.d.ts" />
// The emulations are imported by path here (the board code imports them by Moddable specifier).
import { inflateNative } from '../../boards/_moddable/inflate.ts';
import flashStorage from '../../simulator/moddable/embedded-storage-flash.ts';
import keyValueStorage from '../../simulator/moddable/embedded-storage-key-value.ts';
import Update from '../../simulator/moddable/embedded-update.ts';
import FFI from '../../simulator/moddable/mc-ffi.ts';
import { parseFfiSignatures, toCArgument } from '../../simulator/moddable/ffi-types.ts';
import { guestJobs } from '../../simulator/moddable/guest-main.ts';
import { useBridge } from '../../simulator/moddable/guest-bridge.ts';
import { createJobRunner } from '../../simulator/xs/guest/jobs.ts';
import type { GuestBridge } from '../../simulator/xs/guest/bridge.ts';

type Outcome = { ok: unknown } | { error: string; message: string; code?: string };

function attempt(call: () => unknown): Outcome {
  try {
    const value = call();
    return { ok: value instanceof ArrayBuffer ? new Uint8Array(value) : value };
  } catch (error) {
    const e = error as Error & { code?: string };
    return { error: e.constructor.name, message: e.message, ...(e.code ? { code: e.code } : {}) };
  }
}

const probes: Record<string, (args: Record<string, unknown>) => Record<string, Outcome>> = {
  flash: () => {
    const running = flashStorage.open({ path: 'running', mode: 'r' });
    // 'w' is not a flash mode: the emulation must refuse it as the SDK does
    return {
      missing: attempt(() => flashStorage.open({ path: 'ota_1' })), // app partitions are not DATA partitions
      badMode: attempt(() => flashStorage.open({ path: 'nvs', mode: 'w' })),
      status: attempt(() => running.status()),
      readOnly: attempt(() => running.write(new Uint8Array(4), 0)),
      read: attempt(() => running.read(1, 0)),
      names: attempt(() => [...flashStorage]),
    };
  },
  update: () => {
    const next = flashStorage.open({ path: 'nextota' });
    const running = flashStorage.open({ path: 'running' });
    const outcome: Record<string, Outcome> = {
      runningTarget: attempt(() => Update.open({ partition: running })),
      badMode: attempt(() => Update.open({ partition: next, mode: 'x' })),
      noPartition: attempt(() => Update.open({})),
    };
    const updater = Update.open({ partition: next });
    outcome.offset = attempt(() => updater.write(new Uint8Array([0xe9]), 0));
    outcome.badMagic = attempt(() => updater.write(new Uint8Array([0x00, 1, 2, 3])));
    outcome.endEmpty = attempt(() => updater.complete());
    outcome.again = attempt(() => updater.complete());
    updater.close();
    outcome.closeTwice = attempt(() => updater.close());
    return outcome;
  },
  keyValue: () => {
    const store = keyValueStorage.open({ path: 'ota-mcu' });
    store.write('blob', new Uint8Array([1, 2, 3]));
    const text = keyValueStorage.open({ path: 'ota-mcu', format: 'string' });
    const readOnly = keyValueStorage.open({ path: 'ota-mcu', mode: 'r' });
    return {
      roundTrip: attempt(() => store.read('blob')),
      intoBuffer: attempt(() => store.read('blob', new Uint8Array(8))),
      mismatch: attempt(() => text.read('blob')),
      tooLong: attempt(() => store.write('a-key-of-16-char', new Uint8Array(1))),
      readOnly: attempt(() => readOnly.write('blob', new Uint8Array(1))),
      badFormat: attempt(() => keyValueStorage.open({ path: 'ota-mcu', format: 'float' })),
      missing: attempt(() => store.read('never-written')),
    };
  },
  ffi: () => {
    const ffi = new FFI();
    const mac = new ArrayBuffer(6);
    // bytes 8..13 of a 16-byte buffer: the pointer is still the buffer's byte 0 (no byteOffset in C)
    const sub = new Uint8Array(new ArrayBuffer(16)).subarray(8, 14);
    const random = new ArrayBuffer(12);
    return {
      undeclared: attempt(() => typeof ffi.esp_restart),
      arity: attempt(() => ffi.esp_read_mac(mac)),
      view: attempt(() => ffi.esp_read_mac(new Uint8Array(6), 0)),
      dataView: attempt(() => ffi.ota_fill_random(new DataView(new ArrayBuffer(8)), 0, 8)),
      subarray: attempt(() => ffi.esp_read_mac(sub, 0)),
      mac: attempt(() => (ffi.esp_read_mac(mac, 0) === 0 ? Array.from(new Uint8Array(mac)) : 'failed')),
      subarrayBuffer: attempt(() => (ffi.esp_read_mac(sub.buffer, 0) === 0 ? Array.from(new Uint8Array(sub.buffer)) : 'failed')),
      // uint32_t offset 2^32 + 4: XS->toUnsigned then (uint32_t) make it 4, so bytes 4..7 are filled
      wrappedOffset: attempt(() => {
        ffi.ota_fill_random(random, 2 ** 32 + 4, 4);
        return Array.from(new Uint8Array(random), (b) => (b === 0 ? 0 : 1));
      }),
    };
  },
  // The glue's conversions run in XS: each value → each C type, as XS->toInteger/toUnsigned/… and the cast.
  ffiConversions: () => {
    const declared = ['int8_t', 'uint8_t', 'int16_t', 'uint16_t', 'int32_t', 'uint32_t', 'float', 'int64_t', 'uint64_t', 'char*'];
    const [signature] = parseFfiSignatures({ f: { arguments: declared, returns: 'void' } }, 'probe');
    const values: Record<string, unknown> = { big: 0x1ff, negative: -129, wide: 70000, over32: 2 ** 32 + 5, fraction: -1.9, text: '12', bool: true, nil: null, nan: NaN, bigint: -1n, sym: Symbol('s') };
    const outcome: Record<string, Outcome> = {};
    for (const [label, value] of Object.entries(values)) {
      outcome[label] = attempt(() =>
        Object.fromEntries(
          signature!.arguments.map((type) => {
            try {
              const c = toCArgument(type, value);
              return [type.declared, typeof c === 'bigint' ? `${c}n` : Number.isNaN(c) ? 'NaN' : c];
            } catch (error) {
              return [type.declared, `${(error as Error).name}: ${(error as Error).message}`];
            }
          }),
        ),
      );
    }
    const [sized] = parseFfiSignatures({ g: { arguments: ['uint8_t[6]'] } }, 'probe');
    outcome.sizedShort = attempt(() => toCArgument(sized!.arguments[0]!, new ArrayBuffer(4)));
    outcome.sizedOk = attempt(() => (toCArgument(sized!.arguments[0]!, new ArrayBuffer(6)) as ArrayBuffer).byteLength);
    return outcome;
  },
  gunzip: (args) => {
    const run = (bytes: Uint8Array, chunk: number): Outcome =>
      attempt(() => {
        const stream = inflateNative.gunzip();
        const parts: Uint8Array[] = [];
        for (let at = 0; at < bytes.length; at += chunk) parts.push(stream.push(bytes.subarray(at, at + chunk)));
        parts.push(stream.end());
        const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          out.set(p, at);
          at += p.length;
        }
        return out;
      });
    const gz = args.gzip as Uint8Array;
    const corrupt = gz.slice();
    corrupt[gz.length - 2] ^= 0xff; // inside ISIZE
    const corruptCrc = gz.slice();
    corruptCrc[gz.length - 6] ^= 0xff; // inside the CRC-32
    return {
      corruptCrc: run(corruptCrc, 4096),
      whole: run(gz, gz.length),
      byteByByte: run(gz, 1),
      pieces: run(gz, 777),
      corruptTrailer: run(corrupt, 4096),
      truncated: run(gz.subarray(0, gz.length - 3), 4096),
      notGzip: run(new Uint8Array(20), 4096),
    };
  },
  gunzipOnce: (args) => ({
    whole: attempt(() => {
      const stream = inflateNative.gunzip();
      const out = stream.push(args.gzip as Uint8Array);
      stream.end();
      return out.length;
    }),
  }),
};

const runner = createJobRunner({
  ...guestJobs,
  probe: async (args: { name: string } & Record<string, unknown>, bridge: GuestBridge) => {
    useBridge(bridge);
    return probes[args.name]!(args);
  },
});
(globalThis as unknown as { OtaMcuXs: unknown }).OtaMcuXs = runner;
