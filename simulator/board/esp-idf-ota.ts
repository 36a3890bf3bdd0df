// The ESP-IDF OTA model (esp-idf @ 102122904a, ../shared/research/mcuboot-espidf-delta.md §3):
// the partition table, the otadata entries and their CRC, the bootloader's choice of app with the
// rollback states NEW → PENDING_VERIFY → VALID | ABORTED | INVALID, and esp_image_verify.
// Every otadata write, the bootloader's included, goes through the Flash model (erase the entry's
// sector, then write its 32 bytes, as rewrite_ota_seq() and write_otadata() do), so a power cut can
// land between the two. Portable: it needs only Flash and a SHA-256 factory. The image check loops
// per byte (XOR checksum), which is fine in the simulator; devices verify natively (esp_ota_end).
import { equalBytes, readU32LE, writeU32LE } from '../../base/bytes.ts';
import { crc32Update } from '../../base/crc32.ts';
import { OtaError } from '../../base/errors.ts';
import type { Sha256Factory } from '../../platform/digest.ts';
import {
  ESP_IMAGE_HEADER_BYTES, ESP_IMAGE_MAGIC, ESP_IMAGE_MAX_SEGMENTS, ESP_SEGMENT_HEADER_BYTES, readEspAppVersion, ESP_APP_VERSION_END,
} from '../../platform/esp-app-image.ts';
import type { Flash } from '../../platform/flash.ts';

/** esp_ota_img_states_t */
export const OtaState = {
  NEW: 0x0,
  PENDING_VERIFY: 0x1,
  VALID: 0x2,
  INVALID: 0x3,
  ABORTED: 0x4,
  UNDEFINED: 0xffffffff,
} as const;

export const OTADATA_ENTRY_BYTES = 32;
export const OTADATA_SECTOR_BYTES = 0x1000;
const EMPTY_SEQ = 0xffffffff;

/** A two-OTA partition table without factory (the app is flashed to ota_0), offsets as idf.py lays them out. */
export function espPartitionTable(slotBytes: number): { name: string; type: 'data' | 'app'; subtype: string; offset: number; size: number }[] {
  const appStart = 0x20000; // app partitions are 64 KiB aligned
  return [
    { name: 'nvs', type: 'data', subtype: 'nvs', offset: 0x9000, size: 0x6000 },
    { name: 'otadata', type: 'data', subtype: 'ota', offset: 0xf000, size: 2 * OTADATA_SECTOR_BYTES },
    { name: 'phy_init', type: 'data', subtype: 'phy', offset: 0x11000, size: 0x1000 },
    { name: 'ota_0', type: 'app', subtype: 'ota_0', offset: appStart, size: slotBytes },
    { name: 'ota_1', type: 'app', subtype: 'ota_1', offset: appStart + slotBytes, size: slotBytes },
  ];
}

/** bootloader_common_ota_select_crc(): esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4), i.e. ~crc(0, seq). */
export function otaSeqCrc(seq: number): number {
  const bytes = new Uint8Array(4);
  writeU32LE(bytes, 0, seq);
  return (crc32Update(0, bytes) ^ 0xffffffff) >>> 0;
}

/** One esp_ota_select_entry_t. */
export interface OtaEntry {
  readonly seq: number;
  readonly state: number;
  readonly crc: number;
}

export function encodeOtaEntry(seq: number, state: number): Uint8Array {
  const entry = new Uint8Array(OTADATA_ENTRY_BYTES).fill(0xff); // seq_label stays 0xff, as IDF leaves it
  writeU32LE(entry, 0, seq);
  writeU32LE(entry, 24, state);
  writeU32LE(entry, 28, otaSeqCrc(seq));
  return entry;
}

export function decodeOtaEntry(bytes: Uint8Array): OtaEntry {
  return { seq: readU32LE(bytes, 0), state: readU32LE(bytes, 24), crc: readU32LE(bytes, 28) };
}

