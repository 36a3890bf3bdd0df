// A sequential SlotWriter over any Flash: buffers the tail to the write granule and erases each
// sector just before the first byte goes into it, so after a power cut every sector below
// durableOffset holds what was written. The MCUboot boot control and the simulated ESP-IDF one use
// it; the ESP32 board has its own (synchronous natives, 64 KiB block erases). Runs on XS.
import { OtaError } from '../core/errors.ts';
import type { SlotWriter } from './boot-control.ts';
import type { Flash } from './flash.ts';

export interface SlotWriterOptions {
  /** Bytes an image may take in this slot. */
  capacity: number;
  /** A sector boundary: keep [0, resumeAt) and continue after it. */
  resumeAt?: number;
  /** The first byte an image must start with (ESP-IDF: esp_ota_write refuses anything but 0xE9). */
  magic?: { byte: number; what: string };
  /** On a fresh start, erase the header sector at once, as esp_ota_begin does (else just before the first byte). */
  eraseHeaderAtOpen?: boolean;
}

/** The resume point, checked: a sector boundary within the capacity (0 when absent). */
export function checkResumeAt(flash: Flash, capacity: number, resumeAt = 0): number {
  if (!Number.isInteger(resumeAt) || resumeAt < 0 || resumeAt % flash.sectorBytes !== 0 || resumeAt > capacity) {
    throw new RangeError(`"resumeAt" expected a multiple of the ${flash.sectorBytes}-byte sector in [0, ${capacity}], got ${resumeAt}`);
  }
  return resumeAt;
}

export async function openSlotWriter(flash: Flash, options: SlotWriterOptions): Promise<SlotWriter> {
  const resumeAt = checkResumeAt(flash, options.capacity, options.resumeAt);
  const writer = new FlashSlotWriter(flash, options, resumeAt);
  if (resumeAt === 0 && options.eraseHeaderAtOpen) await writer.eraseAhead(1);
  return writer;
}

class FlashSlotWriter implements SlotWriter {
  readonly #flash: Flash;
  readonly #capacity: number;
  readonly #magic: { byte: number; what: string } | undefined;
  readonly #tail: Uint8Array; // one write granule: bytes waiting for the rest of their granule
  #tailLength = 0;
  #offset: number; // bytes accepted
  #flushed: number; // bytes programmed
  #erasedSectors: number; // sectors [0, n) of this write are erased (or kept by a resume)
  #state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(flash: Flash, options: SlotWriterOptions, resumeAt: number) {
    this.#flash = flash;
    this.#capacity = options.capacity;
    this.#magic = options.magic;
    this.#tail = new Uint8Array(flash.writeGranule);
    this.#offset = this.#flushed = resumeAt;
    this.#erasedSectors = resumeAt / flash.sectorBytes;
  }

  get offset(): number {
    return this.#offset;
  }

  get durableOffset(): number {
    return Math.floor(this.#flushed / this.#flash.sectorBytes) * this.#flash.sectorBytes;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#state !== 'open') throw new Error(`SlotWriter.write after ${this.#state === 'finished' ? 'finish()' : 'abort()'}`);
    if (this.#offset + bytes.length > this.#capacity) {
      throw new RangeError(`slot write at byte ${this.#offset}: ${bytes.length} more bytes exceed the ${this.#capacity}-byte slot`);
    }
    if (this.#offset === 0 && bytes.length > 0 && this.#magic !== undefined && bytes[0] !== this.#magic.byte) {
      throw new OtaError('image-invalid', `slot write at byte 0: 0x${bytes[0]!.toString(16).padStart(2, '0')}, expected 0x${this.#magic.byte.toString(16)} (${this.#magic.what})`);
    }
    const granule = this.#flash.writeGranule;
    let rest = bytes;
    if (this.#tailLength > 0) {
      const take = Math.min(granule - this.#tailLength, rest.length);
      this.#tail.set(rest.subarray(0, take), this.#tailLength);
      this.#tailLength += take;
      this.#offset += take;
      rest = rest.subarray(take);
      if (this.#tailLength < granule) return;
      await this.#program(this.#tail);
      this.#tailLength = 0;
    }
    const aligned = rest.length - (rest.length % granule);
    if (aligned > 0) await this.#program(rest.subarray(0, aligned));
    this.#offset += aligned;
    this.#tail.set(rest.subarray(aligned));
    this.#tailLength = rest.length - aligned;
    this.#offset += this.#tailLength;
  }

  async finish(): Promise<void> {
    if (this.#state !== 'open') throw new Error(`SlotWriter.finish after ${this.#state === 'finished' ? 'finish()' : 'abort()'}`);
    if (this.#tailLength > 0) {
      this.#tail.fill(this.#flash.erasedByte, this.#tailLength);
      await this.#program(this.#tail);
      this.#tailLength = 0;
    }
    this.#state = 'finished';
  }

  /** Erases the header sector so the slot holds no image. After finish() it does nothing. */
  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    await this.#flash.eraseSector(0);
  }

  /** @internal Erases sectors up to (not including) `sectors`. */
  async eraseAhead(sectors: number): Promise<void> {
    while (this.#erasedSectors < sectors) await this.#flash.eraseSector(this.#erasedSectors++);
  }

  /** Programs at the flushed position, one sector's piece at a time, erasing each sector first. */
  async #program(data: Uint8Array): Promise<void> {
    const sector = this.#flash.sectorBytes;
    let done = 0;
    while (done < data.length) {
      const at = this.#flushed;
      const piece = Math.min(data.length - done, (Math.floor(at / sector) + 1) * sector - at);
      await this.eraseAhead(Math.floor(at / sector) + 1);
      await this.#flash.write(at, data.subarray(done, done + piece));
      this.#flushed += piece;
      done += piece;
    }
  }
}
