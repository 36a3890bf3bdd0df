// The device memory harness (issue 12, item 2): the real board bundle (boards/<board> as built for
// the device, over the emulated Moddable modules) through complete deployments against the dev
// server, on ota-mcu's xsnap variant compiled for 32 bits (gcc -m32: 16-byte slots as on ESP32 and
// Cortex-M; simulator/xs/xsnap-build.ts), reading XS's own counters (xsMemory.c: slots and chunks,
// current and peak; simulator/xs/native/creation.c otaMemory), never estimates.
//
// Preloading. On the device the client is preloaded: its code and the objects its modules build at
// import sit in flash. xsnap has no preloader, so the harness takes the live heap right after the
// bundle's import and a collection (xsBaseline, simulator/moddable/device.ts) as the part preloading
// moves to flash, and counts only what rises above it. Every XS figure here is "above baseline".
//
// Method. XS's peak counters count garbage until a collection runs, so the peak of a roomy engine
// says how much garbage piled up, not what the client needs. Two measurements instead:
//   (a) LIVE HIGH-WATER, per phase: the guest collects and reads the counters at every I/O point
//       (each async native: HTTP request and read, timer, self-test) and at every state change
//       (simulator/moddable/guest-memory.ts). The largest live heap seen is a LOWER bound of what the
//       deployment needs (what is live between two I/O points is not seen). The garbage-inclusive
//       peaks of the same intervals are reported beside it as an UPPER bound.
//   (b) FITS: the deployment again under a FIXED creation (incremental 0: XS may not grow the heap
//       or the chunks, and aborts "memory full" when a collection cannot make room; xsMemory.c
//       fxNewSlot, fxGrowChunks) of N bytes above the baseline. Success means the deployment runs in
//       N bytes with XS's own collector, which is what a device with that manifest creation does.
//       This is the budget test (test/boards/device-memory.test.ts): N = peakXsBytes' 64 KiB,
//       split between slots and chunks in proportion to (a)'s live high-water of each (slots are
//       all alike and chunks are compacted, so each part needs at least its live high-water and
//       the proportional split is the one that gives both the same headroom).
//
// Outside XS: the buffers the platform holds in C while the client runs are constants read from
// the SDK sources (OUTSIDE_XS, with file:line), not measured here; the emulation models the inflate
// output piece and the test checks it against the constant.
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { BoardSettings } from '../../boards/_moddable/settings.ts';
import { imageCapacity, trailerLayout } from '../../platform/mcuboot-trailer.ts';
import type { SimDevice, SimDeviceOptions } from '../board/sim-device.ts';
import { writeArtifact } from '../artifact-writer.ts';
import { Management } from '../demo/management.ts';
import { startServer, type RunningServer } from '../server/server.ts';
import { XsAbort } from '../xs/worker.ts';
import { moddableGuestScript, type ModdableBoardName } from './bundle.ts';
import { boardCreation, runModdableClient, xsBaseline, type ManifestCreation, type XsBaseline } from './device.ts';
import type { MemoryPhase, MemoryReading } from './guest-memory.ts';

export const MIB = 1024 * 1024;

/** Issue 12 item 3: bench/results.json deviceMemory's budgets (bytes, 32-bit, above the baseline). */
export const DEVICE_MEMORY_BUDGETS = {
  peakXsBytes: 65536,
  growth1to4MiBBytes: 4096,
  idleXsBytes: 24576,
  outsideXsBytes: 49152,
} as const;

/**
 * Where a budget is not met yet (issue 12), the ceiling the tests hold today's measurement under, so
 * it cannot grow while the work goes on: the figure measured on this engine (32-bit XS 13.3, the
 * CI subset's worst case) rounded up to the next KiB. A budget that is met has no entry here, and
 * its test enforces the budget itself. Lower these as the client shrinks; never raise them to let
 * a change through.
 */
