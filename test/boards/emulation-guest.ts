// XS guest for test/boards/emulation.test.ts: guest-main's jobs plus probes that drive the emulated
// Moddable modules directly and report what each call did (a value, or the error's class and text).
/// <reference path="../../types/moddable/inflate.d.ts" />
// The emulations are imported by path here (the board code imports them by Moddable specifier).
import { inflateNative } from '../../boards/_moddable/inflate.ts';
import flashStorage from '../../simulator/moddable/embedded-storage-flash.ts';
import keyValueStorage from '../../simulator/moddable/embedded-storage-key-value.ts';
import Update from '../../simulator/moddable/embedded-update.ts';
import FFI from '../../simulator/moddable/mc-ffi.ts';
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
    const mac = new Uint8Array(6);
    return {
      undeclared: attempt(() => typeof ffi.esp_restart),
      arity: attempt(() => ffi.esp_read_mac(mac)),
      mac: attempt(() => (ffi.esp_read_mac(mac, 0) === 0 ? Array.from(mac) : 'failed')),
    };
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
