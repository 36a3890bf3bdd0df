// A simulated device whose client core runs inside XS: each boot starts a fresh xsnap engine
// (nothing in memory survives a reset), registers the booted board's I/O on the bridge, and runs
// the client's runOnce() in XS. System.restart or a power cut kills the engine mid-call; SimDevice
// then boots again and we start a new engine, exactly as the device would.
import type { ClientConfig, ClientEvent } from '../../core/client-config.ts';
import type { RunOnceResult } from '../../core/client.ts';
import type { BootControl } from '../../platform/boot-control.ts';
import type { Flash } from '../../platform/flash.ts';
import type { Http } from '../../platform/http.ts';
import type { BootedBoard, SimDevice } from '../board/sim-device.ts';
import type { JobMeter } from './host-bridge.ts';
import { ROOTS, type BoardDescriptor } from './guest/board.ts';
import { GUEST_MODULE_TYPES, type GuestModuleType, type XsClientArgs, type XsClientSettings } from './guest/client-jobs.ts';
import { XsHarness } from './harness.ts';
import { XS_SLOT_BYTES } from './worker.ts';

export interface XsDeviceOptions {
  /** SHA-256 in XS: 'noble' (portable JS, default) or 'host' (native, behind the bridge). */
  readonly digest?: 'noble' | 'host';
  /** Collect garbage before each async I/O so every meter reading is the live heap (heap measurements). */
  readonly gcAtEachIo?: boolean;
  readonly maxBoots?: number;
  readonly onEvent?: (event: ClientEvent) => void;
  /** Wraps the board's Http (tests: faults, byte counts). */
  readonly wrapHttp?: (http: Http) => Http;
}

/** One boot's run in XS. */
export interface XsBootRun {
  readonly meter: JobMeter;
  /** How the boot ended: the client returned, or the device went down with this error name. */
  readonly ended: 'returned' | string;
}

export interface XsDeviceRun {
  readonly boots: number;
  readonly last: RunOnceResult | undefined;
  readonly runs: XsBootRun[];
  /** Largest live-heap reading (bytes) over every crank of every boot (meaningful with gcAtEachIo). */
  readonly peakHeapBytes: number;
}

/** The data part of a client configuration (functions are rebuilt inside XS). */
function settings(config: ClientConfig, forwardEvents: boolean): XsClientSettings {
  const { selfTest, onEvent, stateCodec, updateModules = [], onConfiguration, ...data } = config;
  // Modules are code: only the built-in ones cross, by type, and the guest registers its own copy.
  const modules = updateModules.map((module) => module.type);
  const custom = modules.filter((type) => !(GUEST_MODULE_TYPES as readonly string[]).includes(type));
  if (custom.length > 0) throw new TypeError(`XS device: update modules ${custom.join(', ')} cannot cross the bridge; register them in the guest`);
  if (onConfiguration) throw new TypeError('XS device: onConfiguration cannot cross the bridge');
  return { data, modules: modules as GuestModuleType[], selfTest: selfTest !== undefined, events: onEvent !== undefined || forwardEvents, cborState: stateCodec !== undefined };
}

function describeBoard(board: BootedBoard): BoardDescriptor {
  const flash: Record<string, BoardDescriptor['flash'][string]> = {};
  for (const [name, region] of Object.entries(board.flash)) {
    flash[name] = { byteLength: region.byteLength, sectorBytes: region.sectorBytes, writeGranule: region.writeGranule, erasedByte: region.erasedByte };
  }
  return {
    name: board.name,
    kind: board.flash.primary && board.flash.secondary ? 'mcuboot' : 'esp-idf',
    identity: { ...board.identity },
    inventory: { ...board.inventory },
    flash,
    keyValueMaxBytes: board.keyValue.maxValueBytes,
  };
}

function flashAdapter(flash: Flash) {
  return {
    async read(offset: number, length: number): Promise<Uint8Array> {
      const into = new Uint8Array(length);
      await flash.read(offset, into);
      return into;
    },
    write: (offset: number, bytes: Uint8Array) => flash.write(offset, bytes),
    eraseSector: (index: number) => flash.eraseSector(index),
  };
}

function httpAdapter(http: Http) {
  return {
    async request(request: Parameters<Http['request']>[0]) {
      const response = await http.request(request);
      return {
        head: () => ({ status: response.status, headers: new Map(response.headers) }),
        read: () => response.read(),
        close: () => response.close(),
      };
    },
  };
}

