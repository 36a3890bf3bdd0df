// One simulated board as a firmware team sees it: flash regions of a given geometry (kept under
// `dir`, so the device survives process restarts), a bootloader (MCUboot swap mode on an "stm32",
// ESP-IDF OTA on an "esp32"), resets of five kinds (power cut, software restart, watchdog,
// brownout, panic), and a Board built fresh on every boot: nothing in memory survives, only flash
// and the key-value store. Node only.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Board } from '../../platform/board.ts';
import type { BootControl } from '../../platform/boot-control.ts';
import type { Flash } from '../../platform/flash.ts';
import { inflateFflate } from '../../platform/inflate-fflate.ts';
import { createMcubootBootControl } from '../../platform/boot-control-mcuboot.ts';
import { imageCapacity, trailerLayoutFor } from '../../platform/mcuboot-trailer.ts';
import type { ResetReason } from '../../platform/system.ts';
import type { PublicKey } from '../../platform/verifier.ts';
import { verifierNoble } from '../../platform/verifier-noble.ts';
import { sha256Node } from '../digest-node.ts';
import { bootEspIdf, espPartitionTable, OTADATA_SECTOR_BYTES } from './esp-idf-ota.ts';
import { createSimEspOtaBootControl } from './esp-ota-ops.ts';
import { NvsKeyValue } from './key-value-nvs.ts';
import { bootMcuboot } from './mcuboot-bootloader.ts';
import { HttpFaults, NodeHttp } from './node-http.ts';
import { NorFlash } from './nor-flash.ts';
import { PowerCut, PowerRail } from './power.ts';
import { DeviceRestart, SimSystem, type LogEntry } from './sim-system.ts';
import { VirtualClock, VirtualScheduler } from './virtual-clock.ts';

export { DeviceRestart } from './sim-system.ts';

export type FirmwareBehaviour = 'ok' | 'fails-self-test' | 'never-confirms';

/**
 * The flash part under every region (a board description's "flash", boards/<name>/board.json):
 * the erase unit, the program unit and, where the part has one, a larger block erase. The Flash
 * interface erases by sector only (platform/flash.ts), and a part's block erase of an aligned run
 * of sectors ends in the same bytes, so eraseBlockBytes is checked and recorded, not modelled.
 */
export interface FlashGeometry {
  sectorBytes: number;
  writeGranule: number;
  eraseBlockBytes?: number;
}

/**
 * What the demo and CLI devices have always had when no geometry is given: an STM32L4-class part
 * under MCUboot, a 4-byte-granule ESP32 under ESP-IDF. Tests pass the part they mean.
 */
export const DEFAULT_FLASH: Readonly<Record<SimDeviceOptions['kind'], FlashGeometry>> = Object.freeze({
  mcuboot: Object.freeze({ sectorBytes: 2048, writeGranule: 8 }),
  'esp-idf': Object.freeze({ sectorBytes: 4096, writeGranule: 4 }),
});

/**
 * The ways a simulated device can be reset (reset()), and the reason its next boot reports for each.
 * A board's natives turn that reason into what its SoC reports (simulator/moddable/host.ts).
 */
export type SimReset = 'power-cut' | 'restart' | 'watchdog' | 'brownout' | 'panic';
export const SIM_RESETS: readonly SimReset[] = Object.freeze(['power-cut', 'restart', 'watchdog', 'brownout', 'panic']);
const REASON_AFTER: Readonly<Record<SimReset, ResetReason>> = Object.freeze({
  'power-cut': 'power-on',
  restart: 'software',
  watchdog: 'watchdog',
  brownout: 'brownout',
  panic: 'panic',
});

export interface SimDeviceOptions {
  kind: 'mcuboot' | 'esp-idf'; // board 'stm32' = mcuboot; 'esp32' = esp-idf
  /** The flash part; default DEFAULT_FLASH[kind]. Every region but ESP-IDF's otadata uses it. */
  flash?: FlashGeometry;
  dir?: string; // flash + key-value persisted here; in memory when absent
  firstImage: Uint8Array; // placed in the primary slot / ota_0 when the storage is new
  bootKey?: PublicKey; // the key the simulated MCUboot trusts
  slotBytes?: number; // default 1 MiB (MCUboot primary = secondary)
  identity?: Record<string, string>; // default { mac: derived from seed }
  ca?: string; // PEM trusted by the board's Http for https
  behaviours?: Record<string, FirmwareBehaviour>; // by image version; default 'ok'
  seed?: number;
  /** Gets every log line as it is written (the demo prints them). */
  printer?: (entry: LogEntry) => void;
}

