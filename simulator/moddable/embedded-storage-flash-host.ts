// The Node side of embedded:storage/flash (embedded-storage-flash.ts): one open partition over a
// simulated flash region, with the SDK's status() shape per platform and its error texts.
import type { Flash } from '../../platform/flash.ts';
import { guard, nativeError } from './native-errors.ts';

export class HostPartition {
  closed = false;
  /** Every eraseBlock call as [start, end) in blocks (tests check the erase-ahead granularity). */
  readonly erases: [number, number][] = [];
  constructor(
    readonly flash: Flash,
    readonly name: string,
    readonly readOnly: boolean,
    readonly zephyr: boolean,
  ) {}

  #check(): void {
    if (this.closed) throw nativeError('closed');
  }

  eraseBlock(start: number, end: number): void {
    this.#check();
    if (this.readOnly) throw nativeError('read-only');
    this.erases.push([start, end]);
    guard('erase failed', () => {
      const count = this.flash.byteLength / this.flash.sectorBytes;
      if (!(start >= 0 && end > start && end <= count)) throw new RangeError('range');
      for (let i = start; i < end; i++) void this.flash.eraseSector(i);
    });
  }

  read(offset: number, length: number): Uint8Array {
    this.#check();
    return guard('read failed', () => {
      const into = new Uint8Array(length);
      void this.flash.read(offset, into);
      return into;
    });
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#check();
    if (this.readOnly) throw nativeError('read-only');
    guard('write failed', () => void this.flash.write(offset, bytes));
  }

  status(): Record<string, number> {
    this.#check();
    const { byteLength, sectorBytes } = this.flash;
    const base = { size: byteLength, blockLength: sectorBytes, blocks: byteLength / sectorBytes };
    // Moddable's ESP32 status() stops there; Zephyr's adds flash_area_align and the erased value.
    return this.zephyr ? { ...base, writeAlign: this.flash.writeGranule, eraseValue: this.flash.erasedByte } : base;
  }

  close(): void {
    this.closed = true;
  }
}
