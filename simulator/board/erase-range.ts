// A RangeEraseFlash over any simulated Flash, as esp_partition_erase_range is over SPI NOR: the run
// is erased sector by sector, each one its own operation, so a power cut lands between any two (a
// real 64 KiB block erase is one operation; a cut inside it leaves an unknown mix, which a torn
// sector in the middle of the run models). Each call is recorded: tests check the erase policy's
// granularity (one call per 64 KiB block, a few sectors per unaligned call). Portable.
import type { Flash, RangeEraseFlash } from '../../platform/flash.ts';

export class EraseRangeFlash implements RangeEraseFlash {
  readonly byteLength: number;
  readonly sectorBytes: number;
  readonly writeGranule: number;
  readonly erasedByte: number;
  /** Every eraseSectors call as [start, end), in order. */
  readonly erases: [number, number][] = [];
  readonly #inner: Flash;

  constructor(inner: Flash) {
    this.#inner = inner;
    this.byteLength = inner.byteLength;
    this.sectorBytes = inner.sectorBytes;
    this.writeGranule = inner.writeGranule;
    this.erasedByte = inner.erasedByte;
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    await this.#inner.read(offset, into);
  }

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    await this.#inner.write(offset, bytes);
  }

  async eraseSector(index: number): Promise<void> {
    await this.#inner.eraseSector(index);
  }

  async eraseSectors(start: number, end: number): Promise<void> {
    const count = this.byteLength / this.sectorBytes;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start || end > count) {
      throw new RangeError(`erase of sectors [${start}, ${end}): expected 0 <= start < end <= ${count}`);
    }
    this.erases.push([start, end]);
    for (let i = start; i < end; i++) await this.#inner.eraseSector(i);
  }
}
