// A sequential SlotWriter over any Flash: buffers the tail to the write granule, programs at most one
// sector per call and erases just ahead of the data, so after a power cut every sector below
// durableOffset holds what was written. The erase policy is the only thing a board chooses:
//  - sector by sector (the default): each sector is erased just before its first byte. MCUboot's
//    STM32 pages are 2 KiB with nothing larger to batch into.
//  - block erase-ahead (BlockErase): where the flash has a faster large erase unit (SPI NOR's 64 KiB
//    block), each aligned block is erased in one call just before the writer reaches it; an
//    unaligned stretch (a resume point, the slot's tail) goes sector by sector, a bounded number
//    per call, so no single blocking call grows past the board's budget. ESP32 uses it.
// Runs on XS.
import { OtaError } from '../base/errors.ts';
import type { SlotWriter } from './boot-control.ts';
import type { Flash, RangeEraseFlash } from './flash.ts';

/** Erase aligned blocks of `blockBytes` in one call each; elsewhere at most `maxSectorsPerCall` sectors per call. */
export interface BlockErase {
  /** A multiple of the sector size; blocks are aligned to it from the slot's start. */
  readonly blockBytes: number;
  readonly maxSectorsPerCall: number;
}

export interface SlotWriterOptions {
  /** Bytes an image may take in this slot. */
  capacity: number;
  /** A sector boundary: keep [0, resumeAt) and continue after it. */
  resumeAt?: number;
  /** The first byte an image must start with (ESP-IDF: esp_ota_write refuses anything but 0xE9). */
  magic?: { byte: number; what: string };
  /** Erase ahead in blocks (the flash must then erase ranges); sector by sector when absent. */
  blockErase?: BlockErase;
}

/** The resume point, checked: a sector boundary within the capacity (0 when absent). */
export function checkResumeAt(flash: Flash, capacity: number, resumeAt = 0): number {
  if (!Number.isInteger(resumeAt) || resumeAt < 0 || resumeAt % flash.sectorBytes !== 0 || resumeAt > capacity) {
    throw new RangeError(`"resumeAt" expected a multiple of the ${flash.sectorBytes}-byte sector in [0, ${capacity}], got ${resumeAt}`);
  }
  return resumeAt;
}

export async function openSlotWriter(flash: Flash, options: SlotWriterOptions & { blockErase?: undefined }): Promise<SlotWriter>;
export async function openSlotWriter(flash: RangeEraseFlash, options: SlotWriterOptions): Promise<SlotWriter>;
export async function openSlotWriter(flash: Flash | RangeEraseFlash, options: SlotWriterOptions): Promise<SlotWriter> {
  const resumeAt = checkResumeAt(flash, options.capacity, options.resumeAt);
  return new FlashSlotWriter(flash, options, resumeAt, blockEraser(flash, options.blockErase));
}

/** The block policy with the flash that carries it out, checked; undefined for sector by sector. */
function blockEraser(flash: Flash | RangeEraseFlash, block: BlockErase | undefined): BlockEraser | undefined {
  if (block === undefined) return undefined;
  const { blockBytes, maxSectorsPerCall } = block;
  if (!('eraseSectors' in flash) || !(blockBytes > 0) || blockBytes % flash.sectorBytes !== 0 || !Number.isInteger(maxSectorsPerCall) || maxSectorsPerCall < 1) {
    throw new RangeError(`"blockErase" expected a flash with eraseSectors, a positive multiple of the ${flash.sectorBytes}-byte sector and a whole number of sectors per call, got ${blockBytes} bytes, ${maxSectorsPerCall} sectors`);
  }
  return { flash, sectorsPerBlock: blockBytes / flash.sectorBytes, maxSectorsPerCall };
}

interface BlockEraser {
  readonly flash: RangeEraseFlash;
  readonly sectorsPerBlock: number;
  readonly maxSectorsPerCall: number;
}

class FlashSlotWriter implements SlotWriter {
  readonly #flash: Flash;
  readonly #capacity: number;
  readonly #magic: { byte: number; what: string } | undefined;
  readonly #block: BlockEraser | undefined;
  readonly #tail: Uint8Array; // one write granule: bytes waiting for the rest of their granule
  #tailLength = 0;
  #offset: number; // bytes accepted
  #flushed: number; // bytes programmed
  #erasedSectors: number; // sectors [0, n) of this write are erased (or kept by a resume)
  #state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(flash: Flash, options: SlotWriterOptions, resumeAt: number, block: BlockEraser | undefined) {
    this.#flash = flash;
    this.#capacity = options.capacity;
    this.#magic = options.magic;
    this.#block = block;
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
      await this.program(this.#tail);
      this.#tailLength = 0;
    }
    const aligned = rest.length - (rest.length % granule);
    if (aligned > 0) await this.program(rest.subarray(0, aligned));
    this.#offset += aligned;
    this.#tail.set(rest.subarray(aligned));
    this.#tailLength = rest.length - aligned;
    this.#offset += this.#tailLength;
  }

  async finish(): Promise<void> {
    if (this.#state !== 'open') throw new Error(`SlotWriter.finish after ${this.#state === 'finished' ? 'finish()' : 'abort()'}`);
    if (this.#tailLength > 0) {
      this.#tail.fill(this.#flash.erasedByte, this.#tailLength);
      await this.program(this.#tail);
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

  /** Programs at the flushed position, one sector's piece at a time, erasing ahead of each piece. */
  private async program(data: Uint8Array): Promise<void> {
    const sector = this.#flash.sectorBytes;
    let done = 0;
    while (done < data.length) {
      const at = this.#flushed;
      const piece = Math.min(data.length - done, (Math.floor(at / sector) + 1) * sector - at);
      await this.eraseTo(Math.floor(at / sector) + 1);
      await this.#flash.write(at, data.subarray(done, done + piece));
      this.#flushed += piece;
      done += piece;
    }
  }

  /** Erases until sectors [resume point, end) are erased, in the runs the policy allows. */
  private async eraseTo(end: number): Promise<void> {
    const block = this.#block;
    while (this.#erasedSectors < end) {
      const from = this.#erasedSectors;
      if (block === undefined) {
        await this.#flash.eraseSector(from);
        this.#erasedSectors = from + 1;
        continue;
      }
      const sectors = this.#flash.byteLength / this.#flash.sectorBytes;
      const nextBlock = (Math.floor(from / block.sectorsPerBlock) + 1) * block.sectorsPerBlock;
      // A whole aligned block in one call; else up to the next block boundary, a few sectors a call.
      const to = from % block.sectorsPerBlock === 0 && nextBlock <= sectors ? nextBlock : Math.min(sectors, nextBlock, from + block.maxSectorsPerCall);
      await block.flash.eraseSectors(from, to);
      this.#erasedSectors = to;
    }
  }
}