export const NOT_MET_CEILINGS: Partial<Record<keyof typeof DEVICE_MEMORY_BUDGETS, number>> = {
  // Under a fixed creation (incremental 0, slots and chunks split as the live high-water splits),
  // the 1 MiB ecdsa-p256 gzip deployment needs at most 229,627 B on esp32 and 229,740 B on stm32
  // (bisected to 4 KiB; uncompressed, esp32: 170,616 B); its live high-water at I/O points is
  // 154,696 / 154,772 B. Noble is in these figures: it loads on demand at run time, not preloaded
  // (boards/_moddable/verifier-on-demand.ts), and its curves take about 57 KB once loaded.
  peakXsBytes: 225 * 1024,
  idleXsBytes: 88 * 1024, // measured 89,284 B between polls (esp32; stm32 88,236 B), noble loaded
  outsideXsBytes: 52 * 1024, // esp32: 53,056 B (miniz inflate_state 43,784 + lwIP TCP window 8,192 + output 1,080)
};

/** The limit a test enforces for `budget`: the number once met, today's ceiling until then. */
export function enforcedLimit(budget: keyof typeof DEVICE_MEMORY_BUDGETS): number {
  return NOT_MET_CEILINGS[budget] ?? DEVICE_MEMORY_BUDGETS[budget];
}

export const PHASES: readonly MemoryPhase[] = ['idle', 'authorize', 'check', 'download', 'verify', 'install', 'report'];

/** sizeof(txSlot) on the 32-bit build (research/moddable-build.md §4; xsAll.h). */
export const SLOT_BYTES_32 = 16;

// ---- Outside XS -------------------------------------------------------------------------------

export interface OutsideBuffer {
  readonly name: string;
  readonly bytes: number;
  /** Where the size comes from: SDK 8.2.3 file:line (paths under $MODDABLE). */
  readonly source: string;
  /** The board families that hold it (boards/_<family>), and when. */
  readonly families: readonly string[];
  readonly when: 'gzip payloads' | 'always';
}

/**
 * sizeof() of miniz's structures on a 32-bit build, measured with gcc -m32 (Debian gcc 12.2) on the
 * SDK 8.2.3's modules/data/zlib/miniz.c on 2026-12-08; measureMinizSizes(<$MODDABLE>) re-measures
 * (nothing calls it automatically yet). i386 and Xtensa/ARMv7 agree here: the structures hold 32-bit
 * and byte fields and MINIZ_HAS_64BIT_REGISTERS is 0 on all three.
 */
export const MINIZ_SIZES_32 = { z_stream: 56, inflate_state: 43784 } as const;

export const OUTSIDE_XS: readonly OutsideBuffer[] = [
  {
    name: 'inflate output buffer + z_stream (one c_malloc)',
    bytes: 1024 + MINIZ_SIZES_32.z_stream,
    source: 'modules/data/zlib/inflate.c:29 (kOutputBufferSize 1024), :64 (c_malloc(kOutputBufferSize + sizeof(z_stream)))',
    families: ['esp-idf', 'zephyr-mcuboot'],
    when: 'gzip payloads',
  },
  {
    name: 'inflate window + decompressor (miniz inflate_state: 32 KiB dictionary + tinfl tables)',
    bytes: MINIZ_SIZES_32.inflate_state,
    source: 'modules/data/zlib/miniz.c:1192 (zalloc(sizeof(inflate_state))), :1169-1175 (m_dict[TINFL_LZ_DICT_SIZE]), :719 (TINFL_LZ_DICT_SIZE 32768)',
    families: ['esp-idf', 'zephyr-mcuboot'],
    when: 'gzip payloads',
  },
  {
    name: 'HTTP receive: lwIP pbufs the socket queues until JS reads them, up to the TCP window',
    bytes: 8192,
    source: 'build/devices/esp32/xsProj-esp32/sdkconfig.defaults:46 (CONFIG_LWIP_TCP_WND_DEFAULT=8192); modules/io/socket/lwip/tcp.c:544-585 (tcpReceive queues each pbuf)',
    families: ['esp-idf'],
    when: 'always',
  },
];

