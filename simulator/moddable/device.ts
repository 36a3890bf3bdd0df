// A simulated device running a Moddable board port inside XS: each boot starts a fresh xsnap engine
// with the board's code and the emulated Moddable modules, backed by that boot of a SimDevice
// (flash, NVS, network, clock, restarts). Node-side proxies give the board's Flash, KeyValue and
// BootControl to the conformance kit; runClient runs the update client's runOnce() in XS.
//
// Memory: with `creation: 'manifest'` (or a creation of its own) the engine is created with the
// board manifest's "creation" (chunk and heap sizes, stack, Zephyr's static block) on a 32-bit XS
// (16-byte slots, as on the device), and XS itself aborts past them ("memory full", "stack
// overflow": an XsAbort). See enforcedCreation. Not the default yet: the client's run-time needs
// exceed today's manifests (issue 11; see test/boards/creation.test.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOARDS_DIR } from '../../scripts/boards.mjs';
import type { ClientEvent } from '../../core/client-config.ts';
import type { RunOnceResult } from '../../core/client.ts';
import type { BoardSettings } from '../../boards/_moddable/settings.ts';
import type { BootControl, BootState, SlotWriter } from '../../platform/boot-control.ts';
import type { Flash } from '../../platform/flash.ts';
import type { KeyValue } from '../../platform/key-value.ts';
import type { BootedBoard, SimDevice } from '../board/sim-device.ts';
import { OtaError, type OtaErrorCode } from '../../base/errors.ts';
import { XsHarness } from '../xs/harness.ts';
import { XsAbort, XsWorker, type XsCreation } from '../xs/worker.ts';
import { moddableGuestScript, type ModdableBoardName } from './bundle.ts';
import { ModdableHost } from './host.ts';
import type { MemoryReading } from './guest-memory.ts';
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
  /**
   * The creation XS enforces: 'manifest' (the board's), another one (a test's too-small heap, say),
   * or false (the default) for xsnap's own roomy sizes on the package's 64-bit worker.
   */
  readonly creation?: ManifestCreation | 'manifest' | false;
}

/** A Moddable manifest's "creation": chunk bytes, heap and stack in slots, a static block in bytes. */
export interface ManifestCreation {
  readonly static?: number;
  readonly chunk: { readonly initial: number; readonly incremental: number };
  readonly heap: { readonly initial: number; readonly incremental: number };
  readonly stack: number;
}

