// KeyValue like ESP-IDF NVS: an append-only log of CRC-protected records spread over the sectors of
// a Flash region. A set appends one record, so a reset at any instant leaves the old record (a torn
// new one fails its CRC and is ignored on load). Space comes back by garbage collection: the oldest
// sector's live records are copied to the head of the log, the sector is marked retired, then erased.
// Portable (no node:*), though only the simulator uses it: devices have their own NVS.
//
// Sector layout:  [header: magic "OKV1", seq u32, source u32, crc u32] [retired flag] [records] [erased]
//   The header is written when a sector joins the log (seq = newest + 1). A sector opened by GC
//   names the sector it copies from (`source` = its seq, else 0xffffffff): if that source is still
//   the oldest live sector on load, the copy was interrupted, so the copy target is dropped and the
//   GC redone (as NVS redoes a FREEING page). The retired flag is programmed after GC has copied a
//   sector's live records, so a torn erase of a retired sector can never bring back stale records.
// Record layout:  type u8 (1 set, 2 delete), key length u8, value length u16, key, value,
//   crc32 of all of that, padding 0xff to the write granule. A record never spans sectors.
import { equalBytes, fromUtf8, readU16LE, readU32LE, utf8, writeU32LE } from '../../base/bytes.ts';
import { crc32 } from '../../base/crc32.ts';
import { OtaError } from '../../base/errors.ts';
import type { Flash } from '../../platform/flash.ts';
import { KEY_MAX_CHARS, type KeyValue } from '../../platform/key-value.ts';

const MAGIC = 0x31564b4f; // "OKV1" little-endian
const SET = 1;
const DELETE = 2;
const NO_SOURCE = 0xffffffff;
const RECORD_OVERHEAD = 8; // 4-byte record header + 4-byte CRC
const KEY_PATTERN = /^[\x20-\x7e]+$/;

export interface NvsKeyValueOptions {
  /** Largest value accepted; default 1984 (fits one record in a 2 KiB sector). */
  maxValueBytes?: number;
}

interface Sector {
  readonly index: number;
  readonly seq: number;
  readonly source: number; // seq of the sector GC was copying when this one was opened, or NO_SOURCE
  /** Where the next record goes; undefined once the sector is full or holds a torn record. */
  writeAt: number | undefined;
}

interface Entry {
  value: Uint8Array | undefined; // undefined: the newest record is a delete
  sector: number; // the sector index holding that newest record
}

function alignUp(n: number, granule: number): number {
  return Math.ceil(n / granule) * granule;
}

export class NvsKeyValue implements KeyValue {
  readonly maxValueBytes: number;
  readonly #flash: Flash;
  readonly #sectorCount: number;
  readonly #headerBytes: number; // magic, seq, source, crc, padded to the granule
  readonly #firstRecord: number; // after the header and the retired flag
  readonly #entries = new Map<string, Entry>();
  #log: Sector[] = []; // live sectors, oldest first

  /** Opens the log in `flash`; an erased (or foreign) region is an empty store, no formatting needed. */
  static async open(flash: Flash, options: NvsKeyValueOptions = {}): Promise<NvsKeyValue> {
    const store = new NvsKeyValue(flash, options);
    await store.#load();
    return store;
  }