/**
 * Not counted, and why: Zephyr's network buffers (net_pkt/net_buf pools) are sized by Zephyr's own
 * Kconfig, which the SDK does not set (build/devices/zephyr/app/prj.conf sets no CONFIG_NET_BUF_*),
 * so stm32's HTTP receive figure is not in OUTSIDE_XS; the flash write granule buffer is the slot
 * writer's (platform/slot-writer.ts:81, writeGranule bytes: 16 on esp32, 32 on stm32), a Uint8Array
 * inside XS, so it is already in the XS figures; Moddable's flash and update natives write straight
 * from the caller's buffer (modules/io/flash/esp32/flash-esp32.c:189, modules/io/update/esp32/
 * update-esp32.c:104); the TLS stack is excluded by the budget's definition.
 */
export const OUTSIDE_XS_NOT_COUNTED = [
  'stm32 HTTP receive: Zephyr net_buf pools (Zephyr Kconfig, not set by the SDK: build/devices/zephyr/app/prj.conf)',
  'flash write granule: platform/slot-writer.ts:81 holds it in XS (counted in the XS figures)',
  'TLS stack (excluded by the budget)',
] as const;

/** The platform buffers outside XS a board of `family` holds (gzip: while inflating a payload). */
export function outsideXsBytes(family: string, gzip: boolean): number {
  return OUTSIDE_XS.filter((b) => b.families.includes(family) && (gzip || b.when === 'always')).reduce((sum, b) => sum + b.bytes, 0);
}

/** Re-measures MINIZ_SIZES_32 from $MODDABLE's miniz.c with gcc -m32 (the bench, when it can). */
export async function measureMinizSizes(moddable: string, scratch: string): Promise<{ z_stream: number; inflate_state: number }> {
  const { execFileSync } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const source = join(scratch, 'miniz-sizes.c');
  const binary = join(scratch, 'miniz-sizes');
  writeFileSync(
    source,
    `#include "${join(moddable, 'modules/data/zlib/miniz.c')}"\n#include <stdio.h>\nint main(void) { printf("{\\"z_stream\\":%u,\\"inflate_state\\":%u}", (unsigned)sizeof(z_stream), (unsigned)sizeof(inflate_state)); return 0; }\n`,
  );
  execFileSync('gcc', ['-m32', '-w', '-o', binary, source]);
  return JSON.parse(execFileSync(binary, { encoding: 'utf8' })) as { z_stream: number; inflate_state: number };
}

// ---- Engine ------------------------------------------------------------------------------------

/** The XS the harness runs: @agoric/xsnap's Moddable sources, built 32-bit by xsnap-build.ts. */
export function engineDescription(): string {
  const require = createRequire(import.meta.url);
  const header = join(dirname(require.resolve('@agoric/xsnap/package.json')), 'moddable/xs/sources/xsCommon.h');
  const text = readFileSync(header, 'utf8');
  const part = (name: string) => text.match(new RegExp(`#define\\s+XS_${name}_VERSION\\s+(\\d+)`))?.[1];
  return `XS ${part('MAJOR')}.${part('MINOR')}.${part('PATCH')} (@agoric/xsnap's Moddable sources), 32-bit`;
}

// ---- Cases -------------------------------------------------------------------------------------

export interface MemoryCase {
  readonly imageBytes: number;
  /** The artifact's signature and the device's identity key: both of this type. */
  readonly signature: 'ed25519' | 'ecdsa-p256';
  readonly compression: 'none' | 'gzip';
  /** Power is cut mid-download; the next boot resumes the deployment. */
  readonly powerCut?: boolean;
}

export function caseName(c: MemoryCase): string {
  return `${c.imageBytes / MIB} MiB ${c.signature} ${c.compression}${c.powerCut ? ' power-cut+resume' : ''}`;
}

