// The 'zephyr-image' update module (mender-mcu's name for an MCUboot image payload): the image goes
// into the secondary slot through BootControl, is checked as MCUboot's bootutil_img_validate would
// while it streams, and boots once as a test (research/mcuboot-espidf-delta.md §1.5–§1.6).
import { McubootImageVerifier, parseMcubootHeader, type McubootVerdict } from '../../platform/mcuboot-image.ts';
import { OtaError } from '../../base/errors.ts';
import { checkMinimumImage, imageLifecycle } from './image-lifecycle.ts';
import { SlotDownload, readSlot } from './slot-download.ts';
import type { ModuleDownload, PayloadFacts, UpdateModule, UpdateModuleContext } from './update-module.ts';

const TYPE = 'zephyr-image';
const HEADER_BYTES = 32; // struct image_header
const TLV_INFO_BYTES = 4; // struct image_tlv_info

/** The download plus its streaming verifier; its verdict is taken in `verify`. */
class ZephyrDownload extends SlotDownload {
  readonly verifier: McubootImageVerifier;

  constructor(context: UpdateModuleContext) {
    const verifier = new McubootImageVerifier({ sha256: context.board.sha256, verifier: context.board.verifier, key: context.bootKey });
    super({
      bootControl: context.board.bootControl,
      payloadType: TYPE,
      headerBytes: HEADER_BYTES,
      onHeader: (first, file, slotBytes) => {
        const info = parseMcubootHeader(first);
        // The TLV info follows header, image and protected TLVs; the verifier checks the rest.
        const tlvInfoEnd = info.headerSize + info.imageSize + info.protectedTlvSize + TLV_INFO_BYTES;
        if (tlvInfoEnd > slotBytes) {
          throw new OtaError('image-invalid', `${TYPE} "${file.name}": MCUboot image ${info.version} needs at least ${tlvInfoEnd} bytes, the inactive slot takes at most ${slotBytes}`);
        }
        if (tlvInfoEnd > file.size) {
          throw new OtaError('image-invalid', `${TYPE} "${file.name}": MCUboot header says at least ${tlvInfoEnd} bytes (header, image and TLV info), the file has ${file.size}`);
        }
      },
      tap: (bytes) => verifier.write(bytes),
    });
    this.verifier = verifier;
  }
}

/** Judges a verdict against the configured boot key; throws OtaError naming the failed check. */
export function checkVerdict(verdict: McubootVerdict, bootKeyConfigured: boolean): string {
  const version = verdict.info?.version ?? '(unknown version)';
  if (verdict.info === undefined || verdict.hash !== 'valid') {
    throw new OtaError('image-invalid', `MCUboot image ${version}: ${verdict.problem ?? `hash ${verdict.hash}`}`);
  }
  if (bootKeyConfigured) {
    if (verdict.signature === 'absent') {
      throw new OtaError('signature-missing', `MCUboot image ${version}: unsigned, but a boot key is configured (${verdict.problem ?? 'no signature TLV'})`);
    }
    if (verdict.signature !== 'valid' || verdict.keyHashMatches === false) {
      throw new OtaError('signature-invalid', `MCUboot image ${version}: ${verdict.problem ?? `signature ${verdict.signature}`}`);
    }
  }
  return verdict.info.version;
}

/** Re-checks the image stored in the inactive slot (after a reset lost the streaming verdict). */
async function verifyStored(context: UpdateModuleContext, fileSize: number | undefined): Promise<McubootVerdict> {
  const { bootControl, sha256, verifier } = context.board;
  const first = new Uint8Array(HEADER_BYTES);
  await bootControl.readInactiveSlot(0, first);
  const info = parseMcubootHeader(first);
  const { inactiveSlotBytes } = await bootControl.state();
  const size = fileSize ?? inactiveSlotBytes; // past the TLVs the verifier only counts bytes
  if (size > inactiveSlotBytes) {
    throw new OtaError('image-invalid', `${TYPE}: stored MCUboot image ${info.version} has ${size} bytes, the slot holds ${inactiveSlotBytes}`);
  }
  const check = new McubootImageVerifier({ sha256, verifier, key: context.bootKey });
  await readSlot(bootControl, size, (part) => check.write(part));
  return check.end();
}

// Made once, when the module is evaluated (preloaded on a device: in flash). createZephyrImageModule
// hands out copies sharing these functions: an object literal per call would make new closures,
// each a function object and a copy of its byte code in RAM.
const ZEPHYR_IMAGE = Object.freeze<UpdateModule>({
  type: TYPE,
  needsReboot: true,
  download(context): ModuleDownload {
    return new ZephyrDownload(context);
  },
  async verify(context, download, stored): Promise<PayloadFacts> {
    let verdict: McubootVerdict;
    if (download instanceof ZephyrDownload && download.isComplete) {
      verdict = await download.verifier.end();
    } else {
      verdict = await verifyStored(context, stored.fileSize);
    }
    const version = checkVerdict(verdict, context.bootKey !== undefined);
    checkMinimumImage(context, TYPE, version, verdict.securityCounter);
    context.log('info', `${TYPE}: MCUboot image ${version} verified (hash valid, signature ${verdict.signature})`);
    return { version };
  },
  ...imageLifecycle(TYPE),
});

export function createZephyrImageModule(): UpdateModule {
  return { ...ZEPHYR_IMAGE };
}
