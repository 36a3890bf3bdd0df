// A NOR flash region as the parts we target behave: sectors erase to 0xff, programming only clears
// bits and is refused on a granule that is not erased (STM32 ECC flash refuses it; ESP32 flash
// would AND the bits, which no caller of ours may rely on). Optionally kept in a file, written
// through at each operation, so a device survives a process restart. Node only.
import { closeSync, existsSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { toHex } from '../../base/bytes.ts';
import { OtaError } from '../../base/errors.ts';
import type { Flash } from '../../platform/flash.ts';
import { PowerCut, type PowerRail } from './power.ts';

export interface NorFlashOptions {
  byteLength: number;
  sectorBytes: number;
  writeGranule: number;
  power?: PowerRail;
  /** Persisted here (created erased when missing); erase counts go to `${file}.wear`. */
  file?: string;
}

const ERASED = 0xff;

export class NorFlash implements Flash {
  readonly byteLength: number;
  readonly sectorBytes: number;
  readonly writeGranule: number;
  readonly erasedByte = ERASED;
  readonly eraseCounts: Uint32Array; // per sector
  readonly #data: Uint8Array; // byteLength: the whole region, the file's mirror
  readonly #power: PowerRail | undefined;
  #fd: number | undefined;
  #wearFd: number | undefined;

  constructor(options: NorFlashOptions) {
    const { byteLength, sectorBytes, writeGranule } = options;
    if (!Number.isInteger(sectorBytes) || sectorBytes <= 0) throw new RangeError(`"sectorBytes" expected a positive integer, got ${sectorBytes}`);
    if (![1, 2, 4, 8, 16, 32].includes(writeGranule) || sectorBytes % writeGranule !== 0) {
      throw new RangeError(`"writeGranule" expected 1, 2, 4, 8, 16 or 32 dividing the sector, got ${writeGranule}`);
    }
    if (!Number.isInteger(byteLength) || byteLength <= 0 || byteLength % sectorBytes !== 0) {
      throw new RangeError(`"byteLength" expected a positive multiple of ${sectorBytes}, got ${byteLength}`);
    }
    this.byteLength = byteLength;
    this.sectorBytes = sectorBytes;
    this.writeGranule = writeGranule;
    this.#power = options.power;
    this.#data = new Uint8Array(byteLength).fill(ERASED);
    this.eraseCounts = new Uint32Array(byteLength / sectorBytes);
    if (options.file !== undefined) this.#open(options.file);
  }

  read(offset: number, into: Uint8Array): void {
    this.#checkRange('read', offset, into.length);
    into.set(this.#data.subarray(offset, offset + into.length));
  }

  write(offset: number, bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected a Uint8Array');
    this.#checkRange('program', offset, bytes.length);
    const g = this.writeGranule;
    if (offset % g !== 0 || bytes.length % g !== 0) {
      throw new RangeError(`program at offset ${offset}, length ${bytes.length}: not a multiple of the ${g}-byte write granule`);
    }
    for (let at = offset; at < offset + bytes.length; at += g) {
      const granule = this.#data.subarray(at, at + g);
      if (!granule.every((b) => b === ERASED)) {
        throw new OtaError('flash-io', `program at offset ${at}: granule not erased (reads ${toHex(granule)}), erase sector ${Math.floor(at / this.sectorBytes)} first`);
      }
    }
    if (bytes.length === 0) return;
    if (this.#power?.begin('program') === 'tear') {
      // Granules are programmed in order: some complete, then one with only part of its bits cleared.
      const power = this.#power;
      const granules = bytes.length / g;
      const done = Math.floor(power.random() * granules);
      this.#data.set(bytes.subarray(0, done * g), offset);
      const at = offset + done * g;
      for (let i = 0; i < g; i++) this.#data[at + i] = bytes[done * g + i]! | Math.floor(power.random() * 256);
      this.#persist(offset, (done + 1) * g);
      throw new PowerCut(`power cut while programming offset ${at}`);
    }
    this.#data.set(bytes, offset);
    this.#persist(offset, bytes.length);
  }

  eraseSector(index: number): void {
    const count = this.eraseCounts.length;
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`erase sector ${index}: expected an integer in [0, ${count})`);
    }
    const start = index * this.sectorBytes;
    const tear = this.#power?.begin('erase') === 'tear';
    this.eraseCounts[index]!++;
    this.#persistWear(index);
    if (tear) {
      // A torn erase: a prefix of the sector reads erased, one byte at the edge has some bits set.
      const power = this.#power!;
      const edge = Math.floor(power.random() * this.sectorBytes);
      this.#data.fill(ERASED, start, start + edge);
      this.#data[start + edge] = this.#data[start + edge]! | Math.floor(power.random() * 256);
      this.#persist(start, this.sectorBytes);
      throw new PowerCut(`power cut while erasing sector ${index}`);
    }
    this.#data.fill(ERASED, start, start + this.sectorBytes);
    this.#persist(start, this.sectorBytes);
  }

  /** A copy of the whole region (tests). */
  snapshot(): Uint8Array {
    return this.#data.slice();
  }

  /** Writes raw bytes ignoring NOR rules (factory programming, and the bootloader's atomic copy model). */
  program(offset: number, bytes: Uint8Array): void {
    this.#checkRange('raw program', offset, bytes.length);
    this.#data.set(bytes, offset);
    this.#persist(offset, bytes.length);
  }

  /** Closes the backing files (the in-memory copy stays readable). Harmless when called twice. */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    if (this.#wearFd !== undefined) closeSync(this.#wearFd);
    this.#fd = this.#wearFd = undefined;
  }

  #checkRange(what: string, offset: number, length: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + length > this.byteLength) {
      throw new RangeError(`${what} at offset ${offset}, length ${length}: outside the ${this.byteLength}-byte region`);
    }
  }

  #open(file: string): void {
    const fresh = !existsSync(file);
    this.#fd = openSync(file, fresh ? 'w+' : 'r+');
    const wearFile = `${file}.wear`;
    const freshWear = !existsSync(wearFile);
    this.#wearFd = openSync(wearFile, freshWear ? 'w+' : 'r+');
    if (fresh) {
      writeSync(this.#fd, this.#data, 0, this.byteLength, 0);
    } else {
      const size = fstatSync(this.#fd).size;
      if (size !== this.byteLength) {
        this.close();
        throw new RangeError(`flash file ${file}: ${size} bytes, expected the configured ${this.byteLength}`);
      }
      readSync(this.#fd, this.#data, 0, this.byteLength, 0);
    }
    const wear = new Uint8Array(this.eraseCounts.buffer);
    if (freshWear || fstatSync(this.#wearFd).size !== wear.length) writeSync(this.#wearFd, wear, 0, wear.length, 0);
    else readSync(this.#wearFd, wear, 0, wear.length, 0);
  }

  #persist(offset: number, length: number): void {
    if (this.#fd !== undefined) writeSync(this.#fd, this.#data, offset, length, offset);
  }

  #persistWear(index: number): void {
    if (this.#wearFd === undefined) return;
    const bytes = new Uint8Array(this.eraseCounts.buffer, index * 4, 4);
    writeSync(this.#wearFd, bytes, 0, 4, index * 4);
  }
}