/** The bench's matrix: 1 and 4 MiB × Ed25519 and ECDSA P-256 × uncompressed and gzip, and one power cut. */
export const FULL_MATRIX: readonly MemoryCase[] = [
  ...[1 * MIB, 4 * MIB].flatMap((imageBytes) =>
    (['ed25519', 'ecdsa-p256'] as const).flatMap((signature) => (['none', 'gzip'] as const).map((compression) => ({ imageBytes, signature, compression }))),
  ),
  { imageBytes: 1 * MIB, signature: 'ecdsa-p256', compression: 'gzip', powerCut: true },
];

export interface PhaseMemory {
  /** Readings charged to the phase. */
  readings: number;
  /** Live high-water at the phase's I/O points (after gc), above the baseline. */
  liveSlots: number;
  liveChunkBytes: number;
  /** Largest (slots × 16 + chunks) at one reading: not the sum of the two maxima. */
  liveXsBytes: number;
  /** Garbage-inclusive peaks of the phase's intervals, above the baseline (upper bound). */
  peakSlots: number;
  peakChunkBytes: number;
}

export interface CaseMemory {
  readonly board: ModdableBoardName;
  readonly case: string;
  readonly spec: MemoryCase;
  readonly end: string | undefined;
  readonly boots: number;
  readonly baseline: XsBaseline;
  readonly phases: Record<MemoryPhase, PhaseMemory>;
  /** (a) over the whole deployment: the largest live (slots × 16 + chunks) above baseline. */
  readonly liveXsBytes: number;
  readonly liveSlots: number;
  readonly liveChunkBytes: number;
  /** Live above baseline between polls (after the run, the client kept alive): the largest seen. */
  readonly idleXsBytes: number;
  /** The deepest the XS stack went (slots above the harness's base), bundle evaluation included. */
  readonly stackPeakSlots: number;
  readonly seconds: number;
}

/** Roomy for (a): the heap and chunks may grow, so nothing aborts; the board's stack. */
function roomyCreation(board: ModdableBoardName): ManifestCreation {
  return { chunk: { initial: 256 * 1024, incremental: 64 * 1024 }, heap: { initial: 8192, incremental: 2048 }, stack: boardCreation(board).stack };
}

/**
 * (b)'s creation: `bytes` above the baseline, split between slots and chunks in proportion to the
 * live high-water of each (see the file comment), fixed (incremental 0), the board's stack, and no
 * static block (the budget is the heap and chunks alone).
 */
export function budgetCreation(board: ModdableBoardName, bytes: number, live: { liveSlots: number; liveChunkBytes: number }): ManifestCreation {
  const slotShare = live.liveSlots * SLOT_BYTES_32;
  const total = slotShare + live.liveChunkBytes;
  const slots = total === 0 ? Math.floor(bytes / 2 / SLOT_BYTES_32) : Math.floor((bytes * slotShare) / total / SLOT_BYTES_32);
  return { chunk: { initial: bytes - slots * SLOT_BYTES_32, incremental: 0 }, heap: { initial: slots, incremental: 0 }, stack: boardCreation(board).stack };
}

export interface MemoryRig {
  readonly board: string;
  readonly kind: 'esp-idf' | 'mcuboot';
  readonly payloadType: string;
  readonly description: { readonly flash: { readonly sectorBytes: number; readonly writeGranule: number; readonly eraseBlockBytes?: number } };
  /** MCUboot boards: the key the simulated bootloader checks images with (test/boards/rig.ts). */
  readonly bootKeyPem?: string;
  makeImage(version: string, payloadBytes?: number): Uint8Array;
  device(options?: Partial<SimDeviceOptions>): SimDevice;
}

/**
 * Slots for an image of `imageBytes`: the board's flash part (sector, granule, erase block), slots
 * as large as the image needs. Larger than the boards' own slots for 4 MiB (esp32: 1,966,080 bytes;
 * stm32: 917,504): the 4 MiB case measures how memory scales with the image, not whether it fits.
 */
