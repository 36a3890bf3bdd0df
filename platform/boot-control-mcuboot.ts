// BootControl for MCUboot in swap mode over any Flash: the image goes into the secondary slot, the
// request and the confirmation are the trailer writes of bootutil_public.c (boot_set_pending(0),
// boot_set_confirmed). Portable: the STM32 port uses it over its flash driver.
// Facts: ../shared/research/mcuboot-espidf-delta.md §1.3-§1.6.
import { OtaError } from '../base/errors.ts';
import { readU16LE } from '../base/bytes.ts';
import type { BootControl, BootState, SlotWriter } from './boot-control.ts';
import type { Sha256Factory } from './digest.ts';
import type { Flash } from './flash.ts';
import { IMAGE_HEADER_BYTES, McubootImageVerifier, parseMcubootHeader } from './mcuboot-image.ts';
import {
  imageCapacity,
  readTrailer,
  trailerLayoutFor,
  writeImageOk,
  writeMagic,
  writeSwapInfo,
  type TrailerLayout,
  type TrailerState,
} from './mcuboot-trailer.ts';
import { checkResumeAt, openSlotWriter } from './slot-writer.ts';

const READ_BYTES = 512; // read-back chunk when checking the secondary's hash

export interface McubootBootControlOptions {
  primary: Flash;
  secondary: Flash;
  sha256: Sha256Factory;
}

export function createMcubootBootControl(options: McubootBootControlOptions): BootControl {
  return new McubootBootControl(options);
}

/** primary GOOD, image_ok UNSET, copy_done SET: what a TEST swap leaves; State IV reverts it on the next reset. */
function onTrial(trailer: TrailerState): boolean {
  return trailer.magic === 'good' && trailer.imageOk === 'unset' && trailer.copyDone === 'set';
}

class McubootBootControl implements BootControl {
  readonly #primary: Flash;
  readonly #secondary: Flash;
  readonly #sha256: Sha256Factory;
  readonly #primaryLayout: TrailerLayout;
  readonly #secondaryLayout: TrailerLayout;
  /** Image bytes the secondary takes: everything below its trailer sectors. */
  readonly #capacity: number;

  constructor(options: McubootBootControlOptions) {
    this.#primary = options.primary;
    this.#secondary = options.secondary;
    this.#sha256 = options.sha256;
    this.#primaryLayout = trailerLayoutFor(options.primary);
    this.#secondaryLayout = trailerLayoutFor(options.secondary);
    // Whole sectors, not slot minus trailer bytes: after a swap MCUboot erases the secondary's
    // trailer sectors, which must not cut into the previous image kept there for a revert.
    this.#capacity = imageCapacity(this.#secondaryLayout, options.secondary.sectorBytes);
  }