/** boards/<board>/manifest.json's "creation". */
export function boardCreation(board: ModdableBoardName): ManifestCreation {
  const path = join(BOARDS_DIR, board, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as { creation?: ManifestCreation };
  if (!manifest.creation) throw new TypeError(`${path}: no "creation"`);
  return manifest.creation;
}

/** What the guest script leaves in the engine once evaluated and collected, on the 32-bit XS. */
export interface XsBaseline {
  readonly slots: number;
  readonly chunkBytes: number;
  readonly slotBytes: number;
  /**
   * Stack slots the harness's own frames take under a guest job (xsnap's eval host function and
   * the evaluated script: a device calls main() from C directly): the depth when a script
   * evaluated by the harness calls a host function, less the machine's depth at rest.
   */
  readonly harnessStack: number;
}

const baselines = new Map<string, Promise<XsBaseline>>();

/**
 * The device preloads the client (its code and the objects its modules build sit in flash), so its
 * creation sizes cover only what the app adds at run time. xsnap has no preloader: it evaluates the
 * bundle into RAM. Preloading moves to flash what is live right after import and a collection, so
 * that is measured once per script (in a roomy 32-bit engine) and added to the creation's initials.
 */
export function xsBaseline(script: string): Promise<XsBaseline> {
  const key = createHash('sha256').update(script).digest('hex');
  let baseline = baselines.get(key);
  if (baseline === undefined) {
    baseline = (async () => {
      const worker = await XsWorker.launch({ bits: 32, name: 'moddable-baseline' });
      try {
        await worker.evaluate(script);
        const memory = await worker.memory({ gc: true });
        return { slots: memory.currentSlots, chunkBytes: memory.currentChunkBytes, slotBytes: memory.slotBytes, harnessStack: memory.stackDepth - memory.stackBase };
      } finally {
        await worker.close();
      }
    })();
    baselines.set(key, baseline);
    baseline.catch(() => baselines.delete(key));
  }
  return baseline;
}

/** sizeof(txBlock) on a 32-bit build (xsAll.h: four pointers): the header fxGrowChunks adds to a chunk block. */
const TX_BLOCK_BYTES_32 = 16;

/** How the device's creation is held in xsnap: at machine creation, then once the bundle is loaded. */
export interface EnforcedCreation {
  /** Heap and stack, from the start (XsWorker.launch's creation). */
  readonly creation: XsCreation;
  /** Chunks (and a static block's rest), once the bundle is evaluated (XsWorker.limitChunks). */
  readonly chunks: { readonly initial: number; readonly incremental: number; readonly space?: number };
}

/**
 * The xsnap creation that holds the device's `creation` on top of `baseline`:
 * - heap: initial = baseline + the manifest's initial, incremental as the manifest says (0: XS
 *   aborts "memory full" once a collection frees nothing, xsMemory.c fxNewSlot:1486-1491);
 * - stack: the manifest's slots plus the harness's frames (baseline.harnessStack);
 * - chunks: applied after the bundle is evaluated, because the evaluation needs ~1.4 MB of chunks
 *   a device running preloaded code never needs (the source text, the whole script's byte code):
 *   the manifest's initial bytes free past the live ones, growing by its incremental (0: XS aborts
 *   "memory full", xsMemory.c fxGrowChunks:515-518). See simulator/xs/native/creation.c ota_limit.
 * - static (Zephyr: one block holds the chunks, heap and stack, and every later increment comes out
 *   of what is left): the creation's own allocations are charged to it as on the device, and what
 *   is left caps every chunk and slot allocation after the bundle is loaded (xsnap's allocation
 *   limit, which aborts "memory full" like a device whose block ran out). Heap increments taken
 *   while the bundle is evaluated are not charged: the device has none there.
 */
export function enforcedCreation(creation: ManifestCreation, baseline: XsBaseline): EnforcedCreation {
  const enforced: EnforcedCreation = {
    creation: { heap: { initial: baseline.slots + creation.heap.initial, incremental: creation.heap.incremental }, stack: creation.stack + baseline.harnessStack },
    chunks: { initial: creation.chunk.initial, incremental: creation.chunk.incremental },
  };
  if (!creation.static) return enforced;
  const atCreation = creation.chunk.initial + TX_BLOCK_BYTES_32 + (creation.heap.initial + creation.stack) * baseline.slotBytes;
  const space = creation.static - atCreation;
  if (space < 0) throw new XsAbort('memory full', ` (creation needs ${atCreation} bytes, the static block has ${creation.static})`);
  return { ...enforced, chunks: { ...enforced.chunks, space } };
}

type Path = (string | number)[];

export interface ClientRunOptions {
  readonly selfTest?: boolean;
  readonly onEvent?: (event: ClientEvent) => void;
  /** Readings of XS's counters at each I/O point and state change (the memory harness). */
  readonly onMemory?: (reading: MemoryReading) => void;
}

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
    const script = await moddableGuestScript(options.board, options.guestEntry);
    const creation = options.creation === 'manifest' ? boardCreation(options.board) : (options.creation ?? false);
    const enforced = creation === false ? undefined : enforcedCreation(creation, await xsBaseline(script));
    const harness = await XsHarness.start({ script, name: `moddable-${options.board}`, launch: enforced && { bits: 32, creation: enforced.creation } });
    harness.bridge.register('$moddable', host);
    try {
      if (enforced) await harness.worker.limitChunks(enforced.chunks);
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
  /** `onMemory`: the memory harness's readings (simulator/moddable/guest-memory.ts); none without it. */
  async runClient(settings: BoardSettings, options: ClientRunOptions = {}): Promise<RunOnceResult> {
    this.harness.bridge.onNotify = (kind, value) => {
      if (kind === 'event') options.onEvent?.(value as ClientEvent);
      if (kind === 'memory') options.onMemory?.(value as MemoryReading);
    };
    const { value } = await this.harness.job<RunOnceResult>('runClient', {
      settings, selfTest: options.selfTest ?? false, events: options.onEvent !== undefined, memory: options.onMemory !== undefined,
    });
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
  options: ModdableDeviceOptions & ClientRunOptions & { settings: BoardSettings; maxBoots?: number; onBoot?: (boot: number) => void },
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
      options.onBoot?.(count);
      last = await boot.runClient(options.settings, { selfTest: options.selfTest, onEvent: options.onEvent, onMemory: options.onMemory });
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