function bootControlAdapter(bootControl: BootControl) {
  return {
    // A plain copy crosses by value, whatever fields BootState has.
    state: async () => ({ ...(await bootControl.state()) }),
    async openInactiveSlot(options?: { resumeAt?: number }) {
      const writer = await bootControl.openInactiveSlot(options);
      return {
        get offset() {
          return writer.offset;
        },
        get durableOffset() {
          return writer.durableOffset;
        },
        write: (bytes: Uint8Array) => writer.write(bytes),
        finish: () => writer.finish(),
        abort: () => writer.abort(),
      };
    },
    async readInactiveSlot(offset: number, length: number): Promise<Uint8Array> {
      const into = new Uint8Array(length);
      await bootControl.readInactiveSlot(offset, into);
      return into;
    },
    setPendingTest: () => bootControl.setPendingTest(),
    confirm: () => bootControl.confirm(),
    rejectTestImage: () => bootControl.rejectTestImage(),
    clearPending: () => bootControl.clearPending(),
  };
}

/** Registers `board`'s I/O on the harness's bridge (the roots guest/board.ts calls). */
export function registerBoard(harness: XsHarness, board: BootedBoard, options: XsDeviceOptions = {}): BoardDescriptor {
  const { bridge } = harness;
  const http = options.wrapHttp ? options.wrapHttp(board.http) : board.http;
  bridge.register(ROOTS.board, { selfTest: () => board.selfTest() });
  bridge.register(ROOTS.http, httpAdapter(http));
  bridge.register(ROOTS.scheduler, { now: () => board.scheduler.now(), sleep: (ms: number) => board.scheduler.sleep(ms) });
  bridge.register(ROOTS.keyValue, {
    get: (key: string) => board.keyValue.get(key),
    set: (key: string, value: Uint8Array) => board.keyValue.set(key, value),
    delete: (key: string) => board.keyValue.delete(key),
  });
  bridge.register(ROOTS.system, {
    restart: () => board.system.restart(),
    resetReason: () => board.system.resetReason(),
    wallClockMs: () => board.system.wallClockMs(),
    log: (level: Parameters<BootedBoard['system']['log']>[0], message: string) => board.system.log(level, message),
    randomBytes: (length: number) => board.system.randomBytes(length),
  });
  bridge.register(ROOTS.bootControl, bootControlAdapter(board.bootControl));
  for (const [name, region] of Object.entries(board.flash)) bridge.register(ROOTS.flash(name), flashAdapter(region));
  return describeBoard(board);
}

/**
 * The device's life with the client in XS: boot, run the client's runOnce() in a fresh engine,
 * and on a reset (or a power cut) boot again, until runOnce returns (SimDevice.run's loop).
 */
export async function runDeviceInXs(
  device: SimDevice,
  config: (board: BootedBoard) => ClientConfig,
  options: XsDeviceOptions = {},
): Promise<XsDeviceRun> {
  let last: RunOnceResult | undefined;
  const runs: XsBootRun[] = [];
  const { boots } = await device.run(
    async (board) => {
      const harness = await XsHarness.start({ name: `xs-device-${runs.length}` });
      const clientConfig = config(board);
      harness.bridge.onNotify = (kind, value) => {
        if (kind !== 'event') return;
        clientConfig.onEvent?.(value as ClientEvent);
        options.onEvent?.(value as ClientEvent);
      };
      try {
        const args: XsClientArgs = {
          board: registerBoard(harness, board, options),
          settings: settings(clientConfig, options.onEvent !== undefined),
          digest: options.digest ?? 'noble',
          gcAtEachIo: options.gcAtEachIo ?? false,
        };
        const { value, meter } = await harness.job<RunOnceResult>('clientRunOnce', args);
        runs.push({ meter, ended: 'returned' });
        last = value;
      } catch (error) {
        runs.push({ meter: harness.bridge.lastJobMeter, ended: error instanceof Error ? error.name : 'unknown' });
        throw error;
      } finally {
        await harness.close();
      }
    },
    { maxBoots: options.maxBoots ?? 12 },
  );
  const peakHeapBytes = Math.max(0, ...runs.map((run) => run.meter.peakHeapCount)) * XS_SLOT_BYTES;
  return { boots, last, runs, peakHeapBytes };
}