  private constructor(flash: Flash, options: NvsKeyValueOptions) {
    const sectorCount = flash.byteLength / flash.sectorBytes;
    if (sectorCount < 2) throw new RangeError(`key-value region expected 2 or more sectors, got ${sectorCount}`);
    this.#flash = flash;
    this.#sectorCount = sectorCount;
    this.#headerBytes = alignUp(16, flash.writeGranule);
    this.#firstRecord = this.#headerBytes + alignUp(4, flash.writeGranule);
    this.maxValueBytes = options.maxValueBytes ?? 1984;
    const largest = alignUp(RECORD_OVERHEAD + KEY_MAX_CHARS + this.maxValueBytes, flash.writeGranule);
    if (largest > flash.sectorBytes - this.#firstRecord) {
      throw new RangeError(`"maxValueBytes" ${this.maxValueBytes} does not fit one ${flash.sectorBytes}-byte sector`);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkKey(key);
    return this.#entries.get(key)?.value?.slice();
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    checkKey(key);
    if (!(value instanceof Uint8Array)) throw new TypeError('"value" expected a Uint8Array');
    if (value.length > this.maxValueBytes) {
      throw new RangeError(`"value" for key "${key}" expected at most ${this.maxValueBytes} bytes, got ${value.length}`);
    }
    const current = this.#entries.get(key)?.value;
    if (current !== undefined && equalBytes(current, value)) return; // as NVS does: no write, no wear
    await this.#append(key, value.slice());
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    if (this.#entries.get(key)?.value === undefined) return;
    await this.#append(key, undefined);
  }

  async #load(): Promise<void> {
    const flash = this.#flash;
    const header = new Uint8Array(this.#firstRecord); // header + retired flag, < 100 bytes
    const sectors: Sector[] = [];
    for (let index = 0; index < this.#sectorCount; index++) {
      await flash.read(index * flash.sectorBytes, header);
      if (readU32LE(header, 0) !== MAGIC || readU32LE(header, 12) !== crc32(header.subarray(0, 12))) continue;
      if (!header.subarray(this.#headerBytes).every((b) => b === 0xff)) continue; // retired
      sectors.push({ index, seq: readU32LE(header, 4), source: readU32LE(header, 8), writeAt: undefined });
    }
    sectors.sort((a, b) => a.seq - b.seq);
    const newest = sectors[sectors.length - 1];
    if (sectors.length > 1 && newest!.source === sectors[0]!.seq) sectors.pop(); // interrupted GC: redo it
    this.#log = sectors;
    const sector = new Uint8Array(flash.sectorBytes); // one sector at a time while loading
    for (const s of sectors) {
      await flash.read(s.index * flash.sectorBytes, sector);
      s.writeAt = this.#replay(s, sector);
    }
  }

  /** Applies a sector's records in order; returns where the next record may go, or undefined. */
  #replay(s: Sector, sector: Uint8Array): number | undefined {
    const granule = this.#flash.writeGranule;
    let at = this.#firstRecord;
    while (at + RECORD_OVERHEAD <= sector.length) {
      const type = sector[at]!;
      const keyLength = sector[at + 1]!;
      const valueLength = readU16LE(sector, at + 2);
      if (type === 0xff && keyLength === 0xff && valueLength === 0xffff) break; // end of the log
      const body = 4 + keyLength + valueLength;
      const total = alignUp(body + 4, granule);
      const plausible =
        (type === SET || type === DELETE) && keyLength >= 1 && keyLength <= KEY_MAX_CHARS &&
        valueLength <= this.maxValueBytes && (type === SET || valueLength === 0) && at + total <= sector.length;
      if (!plausible || readU32LE(sector, at + body) !== crc32(sector.subarray(at, at + body))) {
        return undefined; // a torn record: nothing follows it, and the sector takes no more
      }
      let key: string;
      try {
        key = fromUtf8(sector.subarray(at + 4, at + 4 + keyLength));
      } catch {
        return undefined;
      }
      const value = type === SET ? sector.slice(at + 4 + keyLength, at + body) : undefined;
      this.#entries.set(key, { value, sector: s.index });
      at += total;
    }
    // The rest must be erased to take records (a torn program can leave bits past a blank header).
    if (!sector.subarray(at).every((b) => b === 0xff)) return undefined;
    return at + RECORD_OVERHEAD <= sector.length ? at : undefined;
  }

  async #append(key: string, value: Uint8Array | undefined): Promise<void> {
    const record = this.#encode(key, value);
    let head = this.#log[this.#log.length - 1];
    for (let attempt = 0; !fits(head, record.length, this.#flash.sectorBytes); attempt++) {
      if (attempt > this.#sectorCount) {
        throw new OtaError('flash-io', `key-value store full: no room for a ${record.length}-byte record for key "${key}"`);
      }
      // Keep one free sector in reserve for garbage collection.
      if (this.#sectorCount - this.#log.length > 1) head = await this.#openSector();
      else {
        await this.#collect();
        head = this.#log[this.#log.length - 1];
      }
    }
    await this.#write(head!, record);
    this.#entries.set(key, { value, sector: head!.index });
  }

  #encode(key: string, value: Uint8Array | undefined): Uint8Array {
    const keyBytes = utf8(key);
    const valueLength = value?.length ?? 0;
    const body = 4 + keyBytes.length + valueLength;
    const record = new Uint8Array(alignUp(body + 4, this.#flash.writeGranule)).fill(0xff); // <= one sector
    record[0] = value === undefined ? DELETE : SET;
    record[1] = keyBytes.length;
    record[2] = valueLength & 0xff;
    record[3] = valueLength >> 8;
    record.set(keyBytes, 4);
    if (value !== undefined) record.set(value, 4 + keyBytes.length);
    writeU32LE(record, body, crc32(record.subarray(0, body)));
    return record;
  }

  async #write(s: Sector, record: Uint8Array): Promise<void> {
    const at = s.writeAt!;
    s.writeAt = undefined; // if this write is torn, nothing more goes into this sector
    await this.#flash.write(s.index * this.#flash.sectorBytes + at, record);
    const next = at + record.length;
    s.writeAt = next + RECORD_OVERHEAD <= this.#flash.sectorBytes ? next : undefined;
  }

  /** Adds a free sector to the head of the log: erase if needed, then its header. */
  async #openSector(source = NO_SOURCE): Promise<Sector> {
    const flash = this.#flash;
    const used = new Set(this.#log.map((s) => s.index));
    if (used.size === this.#sectorCount) {
      throw new OtaError('storage-corrupt', `key-value store: all ${this.#sectorCount} sectors in use, none free for the log`);
    }
    const newest = this.#log[this.#log.length - 1];
    // The next free sector after the head, so wear rotates through the region.
    let index = newest === undefined ? 0 : (newest.index + 1) % this.#sectorCount;
    while (used.has(index)) index = (index + 1) % this.#sectorCount;
    const contents = new Uint8Array(flash.sectorBytes); // one sector, to skip the erase when blank
    await flash.read(index * flash.sectorBytes, contents);
    if (!contents.every((b) => b === 0xff)) await flash.eraseSector(index);
    const header = new Uint8Array(this.#headerBytes).fill(0xff);
    const seq = newest === undefined ? 1 : newest.seq + 1;
    writeU32LE(header, 0, MAGIC);
    writeU32LE(header, 4, seq);
    writeU32LE(header, 8, source);
    writeU32LE(header, 12, crc32(header.subarray(0, 12)));
    await flash.write(index * flash.sectorBytes, header);
    const sector: Sector = { index, seq, source, writeAt: this.#firstRecord };
    this.#log.push(sector);
    return sector;
  }

  /** Moves the oldest sector's live records to the head of the log, retires it, then erases it. */
  async #collect(): Promise<void> {
    const oldest = this.#log[0]!;
    const flash = this.#flash;
    for (const [key, entry] of this.#entries) {
      if (entry.sector !== oldest.index || entry.value === undefined) continue;
      const record = this.#encode(key, entry.value);
      let head = this.#log[this.#log.length - 1]!;
      if (head === oldest || !fits(head, record.length, flash.sectorBytes)) head = await this.#openSector(oldest.seq);
      await this.#write(head, record);
      entry.sector = head.index;
    }
    // A delete in the oldest sector shadows nothing older: it goes with the sector.
    for (const [key, entry] of this.#entries) if (entry.sector === oldest.index) this.#entries.delete(key);
    const retired = new Uint8Array(this.#firstRecord - this.#headerBytes); // granule-sized flag
    await flash.write(oldest.index * flash.sectorBytes + this.#headerBytes, retired);
    this.#log.shift();
    await flash.eraseSector(oldest.index);
  }
}

function fits(s: Sector | undefined, length: number, sectorBytes: number): s is Sector {
  return s !== undefined && s.writeAt !== undefined && s.writeAt + length <= sectorBytes;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length < 1 || key.length > KEY_MAX_CHARS || !KEY_PATTERN.test(key)) {
    throw new RangeError(`key expected 1..${KEY_MAX_CHARS} printable ASCII characters, got ${JSON.stringify(key)}`);
  }
}