  async state(): Promise<BootState> {
    const head = new Uint8Array(IMAGE_HEADER_BYTES); // 32: the running image's header
    await this.#primary.read(0, head);
    const info = parseMcubootHeader(head);
    const trailer = await readTrailer(this.#primary, this.#primaryLayout);
    return {
      runningSlot: 0, // swap mode always runs from the primary slot
      runningVersion: info.version,
      isTestBoot: onTrial(trailer),
      // A revert swap writes swap_info = REVERT into the primary trailer (swap_status_init), and
      // only the next swap rewrites it: so this stays true on later boots of the reverted image
      // until a new update is swapped in. Clients also compare the version they expected.
      lastBootReverted: trailer.magic === 'good' && trailer.swapType === 'revert',
      inactiveSlotBytes: this.#capacity,
    };
  }

  async openInactiveSlot(options?: { resumeAt?: number }): Promise<SlotWriter> {
    const primary = await readTrailer(this.#primary, this.#primaryLayout);
    if (onTrial(primary)) {
      throw new OtaError('image-invalid', 'cannot open the secondary slot: the running image is on trial (a test swap, not confirmed); confirm it or let it revert first');
    }
    const resumeAt = checkResumeAt(this.#secondary, this.#capacity, options?.resumeAt);
    // Drop any request and stale trailer first, so no partial image can ever be asked for.
    await this.eraseTrailerSectors();
    return openSlotWriter(this.#secondary, { capacity: this.#capacity, resumeAt });
  }

  async readInactiveSlot(offset: number, into: Uint8Array): Promise<void> {
    if (!Number.isInteger(offset) || offset < 0 || offset + into.length > this.#secondary.byteLength) {
      throw new RangeError(`readInactiveSlot at offset ${offset}, length ${into.length}: outside the ${this.#secondary.byteLength}-byte slot`);
    }
    await this.#secondary.read(offset, into);
  }

  /** boot_set_pending(0) after checking the slot holds a whole image whose SHA256 TLV matches. */
  async setPendingTest(): Promise<void> {
    await this.checkSecondaryImage();
    const trailer = await readTrailer(this.#secondary, this.#secondaryLayout);
    if (trailer.magic === 'good' && trailer.swapType === 'test') return; // already requested: boot_set_next writes nothing
    if (trailer.magic !== 'unset' || trailer.swapType !== 'none') {
      // A request a power cut interrupted (a torn magic, or the magic without its swap_info): the
      // image was just checked whole, and the trailer sectors hold no image bytes, so the request
      // is made again from erased sectors (a cut during this erase leaves the same choice).
      await this.eraseTrailerSectors();
    }
    await writeMagic(this.#secondary, this.#secondaryLayout);
    await writeSwapInfo(this.#secondary, this.#secondaryLayout, 'test');
  }

  /** boot_set_confirmed(): image_ok on the primary when its magic is GOOD and image_ok is UNSET. */
  async confirm(): Promise<void> {
    const trailer = await readTrailer(this.#primary, this.#primaryLayout);
    if (trailer.magic === 'bad') throw new OtaError('storage-corrupt', 'primary slot trailer: magic is neither erased nor valid; cannot confirm');
    // magic UNSET: a factory-programmed image, confirmed by definition (boot_is_img_confirmed).
    if (trailer.magic === 'good' && trailer.imageOk === 'unset') await writeImageOk(this.#primary, this.#primaryLayout);
  }

  /**
   * Swap mode needs no write: the primary trailer after a test swap is GOOD / image_ok UNSET /
   * copy_done SET, which the swap-type table (State IV) turns into a revert on the next reset.
   * Marking anything would only risk confirming by accident.
   */
  async rejectTestImage(): Promise<void> {
    const trailer = await readTrailer(this.#primary, this.#primaryLayout);
    if (!onTrial(trailer)) {
      throw new Error(`rejectTestImage: the running image is not on trial (primary trailer ${trailer.magic}/${trailer.imageOk}/${trailer.copyDone}); a reset would not revert it`);
    }
  }

  /** Erases the secondary's trailer sectors: the request goes, the image stays (outside them). */
  async clearPending(): Promise<void> {
    const trailer = await readTrailer(this.#secondary, this.#secondaryLayout);
    if (trailer.magic !== 'unset' || trailer.imageOk !== 'unset') await this.eraseTrailerSectors();
  }

  private async eraseTrailerSectors(): Promise<void> {
    const sectorBytes = this.#secondary.sectorBytes;
    for (let sector = this.#capacity / sectorBytes; sector < this.#secondary.byteLength / sectorBytes; sector++) {
      await this.#secondary.eraseSector(sector);
    }
  }

  private async checkSecondaryImage(): Promise<void> {
    const chunk = new Uint8Array(READ_BYTES); // 512: one read-back piece
    await this.#secondary.read(0, chunk.subarray(0, IMAGE_HEADER_BYTES));
    let total: number;
    try {
      const info = parseMcubootHeader(chunk.subarray(0, IMAGE_HEADER_BYTES));
      const infoAt = info.headerSize + info.imageSize + info.protectedTlvSize;
      if (infoAt + 4 > this.#capacity) throw new OtaError('image-invalid', `image of at least ${infoAt + 4} bytes does not fit the ${this.#capacity}-byte slot`);
      await this.#secondary.read(infoAt, chunk.subarray(0, 4));
      total = Math.min(infoAt + readU16LE(chunk, 2), this.#capacity);
    } catch (error) {
      if (error instanceof OtaError) throw new OtaError('image-invalid', `secondary slot: ${error.message}`, { cause: error });
      throw error;
    }
    const verifier = new McubootImageVerifier({ sha256: this.#sha256, maxImageBytes: this.#capacity });
    for (let at = 0; at < total; at += READ_BYTES) {
      const piece = chunk.subarray(0, Math.min(READ_BYTES, total - at));
      await this.#secondary.read(at, piece);
      verifier.write(piece);
    }
    const verdict = await verifier.end();
    if (!verdict.valid) throw new OtaError('image-invalid', `secondary slot: ${verdict.problem}`);
  }
}
