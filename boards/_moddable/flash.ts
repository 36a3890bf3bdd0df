// Flash over ECMA-419 `embedded:storage/flash`: the one file that translates ECMA-419's words
// (block, eraseBlock, blockLength, writeAlign, eraseValue) into ours (sector, eraseSector,
// sectorBytes, writeGranule, erasedByte). Native failures carry no context ("write failed"), so
// each is rethrown as OtaError('flash-io') naming the partition, the operation and the range.
import flashStorage, { type Flash as Partition, type FlashStatus } from 'embedded:storage/flash';
import { OtaError } from '../../base/errors.ts';
import type { RangeEraseFlash } from '../../platform/flash.ts';

export interface PartitionFlashOptions {
  /** Partition name: a DATA label, "running" or "nextota" on ESP32; a devicetree label on Zephyr. */
  readonly path: string;
  readonly mode?: 'r' | 'r+';
  /** Write granule when status() does not report writeAlign (Moddable's ESP32 build does not). */
  readonly writeGranule?: number;
}

export class PartitionFlash implements RangeEraseFlash {
  readonly path: string;
  readonly byteLength: number;
  readonly sectorBytes: number;
  readonly writeGranule: number;
  readonly erasedByte: number;
  readonly #partition: Partition;

  constructor(options: PartitionFlashOptions) {
    this.path = options.path;
    this.#partition = this.#native('open', 0, 0, () => flashStorage.open({ path: options.path, mode: options.mode ?? 'r+' }));
    const status = this.#partition.status() as Partial<FlashStatus> & Pick<FlashStatus, 'size' | 'blockLength'>;
    this.byteLength = status.size;
    this.sectorBytes = status.blockLength;
    this.writeGranule = status.writeAlign ?? options.writeGranule ?? 1;
    this.erasedByte = status.eraseValue ?? 0xff;
  }

  read(offset: number, into: Uint8Array): void {
    this.checkRange('read', offset, into.length);
    this.#native('read', offset, into.length, () => this.#partition.read(into, offset));
  }

  write(offset: number, bytes: Uint8Array): void {
    const g = this.writeGranule;
    if (offset % g !== 0 || bytes.length % g !== 0) {
      throw new RangeError(`flash "${this.path}": write at offset ${offset}, length ${bytes.length}: not a multiple of the ${g}-byte write granule`);
    }
    this.checkRange('write', offset, bytes.length);
    if (bytes.length > 0) this.#native('write', offset, bytes.length, () => this.#partition.write(bytes, offset));
  }

  eraseSector(index: number): void {
    this.eraseSectors(index, index + 1);
  }

  /**
   * Erases sectors [start, end) in ONE blocking call. ESP-IDF turns a 64 KiB-aligned range of 64 KiB
   * or more into block erases (esp_flash_erase_region), the fast path; callers bound the range.
   */
  eraseSectors(start: number, end: number): void {
    const count = this.byteLength / this.sectorBytes;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start || end > count) {
      throw new RangeError(`flash "${this.path}": erase of sectors [${start}, ${end}): expected 0 <= start < end <= ${count}`);
    }
    this.#native('erase', start * this.sectorBytes, (end - start) * this.sectorBytes, () => this.#partition.eraseBlock(start, end));
  }

  /** The ECMA-419 partition itself (embedded:update takes it as its target). */
  get partition(): Partition {
    return this.#partition;
  }

  close(): void {
    this.#partition.close();
  }

  private checkRange(what: string, offset: number, length: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + length > this.byteLength) {
      throw new RangeError(`flash "${this.path}": ${what} at offset ${offset}, length ${length}: outside the ${this.byteLength}-byte partition`);
    }
  }

  #native<T>(what: string, offset: number, length: number, call: () => T): T {
    try {
      return call();
    } catch (error) {
      const where = what === 'open' ? 'open' : `${what} at offset ${offset}, length ${length}`;
      throw new OtaError('flash-io', `flash "${this.path}": ${where}: ${(error as Error).message}`, { cause: error });
    }
  }
}