function slotBytesFor(rig: MemoryRig, imageBytes: number): number {
  const { sectorBytes, writeGranule, eraseBlockBytes } = rig.description.flash;
  const unit = eraseBlockBytes ?? sectorBytes;
  let bytes = Math.ceil((imageBytes + 64 * 1024) / unit) * unit;
  const room = (n: number) => imageCapacity(trailerLayout({ slotBytes: n, writeGranule, maxImageSectors: n / sectorBytes }), sectorBytes);
  if (rig.kind === 'mcuboot') while (room(bytes) < imageBytes + 4096) bytes += sectorBytes;
  return bytes;
}

function emptyPhases(): Record<MemoryPhase, PhaseMemory> {
  return Object.fromEntries(PHASES.map((p) => [p, { readings: 0, liveSlots: 0, liveChunkBytes: 0, liveXsBytes: 0, peakSlots: 0, peakChunkBytes: 0 }])) as Record<MemoryPhase, PhaseMemory>;
}

/** A dev server for a harness run; close() when done. */
export class MemoryLab {
  readonly server: RunningServer;
  readonly management: Management;
  readonly #dataDir: string;
  #n = 0;

  private constructor(server: RunningServer, dataDir: string) {
    this.server = server;
    this.management = new Management(server.url);
    this.#dataDir = dataDir;
  }

  static async start(): Promise<MemoryLab> {
    const dataDir = mkdtempSync(join(tmpdir(), 'ota-mcu-memory-'));
    return new MemoryLab(await startServer({ dataDir, autoAccept: true, http: true, port: 0 }), dataDir);
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.#dataDir, { recursive: true, force: true });
  }

