// One boot of MCUboot in swap mode: read both trailers, decide the swap type (the table), validate
// the secondary before swapping, swap, leave the trailer state MCUboot leaves, validate the primary
// (MCUBOOT_VALIDATE_PRIMARY_SLOT), boot it. Facts: ../shared/research/mcuboot-espidf-delta.md §1.4-§1.6.
//
// The swap itself is modelled as atomic per boot: both slots are rewritten from snapshots with
// NorFlash.program, which the power rail does not interrupt. MCUboot's own swap-status records
// and their power-loss recovery are not modelled: the client cannot influence them, and MCUboot's
// simulator (sim/, run_perm_with_fails) already tests them. Every write the APPLICATION makes
// (slot contents, the request, the confirmation) goes through the Flash model and can be cut.
import { OtaError } from '../../base/errors.ts';
import { readU32LE, writeU32LE } from '../../base/bytes.ts';
import { IMAGE_MAGIC, McubootImageVerifier, type McubootVerdict } from '../../platform/mcuboot-image.ts';
import {
  bootMagic,
  decideSwapType,
  imageCapacity,
  readTrailer,
  trailerLayoutFor,
  type SwapType,
  type TrailerLayout,
} from '../../platform/mcuboot-trailer.ts';
import type { Sha256Factory } from '../../platform/digest.ts';
import type { PublicKey, Verifier } from '../../platform/verifier.ts';
import type { NorFlash } from './nor-flash.ts';

export interface McubootBootOptions {
  primary: NorFlash;
  secondary: NorFlash;
  /** The key the bootloader is built with; without it, images are checked by hash only. */
  key?: PublicKey;
  verifier: Verifier;
  sha256: Sha256Factory;
}

const ERASED = 0xff;
const SWAP_INFO_CODES: Record<Exclude<SwapType, 'none'>, number> = { test: 2, perm: 3, revert: 4 };

/** One boot of MCUboot (swap mode, test/perm/revert per the swap-type table). Returns what boots, or throws OtaError('image-invalid', 'no bootable image: …'). */
export async function bootMcuboot(options: McubootBootOptions): Promise<{ version: string; swap: SwapType }> {
  const { primary, secondary } = options;
  if (primary.byteLength !== secondary.byteLength || primary.sectorBytes !== secondary.sectorBytes) {
    throw new RangeError(`MCUboot swap needs equal slots, got primary ${primary.byteLength}/${primary.sectorBytes} and secondary ${secondary.byteLength}/${secondary.sectorBytes} (bytes/sector)`);
  }
  const primaryLayout = trailerLayoutFor(primary);
  const secondaryLayout = trailerLayoutFor(secondary);
  let swap = decideSwapType(await readTrailer(primary, primaryLayout), await readTrailer(secondary, secondaryLayout));

  if (swap !== 'none') {
    // boot_validate_slot(SECONDARY): an erased header with a trailer left → scramble the trailer;
    // an invalid image → scramble the slot; either way no swap (NONE).
    const image = secondary.snapshot();
    if (readU32LE(image, 0) === 0xffffffff) {
      eraseRange(secondary, imageCapacity(secondaryLayout, secondary.sectorBytes), secondary.byteLength);
      swap = 'none';
    } else if (!(await validate(image, secondary, secondaryLayout, options)).valid) {
      eraseRange(secondary, 0, secondary.byteLength);
      swap = 'none';
    }
  }
  if (swap !== 'none') {
    const secondaryTrailer = await readTrailer(secondary, secondaryLayout);
    swapSlots(primary, primaryLayout, secondary, secondaryLayout, swap, secondaryTrailer.imageOk === 'set');
  }

  const image = primary.snapshot();
  const verdict: McubootVerdict =
    readU32LE(image, 0) === IMAGE_MAGIC
      ? await validate(image, primary, primaryLayout, options)
      : { hash: 'invalid', signature: 'absent', signatureType: null, keyHashMatches: null, valid: false, problem: 'header magic is not 0x96f3b83d (erased or foreign data)' };
  if (!verdict.valid) throw new OtaError('image-invalid', `no bootable image: primary slot: ${verdict.problem}`);
  return { version: verdict.info!.version, swap };
}

async function validate(image: Uint8Array, slot: NorFlash, layout: TrailerLayout, options: McubootBootOptions): Promise<McubootVerdict> {
  const verifier = new McubootImageVerifier({
    sha256: options.sha256,
    verifier: options.verifier,
    key: options.key,
    maxImageBytes: imageCapacity(layout, slot.sectorBytes),
  });
  verifier.write(image.subarray(0, imageCapacity(layout, slot.sectorBytes)));
  return verifier.end();
}

/**
 * The end state of a swap (loader.c swap_status_init + boot_perform_update): the slots' images
 * exchanged; the primary trailer GOOD with swap_info = type, swap_size, image_ok SET for PERM
 * (the secondary's image_ok was SET) and REVERT, copy_done SET; the secondary trailer erased.
 */
function swapSlots(primary: NorFlash, primaryLayout: TrailerLayout, secondary: NorFlash, secondaryLayout: TrailerLayout, swap: Exclude<SwapType, 'none'>, secondaryImageOk: boolean): void {
  const oldPrimary = primary.snapshot();
  const newPrimary = secondary.snapshot();
  const primaryTrailerStart = imageCapacity(primaryLayout, primary.sectorBytes);
  newPrimary.fill(ERASED, primaryTrailerStart);
  newPrimary.set(bootMagic(primaryLayout.maxAlign), primaryLayout.magicOffset);
  newPrimary[primaryLayout.swapInfoOffset] = SWAP_INFO_CODES[swap];
  writeU32LE(newPrimary, primaryLayout.swapSizeOffset, primaryTrailerStart);
  if (secondaryImageOk || swap === 'perm' || swap === 'revert') newPrimary[primaryLayout.imageOkOffset] = 0x01;
  newPrimary[primaryLayout.copyDoneOffset] = 0x01;

  oldPrimary.fill(ERASED, imageCapacity(secondaryLayout, secondary.sectorBytes));
  primary.program(0, newPrimary);
  secondary.program(0, oldPrimary);
}

function eraseRange(slot: NorFlash, from: number, to: number): void {
  slot.program(from, new Uint8Array(to - from).fill(ERASED));
}
