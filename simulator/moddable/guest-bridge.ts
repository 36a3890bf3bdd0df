// The XS side of every Moddable module emulation: the bridge to the Node host ('$moddable'), set
// once per engine by the guest entry. Natives that block on a device (flash, NVS, digest) are
// synchronous bridge calls here too; network and timers settle later, as on a device.
import { OtaError, type OtaErrorCode } from '../../base/errors.ts';
import type { GuestBridge, RemoteRef } from '../xs/guest/bridge.ts';
import { wireError } from '../xs/guest/codec.ts';

export const HOST = '$moddable';

let current: GuestBridge | undefined;

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

// Slow natives (timers, the network) complete in any order. As on a device's event loop, one async
// call is outstanding at a time: `nextEvents`, which the host answers with every operation that has
// completed since, in completion order; operations start with a synchronous call.
const pump = { waiters: new Map<number, Waiter>(), running: false };

export function useBridge(bridge: GuestBridge): void {
  current = bridge;
  pump.waiters.clear();
  pump.running = false;
}

/**
 * The memory harness's probe (simulator/moddable/device-memory.ts), called at every async native
 * before it starts: the I/O points where a device's event loop would wait. Undefined (no cost)
 * unless the harness asked for it (guest-main's runClient job, `memory: true`).
 */
let memoryProbe: ((method: string, args: readonly unknown[]) => void) | undefined;

export function setMemoryProbe(probe: typeof memoryProbe): void {
  memoryProbe = probe;
}

/** Starts `target.method(...args)` in Node (an async native) and settles when it completes. */
export function nativeAsync(target: RemoteRef | undefined, method: string, ...args: unknown[]): Promise<unknown> {
  memoryProbe?.(method, args);
  const id = bridge().call(HOST, 'asyncStart', [target, method, args]) as number;
  return new Promise((resolve, reject) => {
    pump.waiters.set(id, { resolve, reject });
    runPump();
  });
}

function runPump(): void {
  if (pump.running || pump.waiters.size === 0) return;
  pump.running = true;
  bridge()
    .callAsync(HOST, 'nextEvents')
    .then(
      (events) => {
        pump.running = false;
        for (const event of events as { id: number; ok?: unknown; err?: unknown }[]) {
          const waiter = pump.waiters.get(event.id);
          pump.waiters.delete(event.id);
          const error = wireError(event.err);
          if (error === undefined) waiter?.resolve(event.ok);
          else waiter?.reject(error.code !== undefined ? new OtaError(error.code as OtaErrorCode, error.message) : new Error(error.message));
        }
        runPump();
      },
      (error: unknown) => {
        pump.running = false;
        for (const waiter of pump.waiters.values()) waiter.reject(error);
        pump.waiters.clear();
      },
    );
}

export function bridge(): GuestBridge {
  if (current === undefined) throw new Error('Moddable emulation: no bridge (the guest entry sets it)');
  return current;
}

/** A synchronous native call on the host root. */
export function native(method: string, ...args: unknown[]): unknown {
  return bridge().call(HOST, method, args);
}

/** A synchronous call on a host object the host handed over. */
export function nativeOn(target: RemoteRef, method: string, ...args: unknown[]): unknown {
  return bridge().call(target, method, args);
}

/** Bytes of any ByteBuffer, as a Uint8Array view (no copy). */
export function bytesOf(buffer: unknown, what: string): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (ArrayBuffer.isView(buffer) && (buffer instanceof DataView || buffer instanceof Int8Array || buffer instanceof Uint8ClampedArray)) {
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  throw new TypeError(`${what}: expected a byte buffer`);
}
