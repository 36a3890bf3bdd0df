// A simulated device running a Moddable board port inside XS: each boot starts a fresh xsnap engine
// with the board's code and the emulated Moddable modules, backed by that boot of a SimDevice
// (flash, NVS, network, clock, restarts). Node-side proxies give the board's Flash, KeyValue and
// BootControl to the conformance kit; runClient runs the update client's runOnce() in XS.
import type { ClientEvent } from '../../core/client-config.ts';
import type { RunOnceResult } from '../../core/client.ts';
import type { BoardSettings } from '../../boards/_moddable/settings.ts';
import type { BootControl, BootState, SlotWriter } from '../../platform/boot-control.ts';
import type { Flash } from '../../platform/flash.ts';
import type { KeyValue } from '../../platform/key-value.ts';
import type { BootedBoard, SimDevice } from '../board/sim-device.ts';
import { OtaError, type OtaErrorCode } from '../../core/errors.ts';
import { XsHarness } from '../xs/harness.ts';
import { moddableGuestScript, type ModdableBoardName } from './bundle.ts';
import { ModdableHost } from './host.ts';
import { boardModules, ffiSignaturesOf } from './manifest-modules.ts';

export interface ModdableBootInfo {
  readonly name: string;
  readonly identity: Record<string, string>;
  readonly inventory: Record<string, string | number>;
  readonly flash: Record<string, { byteLength: number; sectorBytes: number; writeGranule: number; erasedByte: number }>;
  readonly maxValueBytes: number;
}

export interface ModdableDeviceOptions {
  readonly board: ModdableBoardName;
  readonly device: SimDevice;
  /** createBoard's config (keyValuePath, dnsServers, ca, identity, slot labels…). */
  readonly boardConfig?: Record<string, unknown>;
  /** Another guest entry (it must keep guest-main's jobs): tests that probe the emulations. */
  readonly guestEntry?: string;
}

type Path = (string | number)[];

interface CallResult {
  value: unknown;
  buffers: (Uint8Array | undefined)[];
  props?: Record<string, number>;
}

/** One boot: a SimDevice boot, its host natives, and an XS engine with the board built in it. */
export class ModdableBoot {
  readonly harness: XsHarness;
  readonly host: ModdableHost;
  readonly booted: BootedBoard;
  readonly info: ModdableBootInfo;

  private constructor(harness: XsHarness, host: ModdableHost, booted: BootedBoard, info: ModdableBootInfo) {
    this.harness = harness;
    this.host = host;
    this.booted = booted;
    this.info = info;
  }

  static async start(options: ModdableDeviceOptions): Promise<ModdableBoot> {
    const booted = await options.device.boot();
    const config = { keyValuePath: 'ota-mcu', ...options.boardConfig };
    const ffi = ffiSignaturesOf(boardModules(options.board));
    const host = await ModdableHost.create({ kind: options.device.kind, board: booted, keyValuePath: String(config.keyValuePath), ffi });
    const harness = await XsHarness.start({ script: await moddableGuestScript(options.board, options.guestEntry), name: `moddable-${options.board}` });
    harness.bridge.register('$moddable', host);
    try {
      const { value } = await harness.job<ModdableBootInfo>('boot', { config });
      return new ModdableBoot(harness, host, booted, value);
    } catch (error) {
      await harness.close();
      throw error;
    }
  }

  async call(path: Path, method: string, args: unknown[] = []): Promise<CallResult> {
    try {
      const { value } = await this.harness.job<CallResult>('call', { path, method, args });
      return value;
    } catch (error) {
      throw nodeError(error);
    }
  }

  /** The board's Flash region `name`, each method a call into XS. */
  flash(name: string): Flash {
    const geometry = this.info.flash[name];
    if (geometry === undefined) throw new RangeError(`board has no flash region "${name}"`);
    return {
      ...geometry,
      read: async (offset, into) => {
        const result = await this.call(['flash', name], 'read', [offset, new Uint8Array(into.length)]);
        into.set(result.buffers[1]!);
      },
      write: async (offset, bytes) => void (await this.call(['flash', name], 'write', [offset, bytes])),
      eraseSector: async (index) => void (await this.call(['flash', name], 'eraseSector', [index])),
    };
  }

