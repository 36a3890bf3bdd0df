// The XS harness: one xsnap worker with the guest bundle loaded, a bridge to Node objects, and
// named guest jobs with their meter. Each harness is one "power-on": close() (or a halt) throws
// the engine away and nothing in it survives.
import { buildBundles } from '../../scripts/build.mjs';
import { sha256Node } from '../digest-node.ts';
import { HostBridge, type JobMeter } from './host-bridge.ts';
import { XsWorker, XS_SLOT_BYTES, type XsLaunchOptions, type XsMeter } from './worker.ts';

let script: Promise<string> | undefined;

/** The guest IIFE, built once per process from the sources (never a stale dist/). */
export function xsScript(): Promise<string> {
  script ??= buildBundles().then((bundles) => bundles.xs);
  return script;
}

export class XsHarness {
  readonly worker: XsWorker;
  readonly bridge: HostBridge;
  /** Meter of evaluating the bundle (parse + top level). */
  readonly loadMeter: XsMeter;

  private constructor(worker: XsWorker, bridge: HostBridge, loadMeter: XsMeter) {
    this.worker = worker;
    this.bridge = bridge;
    this.loadMeter = loadMeter;
  }

  /**
   * `launch` (bits, creation) starts ota-mcu's variant worker instead of the package's binary
   * (XsWorker.launch): the bundle is then evaluated under that creation.
   */
  static async start(options: { script?: string; name?: string; launch?: Pick<XsLaunchOptions, 'bits' | 'creation'> } = {}): Promise<XsHarness> {
    const code = options.script ?? (await xsScript());
    const name = options.name ?? 'ota-mcu-xs';
    const worker = options.launch ? await XsWorker.launch({ ...options.launch, name }) : XsWorker.start({ name });
    const bridge = new HostBridge(worker);
    bridge.register('$digest', { create: sha256Node }); // Node's native SHA-256: what a board with a hardware/native digest offers
    try {
      const { meter } = await worker.evaluate(code);
      return new XsHarness(worker, bridge, meter);
    } catch (error) {
      await worker.close();
      throw error;
    }
  }

  /**
   * Runs guest job `name` with `args` (bytes travel as binary) until it reports. Rejects with the
   * guest's error, or with the halt error (DeviceRestart, PowerCut) when the device went down.
   */
  async job<T>(name: string, args: unknown = {}): Promise<{ value: T; meter: JobMeter }> {
    this.bridge.register('$job', { args: () => args });
    const { value, meter } = await this.bridge.run(`globalThis.OtaMcuXs.start(${JSON.stringify(name)})`);
    return { value: value as T, meter };
  }

  /** Live heap after a full collection: slots, and bytes at this host's slot size. */
  async heapAfterGc(): Promise<{ slots: number; bytes: number }> {
    const { meter } = await this.worker.evaluate('gc()');
    return { slots: meter.currentHeapCount, bytes: meter.currentHeapCount * XS_SLOT_BYTES };
  }

  /** Live slots and chunk bytes after a full collection (XS's own counters: variant worker only). */
  async memory(): Promise<{ slots: number; chunkBytes: number }> {
    const memory = await this.worker.memory({ gc: true });
    return { slots: memory.currentSlots, chunkBytes: memory.currentChunkBytes };
  }

  async close(): Promise<void> {
    await this.worker.close();
  }
}
