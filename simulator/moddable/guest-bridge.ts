// The XS side of every Moddable module emulation: the bridge to the Node host ('$moddable'), set
// once per engine by the guest entry. Natives that block on a device (flash, NVS, digest) are
// synchronous bridge calls here too; network and timers settle later, as on a device.
import type { GuestBridge, RemoteRef } from '../xs/guest/bridge.ts';

export const HOST = '$moddable';

let current: GuestBridge | undefined;

export function useBridge(bridge: GuestBridge): void {
  current = bridge;
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