  keyValue(): KeyValue {
    return {
      maxValueBytes: this.info.maxValueBytes,
      get: async (key) => (await this.call(['keyValue'], 'get', [key])).value as Uint8Array | undefined,
      set: async (key, value) => void (await this.call(['keyValue'], 'set', [key, value])),
      delete: async (key) => void (await this.call(['keyValue'], 'delete', [key])),
    };
  }

  bootControl(): BootControl {
    const call = (method: string, args: unknown[] = []) => this.call(['bootControl'], method, args);
    return {
      state: async () => (await call('state')).value as BootState,
      openInactiveSlot: async (options) => this.#writer((await call('openInactiveSlot', options === undefined ? [] : [options])).value as { $handle: number; props: Record<string, number> }),
      readInactiveSlot: async (offset, into) => {
        const result = await call('readInactiveSlot', [offset, new Uint8Array(into.length)]);
        into.set(result.buffers[1]!);
      },
      setPendingTest: async () => void (await call('setPendingTest')),
      confirm: async () => void (await call('confirm')),
      rejectTestImage: async () => void (await call('rejectTestImage')),
      clearPending: async () => void (await call('clearPending')),
    };
  }

  /** Runs the update client's runOnce() with the board in XS. */
  async runClient(settings: BoardSettings, options: { selfTest?: boolean; onEvent?: (event: ClientEvent) => void } = {}): Promise<RunOnceResult> {
    this.harness.bridge.onNotify = (kind, value) => {
      if (kind === 'event') options.onEvent?.(value as ClientEvent);
    };
    const { value } = await this.harness.job<RunOnceResult>('runClient', { settings, selfTest: options.selfTest ?? false, events: options.onEvent !== undefined });
    return value;
  }

  async close(): Promise<void> {
    await this.harness.close();
  }

  #writer(handle: { $handle: number; props: Record<string, number> }): SlotWriter {
    let props = handle.props;
    const call = async (method: string, args: unknown[] = []) => {
      const result = await this.call([handle.$handle], method, args);
      props = result.props ?? props;
    };
    return {
      get offset() {
        return props.offset!;
      },
      get durableOffset() {
        return props.durableOffset!;
      },
      write: (bytes) => call('write', [bytes]),
      finish: () => call('finish'),
      abort: () => call('abort'),
    };
  }
}

/**
 * The device's life with a Moddable board in XS (SimDevice.run's loop): boot, build the board and
 * run the client once in a fresh engine; a restart or power cut boots again, until runOnce returns.
 */
export async function runModdableClient(
  options: ModdableDeviceOptions & { settings: BoardSettings; selfTest?: boolean; onEvent?: (event: ClientEvent) => void; maxBoots?: number },
): Promise<{ boots: number; last: RunOnceResult | undefined; traced: string[] }> {
  let last: RunOnceResult | undefined;
  const traced: string[] = [];
  let count = 0;
  for (;;) {
    if (++count > (options.maxBoots ?? 12)) throw new Error(`runModdableClient: still resetting after ${options.maxBoots ?? 12} boots`);
    let boot: ModdableBoot | undefined;
    try {
      boot = await ModdableBoot.start(options);
      if (boot.booted.behaviour === 'never-confirms') {
        // The firmware hangs before the app runs; its selfTest() records the watchdog reset.
        await boot.booted.selfTest().catch(() => undefined);
        continue;
      }
      last = await boot.runClient(options.settings, { selfTest: options.selfTest, onEvent: options.onEvent });
      traced.push(...boot.host.traced);
      return { boots: count, last, traced };
    } catch (error) {
      if (boot) traced.push(...boot.host.traced);
      if (error instanceof Error && (error.name === 'DeviceRestart' || error.name === 'PowerCut')) continue;
      throw error;
    } finally {
      await boot?.close();
    }
  }
}

/** A guest error as the class the guest threw (the bridge keeps name, message and an OtaError's code). */
function nodeError(error: unknown): unknown {
  if (!(error instanceof Error) || error.constructor !== Error) return error;
  const code = (error as { code?: string }).code;
  if (code !== undefined) return new OtaError(code as OtaErrorCode, error.message);
  if (error.name === 'RangeError') return new RangeError(error.message);
  if (error.name === 'TypeError') return new TypeError(error.message);
  return error;
}