/** bootloader_common_ota_select_valid(): not empty, not INVALID/ABORTED, CRC good. */
export function isEntryValid(e: OtaEntry): boolean {
  return e.seq !== EMPTY_SEQ && e.state !== OtaState.INVALID && e.state !== OtaState.ABORTED && e.crc === otaSeqCrc(e.seq);
}

/** A well-formed entry (good CRC), whatever its state. */
export function isEntryIntact(e: OtaEntry): boolean {
  return e.seq !== EMPTY_SEQ && e.crc === otaSeqCrc(e.seq);
}

export function isEntryEmpty(e: OtaEntry): boolean {
  return e.seq === EMPTY_SEQ && e.crc === 0xffffffff;
}

/** bootloader_common_get_active_otadata(): the valid entry with the larger seq (entry 0 on a tie), or -1. */
export function activeEntry(entries: readonly [OtaEntry, OtaEntry]): number {
  const [a, b] = [isEntryValid(entries[0]), isEntryValid(entries[1])];
  if (a && b) return entries[1].seq > entries[0].seq ? 1 : 0;
  return a ? 0 : b ? 1 : -1;
}

/** The app slot an entry selects: (ota_seq - 1) % ota_app_count, with two app slots. */
export function slotOfSeq(seq: number): number {
  return (seq - 1) % 2;
}

/** The otadata partition: two entries, one per 4 KiB sector. */
export class OtaData {
  readonly #flash: Flash;

  constructor(flash: Flash) {
    if (flash.byteLength !== 2 * OTADATA_SECTOR_BYTES || flash.sectorBytes !== OTADATA_SECTOR_BYTES) {
      throw new RangeError(`otadata expected 2 sectors of ${OTADATA_SECTOR_BYTES} bytes, got ${flash.byteLength} bytes in ${flash.sectorBytes}-byte sectors`);
    }
    this.#flash = flash;
  }

  async read(): Promise<[OtaEntry, OtaEntry]> {
    const buffer = new Uint8Array(OTADATA_ENTRY_BYTES); // one entry
    await this.#flash.read(0, buffer);
    const first = decodeOtaEntry(buffer);
    await this.#flash.read(OTADATA_SECTOR_BYTES, buffer);
    return [first, decodeOtaEntry(buffer)];
  }

  /** rewrite_ota_seq(): erase the entry's sector, then write the entry. */
  async write(index: number, seq: number, state: number): Promise<void> {
    await this.#flash.eraseSector(index);
    await this.#flash.write(index * OTADATA_SECTOR_BYTES, encodeOtaEntry(seq, state));
  }

  async erase(index: number): Promise<void> {
    await this.#flash.eraseSector(index);
  }
}

export interface EspImageCheck {
  readonly version?: string;
  /** Bytes of the image through its appended SHA-256. */
  readonly byteLength?: number;
  /** The first failed check, one line; absent when the image is good. */
  readonly problem?: string;
}