export interface BootedBoard extends Board {
  /** The running firmware's self-test (per `behaviours`): false for 'fails-self-test'. */
  selfTest(): Promise<boolean>;
  readonly behaviour: FirmwareBehaviour;
  readonly bootCount: number;
}

interface Geometry {
  kind: SimDeviceOptions['kind'];
  slotBytes: number;
  sectorBytes: number;
  writeGranule: number;
  eraseBlockBytes?: number;
  regions: Record<string, number>; // name → bytes
  identity: Record<string, string>;
}

const GEOMETRY_FILE = 'device.json';
/** At least this much key-value storage (Zephyr storage partition / IDF nvs), and never under 2 sectors (the log needs one to spare). */
const NVS_BYTES = { mcuboot: 8 * 2048, 'esp-idf': 0x6000 } as const;

function geometryFor(options: SimDeviceOptions, seed: number): Geometry {
  const slotBytes = options.slotBytes ?? 1024 * 1024;
  const mcuboot = options.kind === 'mcuboot';
  const { sectorBytes, writeGranule, eraseBlockBytes } = options.flash ?? DEFAULT_FLASH[options.kind];
  // NorFlash checks sectorBytes and writeGranule themselves; the regions are checked here.
  if (eraseBlockBytes !== undefined && (!Number.isInteger(eraseBlockBytes) || eraseBlockBytes <= 0 || eraseBlockBytes % sectorBytes !== 0)) {
    throw new RangeError(`"flash.eraseBlockBytes" expected a positive multiple of the ${sectorBytes}-byte sector, got ${eraseBlockBytes}`);
  }
  if (!Number.isInteger(slotBytes) || slotBytes <= 0 || slotBytes % sectorBytes !== 0) {
    throw new RangeError(`"slotBytes" expected a positive multiple of the ${sectorBytes}-byte sector, got ${slotBytes}`);
  }
  const nvsBytes = Math.max(2, Math.ceil(NVS_BYTES[options.kind] / sectorBytes)) * sectorBytes;
  const regions: Record<string, number> = mcuboot
    ? { primary: slotBytes, secondary: slotBytes, nvs: nvsBytes }
    : { ota_0: slotBytes, ota_1: slotBytes, otadata: 2 * OTADATA_SECTOR_BYTES, nvs: nvsBytes };
  return {
    kind: options.kind, slotBytes, sectorBytes, writeGranule, ...(eraseBlockBytes !== undefined ? { eraseBlockBytes } : {}),
    regions, identity: options.identity ?? { mac: macFor(seed) },
  };
}

