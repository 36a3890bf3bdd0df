// A Board inside XS whose I/O lives in Node: Flash, KeyValue, Http, Scheduler (time and sleep) and
// System are the simulated board's, reached through the bridge; crypto, inflate, the MCUboot boot
// control and the work queue run here, in XS, as they would on the device.
import { createMcubootBootControl } from '../../../platform/boot-control-mcuboot.ts';
import type { Board } from '../../../platform/board.ts';
import type { BootControl, BootState, SlotWriter } from '../../../platform/boot-control.ts';
import type { Sha256Factory } from '../../../platform/digest.ts';
import type { Flash } from '../../../platform/flash.ts';
import type { Http, HttpRequest, HttpResponse } from '../../../platform/http.ts';
import { inflateFflate } from '../../../platform/inflate-fflate.ts';
import type { KeyValue } from '../../../platform/key-value.ts';
import type { Scheduler } from '../../../platform/scheduler.ts';
import type { LogLevel, ResetReason, System } from '../../../platform/system.ts';
import { verifierNoble } from '../../../platform/verifier-noble.ts';
import type { GuestBridge, RemoteRef } from './bridge.ts';

/** What the host tells the guest about its board (plain data). */
export interface BoardDescriptor {
  readonly name: string;
  readonly kind: 'mcuboot' | 'esp-idf';
  readonly identity: Record<string, string>;
  readonly inventory: Record<string, string | number>;
  readonly flash: Record<string, { byteLength: number; sectorBytes: number; writeGranule: number; erasedByte: number }>;
  readonly keyValueMaxBytes: number;
}

/** Root names the host registers (simulator/xs/device.ts); one place so both sides agree. */
export const ROOTS = {
  board: 'board',
  http: 'http',
  scheduler: 'scheduler',
  keyValue: 'keyValue',
  system: 'system',
  bootControl: 'bootControl',
  flash: (name: string) => `flash:${name}`,
} as const;

function remoteFlash(bridge: GuestBridge, name: string, geometry: BoardDescriptor['flash'][string]): Flash {
  const root = ROOTS.flash(name);
  return {
    ...geometry,
    read(offset: number, into: Uint8Array): void {
      into.set(bridge.call(root, 'read', [offset, into.length]) as Uint8Array);
    },
    write(offset: number, bytes: Uint8Array): void {
      bridge.call(root, 'write', [offset, bytes]);
    },
    eraseSector(index: number): void {
      bridge.call(root, 'eraseSector', [index]);
    },
  };
}

function remoteResponse(bridge: GuestBridge, ref: RemoteRef): HttpResponse {
  const head = bridge.call(ref, 'head') as { status: number; headers: Map<string, string> };
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    bridge.release(ref);
  };
  return {
    status: head.status,
    headers: head.headers,
    async read(): Promise<Uint8Array | undefined> {
      const chunk = (await bridge.callAsync(ref, 'read')) as Uint8Array | undefined;
      if (chunk === undefined) release();
      return chunk;
    },
    close(): void {
      if (released) return;
      bridge.call(ref, 'close');
      release();
    },
  };
}

function remoteHttp(bridge: GuestBridge): Http {
  return {
    async request(request: HttpRequest): Promise<HttpResponse> {
      return remoteResponse(bridge, (await bridge.callAsync(ROOTS.http, 'request', [request])) as RemoteRef);
    },
  };
}

function scheduler(bridge: GuestBridge): Scheduler {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    now: () => bridge.call(ROOTS.scheduler, 'now') as number,
    sleep: async (ms: number) => {
      await bridge.callAsync(ROOTS.scheduler, 'sleep', [ms]);
    },
    // The work queue is pure logic on the device's own event loop: it stays in XS.
    enqueue<T>(job: () => Promise<T>): Promise<T> {
      const result = tail.then(() => job());
      tail = result.catch(() => undefined);
      return result;
    },
  };
}

function keyValue(bridge: GuestBridge, maxValueBytes: number): KeyValue {
  return {
    maxValueBytes,
    get: (key) => bridge.call(ROOTS.keyValue, 'get', [key]) as Uint8Array | undefined,
    set: (key, value) => void bridge.call(ROOTS.keyValue, 'set', [key, value]),
    delete: (key) => void bridge.call(ROOTS.keyValue, 'delete', [key]),
  };
}

function system(bridge: GuestBridge): System {
  return {
    restart(): never {
      bridge.call(ROOTS.system, 'restart');
      // The host halts the engine inside that call; reaching this line is a harness bug.
      throw new Error('System.restart returned');
    },
    resetReason: () => bridge.call(ROOTS.system, 'resetReason') as ResetReason,
    wallClockMs: () => bridge.call(ROOTS.system, 'wallClockMs') as number,
    log: (level: LogLevel, message: string) => void bridge.call(ROOTS.system, 'log', [level, message]),
    randomBytes: (length: number) => bridge.call(ROOTS.system, 'randomBytes', [length]) as Uint8Array,
  };
}

/** ESP-IDF's boot control is native (embedded:update + FFI) on the device: here it stays in Node. */
function remoteBootControl(bridge: GuestBridge): BootControl {
  const root = ROOTS.bootControl;
  const writer = (ref: RemoteRef): SlotWriter => ({
    get offset() {
      return bridge.get(ref, 'offset') as number;
    },
    get durableOffset() {
      return bridge.get(ref, 'durableOffset') as number;
    },
    write: (bytes) => void bridge.call(ref, 'write', [bytes]),
    finish: () => void bridge.call(ref, 'finish'),
    abort: () => void bridge.call(ref, 'abort'),
  });
  return {
    state: () => bridge.call(root, 'state') as BootState,
    openInactiveSlot: (options) => writer(bridge.call(root, 'openInactiveSlot', [options]) as RemoteRef),
    readInactiveSlot(offset: number, into: Uint8Array): void {
      into.set(bridge.call(root, 'readInactiveSlot', [offset, into.length]) as Uint8Array);
    },
    setPendingTest: () => void bridge.call(root, 'setPendingTest'),
    confirm: () => void bridge.call(root, 'confirm'),
    rejectTestImage: () => void bridge.call(root, 'rejectTestImage'),
    clearPending: () => void bridge.call(root, 'clearPending'),
  };
}

export function createBridgedBoard(bridge: GuestBridge, descriptor: BoardDescriptor, sha256: Sha256Factory): Board {
  const flash: Record<string, Flash> = {};
  for (const [name, geometry] of Object.entries(descriptor.flash)) flash[name] = remoteFlash(bridge, name, geometry);
  let bootControl: BootControl;
  if (descriptor.kind === 'mcuboot') {
    const { primary, secondary } = flash;
    if (!primary || !secondary) throw new TypeError(`board ${descriptor.name}: MCUboot needs flash "primary" and "secondary", got ${Object.keys(flash).join(', ')}`);
    bootControl = createMcubootBootControl({ primary, secondary, sha256 });
  } else {
    bootControl = remoteBootControl(bridge);
  }
  return {
    name: descriptor.name,
    identity: descriptor.identity,
    inventory: descriptor.inventory,
    http: remoteHttp(bridge),
    scheduler: scheduler(bridge),
    bootControl,
    keyValue: keyValue(bridge, descriptor.keyValueMaxBytes),
    sha256,
    verifier: verifierNoble,
    inflate: inflateFflate,
    system: system(bridge),
    flash,
  };
}