/** esp_image_verify() on a slot: header, segments, XOR checksum and the appended SHA-256. */
export async function checkEspAppImage(slot: Flash, sha256: Sha256Factory): Promise<EspImageCheck> {
  const head = new Uint8Array(ESP_APP_VERSION_END); // image header, first segment header, app desc through version
  await slot.read(0, head);
  let version: string;
  try {
    version = readEspAppVersion(head);
  } catch (error) {
    return { problem: (error as Error).message };
  }
  const hash = sha256();
  const chunk = new Uint8Array(4096); // read window
  let at = 0;
  const readRange = async (length: number, visit: (bytes: Uint8Array) => void): Promise<void> => {
    for (let left = length; left > 0; ) {
      const n = Math.min(left, chunk.length);
      const view = chunk.subarray(0, n);
      await slot.read(at, view);
      hash.update(view);
      visit(view);
      at += n;
      left -= n;
    }
  };
  const segments = head[1]!;
  let header = new Uint8Array(0);
  await readRange(ESP_IMAGE_HEADER_BYTES, (b) => (header = b.slice()));
  if (header[0] !== ESP_IMAGE_MAGIC || segments > ESP_IMAGE_MAX_SEGMENTS) return { version, problem: 'ESP app image: bad header' };
  const hashAppended = header[23] === 1;
  let checksum = 0xef;
  for (let s = 0; s < segments; s++) {
    if (at + ESP_SEGMENT_HEADER_BYTES > slot.byteLength) return { version, problem: `ESP app image: segment ${s} header at byte ${at} is past the slot` };
    let segment = new Uint8Array(0);
    await readRange(ESP_SEGMENT_HEADER_BYTES, (b) => (segment = b.slice()));
    const length = readU32LE(segment, 4);
    if (length % 4 !== 0 || at + length > slot.byteLength) {
      return { version, problem: `ESP app image: segment ${s} at byte ${at - ESP_SEGMENT_HEADER_BYTES}: data_len ${length} is not a multiple of 4 or runs past the slot` };
    }
    await readRange(length, (b) => {
      for (let i = 0; i < b.length; i++) checksum ^= b[i]!;
    });
  }
  const checksumAt = Math.ceil((at + 1) / 16) * 16 - 1;
  if (checksumAt + 1 + (hashAppended ? 32 : 0) > slot.byteLength) return { version, problem: 'ESP app image: checksum past the slot' };
  let stored = 0;
  await readRange(checksumAt + 1 - at, (b) => (stored = b[b.length - 1]!));
  if (stored !== checksum) {
    return { version, problem: `ESP app image at byte ${checksumAt}: checksum 0x${stored.toString(16)}, computed 0x${checksum.toString(16)}` };
  }
  const digest = hash.digest();
  if (hashAppended) {
    const appended = new Uint8Array(32);
    await slot.read(at, appended);
    if (!equalBytes(appended, digest)) return { version, problem: `ESP app image at byte ${at}: appended SHA-256 does not match the image` };
    at += 32;
  }
  return { version, byteLength: at };
}

export interface EspBootResult {
  /** The app slot that boots. */
  readonly slot: number;
  readonly version: string;
  /** Entries the bootloader turned from PENDING_VERIFY into ABORTED on this boot. */
  readonly aborted: number[];
}

/**
 * One boot of the ESP-IDF second-stage bootloader with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE and no
 * factory app: abort any PENDING_VERIFY entry, pick the active entry, NEW → PENDING_VERIFY, then load
 * the chosen app, else the other one (bootloader_utility_load_boot_image tries every slot).
 */
export async function bootEspIdf(options: { otadata: Flash; slots: readonly [Flash, Flash]; sha256: Sha256Factory }): Promise<EspBootResult> {
  const otadata = new OtaData(options.otadata);
  let entries = await otadata.read();
  const aborted: number[] = [];
  for (const i of [0, 1]) {
    if (isEntryIntact(entries[i]!) && entries[i]!.state === OtaState.PENDING_VERIFY) {
      await otadata.write(i, entries[i]!.seq, OtaState.ABORTED);
      aborted.push(i);
    }
  }
  if (aborted.length > 0) entries = await otadata.read();
  const active = activeEntry(entries);
  let chosen = 0;
  if (active !== -1) {
    chosen = slotOfSeq(entries[active]!.seq);
    if (entries[active]!.state === OtaState.NEW) await otadata.write(active, entries[active]!.seq, OtaState.PENDING_VERIFY);
  }
  const problems: string[] = [];
  for (const slot of [chosen, 1 - chosen]) {
    const check = await checkEspAppImage(options.slots[slot]!, options.sha256);
    if (check.problem !== undefined) {
      problems.push(`ota_${slot}: ${check.problem}`);
      continue;
    }
    // With both entries empty or corrupt, the bootloader records what it booted (set_actual_ota_seq).
    if (active === -1 && !entries.some(isEntryIntact)) {
      await otadata.write(0, slot + 1, OtaState.VALID);
    }
    return { slot, version: check.version!, aborted };
  }
  throw new OtaError('image-invalid', `no bootable image: ${problems.join('; ')}`);
}