/** A locally administered MAC (02:…) that depends only on the seed. */
function macFor(seed: number): string {
  const digest = createHash('sha256').update(`ota-mcu-sim-${seed}`).digest();
  return ['02', ...Array.from(digest.subarray(0, 5), (b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** A boot's view of a region: once that boot is over (reset), the old app can no longer touch flash. */
class BootFlash implements Flash {
  readonly byteLength: number;
  readonly sectorBytes: number;
  readonly writeGranule: number;
  readonly erasedByte: number;
  readonly #inner: NorFlash;
  readonly #alive: () => boolean;
  readonly #boot: number;

  constructor(inner: NorFlash, boot: number, alive: () => boolean) {
    this.#inner = inner;
    this.#boot = boot;
    this.#alive = alive;
    this.byteLength = inner.byteLength;
    this.sectorBytes = inner.sectorBytes;
    this.writeGranule = inner.writeGranule;
    this.erasedByte = inner.erasedByte;
  }

  read(offset: number, into: Uint8Array): void {
    this.#check();
    this.#inner.read(offset, into);
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#check();
    this.#inner.write(offset, bytes);
  }

  eraseSector(index: number): void {
    this.#check();
    this.#inner.eraseSector(index);
  }

  #check(): void {
    if (!this.#alive()) throw new PowerCut(`flash access from boot ${this.#boot}, which a reset has ended`);
  }
}

interface Session {
  readonly boot: number;
  alive: boolean;
  readonly scheduler: VirtualScheduler;
  readonly http: NodeHttp;
}

export class SimDevice {
  readonly power: PowerRail;
  readonly clock: VirtualClock;
  /** What the bootloader would boot now and the trailer/otadata state (tests). */
  readonly flash: Record<string, NorFlash>;
  /** Every line the firmware logged, across boots. */
  readonly log: LogEntry[] = [];
  /** Network faults a test injects (e.g. drop the next download after N bytes). */
  readonly network = new HttpFaults();
  readonly kind: SimDeviceOptions['kind'];
  readonly #options: SimDeviceOptions;
  readonly #geometry: Geometry;
  #bootCount = 0;
  #nextReason: ResetReason | undefined;
  #session: Session | undefined;
  #closed = false;

  constructor(options: SimDeviceOptions) {
    this.#options = { ...options };
    this.kind = options.kind;
    const seed = options.seed ?? 1;
    this.power = new PowerRail(seed);
    this.clock = new VirtualClock();
    const wanted = geometryFor(options, seed);
    const dir = options.dir;
    let fresh = true;
    if (dir !== undefined) {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, GEOMETRY_FILE);
      if (existsSync(file)) {
        const stored = JSON.parse(readFileSync(file, 'utf8')) as Geometry;
        const describe = (g: Geometry) => `${g.kind} with ${g.slotBytes}-byte slots of ${g.sectorBytes}-byte sectors, ${g.writeGranule}-byte granule`;
        if (stored.kind !== wanted.kind || stored.slotBytes !== wanted.slotBytes || stored.sectorBytes !== wanted.sectorBytes || stored.writeGranule !== wanted.writeGranule) {
          throw new RangeError(`device in ${dir}: stored as ${describe(stored)}, asked for ${describe(wanted)}`);
        }
        this.#geometry = stored;
        fresh = false;
      } else {
        this.#geometry = wanted;
        // A device whose creation was cut short has no device.json: start its flash over.
        for (const name of Object.keys(wanted.regions)) {
          rmSync(join(dir, `${name}.bin`), { force: true });
          rmSync(join(dir, `${name}.bin.wear`), { force: true });
        }
      }
    } else {
      this.#geometry = wanted;
    }
    const g = this.#geometry;
    const sectorOf = (name: string) => (name === 'otadata' ? OTADATA_SECTOR_BYTES : g.sectorBytes);
    this.flash = {};
    for (const [name, byteLength] of Object.entries(g.regions)) {
      this.flash[name] = new NorFlash({
        byteLength, sectorBytes: sectorOf(name), writeGranule: g.writeGranule, power: this.power,
        file: dir === undefined ? undefined : join(dir, `${name}.bin`),
      });
    }
    if (fresh) {
      const slot = this.flash[g.kind === 'mcuboot' ? 'primary' : 'ota_0']!;
      // MCUboot keeps its trailer in the slot's last sector(s): an image has only the sectors below.
      const room = g.kind === 'mcuboot' ? imageCapacity(trailerLayoutFor(slot), slot.sectorBytes) : slot.byteLength;
      if (options.firstImage.length > room) {
        throw new RangeError(`"firstImage" is ${options.firstImage.length} bytes, the ${slot.byteLength}-byte slot has room for ${room}`);
      }
      slot.program(0, options.firstImage); // factory programming
      if (dir !== undefined) writeFileSync(join(dir, GEOMETRY_FILE), `${JSON.stringify(g, null, 2)}\n`);
    }
  }

  /** Boots so far (each bootloader run counts, cut ones too). */
  get bootCount(): number {
    return this.#bootCount;
  }

  /**
   * Resets the device now, as `how` would: the running boot ends (its flash views, timers and
   * connections die) and the next boot() reports the reason for it (REASON_AFTER). A power cut
   * also leaves the supply off until that boot, so the old boot's writes fail as they would.
   */
  reset(how: SimReset): void {
    if (!SIM_RESETS.includes(how)) throw new RangeError(`"how" expected one of ${SIM_RESETS.join(', ')}, got ${String(how)}`);
    if (how === 'power-cut') this.power.cut();
    else this.#nextReason = REASON_AFTER[how];
    this.#retire();
  }

  /** Runs the bootloader and returns a freshly built board (nothing in memory survives a boot). */
  async boot(): Promise<BootedBoard> {
    if (this.#closed) throw new Error('SimDevice.boot after close()');
    this.#retire();
    const reason: ResetReason = this.power.isCut || this.#nextReason === undefined ? REASON_AFTER['power-cut'] : this.#nextReason;
    this.#nextReason = undefined;
    this.power.restore();
    const boot = ++this.#bootCount;
    const session: Session = {
      boot, alive: true, scheduler: new VirtualScheduler(this.clock),
      http: new NodeHttp({ ca: this.#options.ca, faults: this.network }),
    };
    this.#session = session;
    const alive = () => session.alive;
    const views: Record<string, BootFlash> = {};
    for (const [name, region] of Object.entries(this.flash)) views[name] = new BootFlash(region, boot, alive);

    const g = this.#geometry;
    let version: string;
    let bootControl: BootControl;
    if (g.kind === 'mcuboot') {
      const booted = await bootMcuboot({
        primary: this.flash.primary!, secondary: this.flash.secondary!, key: this.#options.bootKey, verifier: verifierNoble, sha256: sha256Node,
      });
      version = booted.version;
      bootControl = createMcubootBootControl({ primary: views.primary!, secondary: views.secondary!, sha256: sha256Node });
    } else {
      const slots = [views.ota_0!, views.ota_1!] as const;
      const booted = await bootEspIdf({ otadata: views.otadata!, slots, sha256: sha256Node });
      version = booted.version;
      // The ESP32's own BootControl (platform/boot-control-esp-ota.ts), its natives over the otadata model.
      bootControl = createSimEspOtaBootControl({ otadata: views.otadata!, slots, runningSlot: booted.slot, sha256: sha256Node });
    }
    const behaviour = this.#options.behaviours?.[version] ?? 'ok';
    const keyValue = await NvsKeyValue.open(views.nvs!);
    const device = this;
    const system = new SimSystem({
      clock: this.clock, resetReason: reason, boot, log: this.log, printer: this.#options.printer,
      onRestart: () => {
        if (session.alive) device.#nextReason = REASON_AFTER.restart;
      },
    });
    const cpu = g.kind === 'mcuboot' ? 'stm32' : 'esp32';
    const board: BootedBoard = {
      name: `sim-${cpu}`,
      identity: Object.freeze({ ...g.identity }),
      inventory: Object.freeze({
        cpu, bootloader: g.kind, slot_bytes: g.slotBytes, flash_sector_bytes: g.sectorBytes,
        ...(g.kind === 'esp-idf' ? { partition_table: espPartitionTable(g.slotBytes).map((p) => `${p.name}@0x${p.offset.toString(16)}`).join(',') } : {}),
      }),
      http: session.http,
      scheduler: session.scheduler,
      bootControl,
      keyValue,
      sha256: sha256Node,
      verifier: verifierNoble,
      inflate: inflateFflate,
      system,
      flash: Object.freeze(views),
      behaviour,
      bootCount: boot,
      async selfTest(): Promise<boolean> {
        if (behaviour === 'never-confirms') {
          // The firmware hangs before it can confirm; the watchdog resets the device.
          if (session.alive) device.#nextReason = REASON_AFTER.watchdog;
          throw new DeviceRestart(`watchdog reset: firmware ${version} never confirms`);
        }
        return behaviour === 'ok';
      },
    };
    return board;
  }

  /**
   * The device's life: boot, run `app(board)`; when it throws DeviceRestart or PowerCut (or the
   * image is 'never-confirms', which resets — as a watchdog would — before the app runs), restore
   * power, boot again and run the app again; stop when `app` returns (or after maxBoots, then throw).
   */
  async run(app: (board: BootedBoard) => Promise<void>, options?: { maxBoots?: number }): Promise<{ boots: number }> {
    const maxBoots = options?.maxBoots ?? 20;
    for (let boots = 1; ; boots++) {
      if (boots > maxBoots) throw new Error(`SimDevice.run: the device was still resetting after ${maxBoots} boots`);
      try {
        const board = await this.boot();
        if (board.behaviour === 'never-confirms') {
          this.#nextReason = REASON_AFTER.watchdog;
          continue;
        }
        await app(board);
        return { boots };
      } catch (error) {
        // Whatever the app made of it (an OtaError wrapping a PowerCut, say), a cut or a restart resets.
        if (this.power.isCut || this.#nextReason !== undefined || error instanceof DeviceRestart || error instanceof PowerCut) continue;
        throw error;
      }
    }
  }

  /** Powers the board off for good: pending sleeps never wake, connections drop, files close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retire();
    for (const region of Object.values(this.flash)) region.close();
  }

  /** Ends the current boot: its timers, connections and flash views die with it. */
  #retire(): void {
    const session = this.#session;
    if (session === undefined) return;
    session.alive = false;
    session.scheduler.dispose();
    session.http.close();
    this.#session = undefined;
  }
}