  /**
   * One complete deployment of `spec` on `rig`'s board: first contact (authorize, inventory, no
   * deployment), then the deployment through its reset and commit. With `creation`, XS enforces it
   * on top of the baseline and the deployment must still succeed; without, a roomy creation and (a)'s
   * readings.
   */
  async run(rig: MemoryRig, spec: MemoryCase, options: { creation?: ManifestCreation } = {}): Promise<CaseMemory> {
    const board = rig.board as ModdableBoardName;
    const started = performance.now();
    const n = ++this.#n;
    const deviceType = `memory-${board}-${n}`;
    const signer = spec.signature === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const settings: BoardSettings = {
      serverUrl: this.server.url,
      allowHttp: true,
      deviceType,
      identityKeyType: spec.signature,
      artifactKeyPem: signer.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      ...(rig.bootKeyPem !== undefined ? { bootKeyPem: rig.bootKeyPem } : {}),
      pollIntervals: { RetryPollIntervalSeconds: 1 },
    };
    const baseline = await xsBaseline(await moddableGuestScript(board));
    const creation = options.creation ?? roomyCreation(board);
    const phases = emptyPhases();
    let idle = 0;
    let stackPeak = 0;
    let overall = { bytes: 0, slots: 0, chunks: 0 };
    const onMemory = (reading: MemoryReading) => {
      const raw = JSON.parse(new TextDecoder().decode(reading.raw)) as Record<string, number>;
      if (raw.slotBytes !== SLOT_BYTES_32) throw new Error(`device memory: slots of ${raw.slotBytes} bytes, expected the 32-bit engine's ${SLOT_BYTES_32}`);
      const slots = raw.currentHeapCount! - baseline.slots;
      const chunks = raw.currentChunksSize! - baseline.chunkBytes;
      const bytes = slots * SLOT_BYTES_32 + chunks;
      const phase = phases[reading.phase];
      phase.readings++;
      phase.liveSlots = Math.max(phase.liveSlots, slots);
      phase.liveChunkBytes = Math.max(phase.liveChunkBytes, chunks);
      phase.liveXsBytes = Math.max(phase.liveXsBytes, bytes);
      // The first reading of a boot: its peaks go back to the bundle's evaluation (not the device's).
      if (reading.at !== 'start') {
        phase.peakSlots = Math.max(phase.peakSlots, raw.peakHeapCount! - baseline.slots);
        phase.peakChunkBytes = Math.max(phase.peakChunkBytes, raw.peakChunksSize! - baseline.chunkBytes);
      }
      if (reading.at === 'idle') idle = Math.max(idle, bytes);
      stackPeak = Math.max(stackPeak, raw.stackPeak! - raw.stackBase!);
      if (bytes > overall.bytes) overall = { bytes, slots: Math.max(overall.slots, slots), chunks: Math.max(overall.chunks, chunks) };
      else overall = { ...overall, slots: Math.max(overall.slots, slots), chunks: Math.max(overall.chunks, chunks) };
    };
    const device = rig.device({ seed: 500 + n, slotBytes: slotBytesFor(rig, spec.imageBytes) });
    try {
      const run = (cutAfter?: number) => {
        let boots = 0;
        return runModdableClient({
          board, device, settings, selfTest: true, creation, onMemory,
          onBoot: (boot) => {
            boots = boot;
            // A power cut mid-download on the first boot: flash and NVS operations are counted by
            // the device's power rail; the download's first writes are well past the first contact's.
            if (boot === 1 && cutAfter !== undefined) device.power.cutAfter(cutAfter);
          },
        }).then((result) => ({ ...result, boots }));
      };
      const first = await run();
      if (first.last?.deployment !== undefined) throw new Error(`device memory: a deployment on first contact (${JSON.stringify(first.last.deployment)})`);
      const me = (await this.management.devices()).at(-1)!;
      const name = `memory-${n}`;
      const image = rig.makeImage('1.1.0', spec.imageBytes);
      const artifact = writeArtifact({
        artifactName: name,
        deviceTypes: [deviceType],
        payloadType: rig.payloadType,
        compression: spec.compression,
        files: [{ name: 'app.bin', data: image }],
        signManifest: (manifest) =>
          Buffer.from(spec.signature === 'ed25519' ? sign(null, manifest, signer.privateKey) : sign('sha256', manifest, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' })).toString('base64'),
      });
      await this.management.uploadArtifact(artifact, name);
      const id = await this.management.createDeployment(name, name, [me.id]);
      // A cut a third of the way into the image's sector writes (each sector: an erase and writes).
      const cutAfter = spec.powerCut ? Math.max(40, Math.floor(spec.imageBytes / rig.description.flash.sectorBytes / 3)) : undefined;
      const result = await run(cutAfter);
      if (result.last?.deployment?.id !== id || result.last.deployment.end !== 'success') {
        throw new Error(`device memory: ${board} ${caseName(spec)} ended ${JSON.stringify(result.last?.deployment)}, expected success of ${id}`);
      }
      return {
        board, case: caseName(spec), spec, end: result.last.deployment.end, boots: result.boots, baseline, phases,
        liveXsBytes: overall.bytes, liveSlots: overall.slots, liveChunkBytes: overall.chunks, idleXsBytes: idle,
        stackPeakSlots: stackPeak, seconds: (performance.now() - started) / 1000,
      };
    } finally {
      device.power.cutAfter(undefined);
      await device.close();
    }
  }

  /** (b): the deployment under a fixed creation of `bytes` above the baseline; XsAbort if it does not fit. */
  async fits(rig: MemoryRig, spec: MemoryCase, bytes: number, live: { liveSlots: number; liveChunkBytes: number }): Promise<{ fits: true; creation: ManifestCreation } | { fits: false; creation: ManifestCreation; reason: string }> {
    const creation = budgetCreation(rig.board as ModdableBoardName, bytes, live);
    try {
      await this.run(rig, spec, { creation });
      return { fits: true, creation };
    } catch (error) {
      if (error instanceof XsAbort) return { fits: false, creation, reason: error.reason };
      throw error;
    }
  }
}
