// The 'esp-ota' update module: an ESP-IDF app image into the inactive ota_N partition through
// BootControl, then esp_ota_set_boot_partition with rollback enabled (a PENDING_VERIFY trial boot).
// Checks as esp_ota_write/esp_ota_end would: magic 0xE9, the app description's version, and the
// appended SHA-256 when the header says there is one (research/mcuboot-espidf-delta.md §3.5).
import type { Digest, Sha256Factory } from '../../platform/digest.ts';
import { readEspAppVersion, readEspSecureVersion } from '../../platform/esp-app-image.ts';
import { equalBytes, toHex } from '../../base/bytes.ts';
import { OtaError } from '../../base/errors.ts';
import { checkMinimumImage, imageLifecycle } from './image-lifecycle.ts';
import { SlotDownload, readSlot } from './slot-download.ts';
import type { ModuleDownload, PayloadFacts, UpdateModule, UpdateModuleContext } from './update-module.ts';

const TYPE = 'esp-ota';
/** esp_image_header_t (24) + the first segment header (8) + esp_app_desc_t (256). */
const HEADER_BYTES = 288;
const HASH_APPENDED_AT = 23;
const SHA256_BYTES = 32;

/** Streaming check of the appended SHA-256: hashes all but the last 32 bytes, keeps those 32. */
class AppendedHashCheck {
  readonly #digest: Digest;
  readonly #hashedBytes: number;
  readonly #stored = new Uint8Array(SHA256_BYTES); // the image's own trailing SHA-256
  #seen = 0;

  constructor(sha256: Sha256Factory, imageBytes: number) {
    this.#digest = sha256();
    this.#hashedBytes = imageBytes - SHA256_BYTES;
  }

  write(bytes: Uint8Array): void {
    const hashed = Math.max(0, Math.min(bytes.length, this.#hashedBytes - this.#seen));
    if (hashed > 0) this.#digest.update(bytes.subarray(0, hashed));
    if (hashed < bytes.length) this.#stored.set(bytes.subarray(hashed), this.#seen + hashed - this.#hashedBytes);
    this.#seen += bytes.length;
  }

  /** Undefined when the image's hash matches, else the problem. */
  problem(): string | undefined {
    const actual = this.#digest.digest();
    return equalBytes(actual, this.#stored) ? undefined : `appended SHA-256 ${toHex(this.#stored)} does not match the image's ${toHex(actual)}`;
  }
}

interface EspFacts {
  version: string;
  secureVersion: number; // esp_app_desc_t secure_version (anti-rollback)
  hashAppended: boolean;
}

function readHeader(first: Uint8Array, name: string, size: number, slotBytes: number): EspFacts {
  if (size > slotBytes) {
    throw new OtaError('image-invalid', `${TYPE} "${name}": ${size} bytes, the inactive partition takes at most ${slotBytes}`);
  }
  const version = readEspAppVersion(first);
  const hashAppended = first[HASH_APPENDED_AT] === 1;
  if (hashAppended && size < HEADER_BYTES + SHA256_BYTES) {
    throw new OtaError('image-invalid', `${TYPE} "${name}": ${size} bytes, too short for an app image with an appended SHA-256`);
  }
  return { version, secureVersion: readEspSecureVersion(first), hashAppended };
}

/** What the download learnt, filled in by the header callback and the tap. */
interface EspProgress {
  facts?: EspFacts;
  check?: AppendedHashCheck;
  headerSeen: number; // bytes of the image start the tap has skipped (onHeader fed them to the check)
}

class EspDownload extends SlotDownload {
  readonly progress: EspProgress;

  constructor(context: UpdateModuleContext) {
    const progress: EspProgress = { headerSeen: 0 };
    super({
      bootControl: context.board.bootControl,
      payloadType: TYPE,
      headerBytes: HEADER_BYTES,
      onHeader: (first, file, slotBytes) => {
        progress.facts = readHeader(first, file.name, file.size, slotBytes);
        if (progress.facts.hashAppended) {
          progress.check = new AppendedHashCheck(context.board.sha256, file.size);
          progress.check.write(first);
        }
      },
      tap: (bytes) => {
        const skip = Math.min(bytes.length, HEADER_BYTES - progress.headerSeen);
        progress.headerSeen += skip;
        if (skip < bytes.length) progress.check?.write(bytes.subarray(skip));
      },
    });
    this.progress = progress;
  }
}

/** Re-reads the stored image when a reset lost the streaming check: needs its size, so the record keeps it. */
async function verifyStored(context: UpdateModuleContext, imageBytes: number): Promise<EspFacts> {
  const { bootControl, sha256 } = context.board;
  const { inactiveSlotBytes } = await bootControl.state();
  const first = new Uint8Array(HEADER_BYTES);
  await bootControl.readInactiveSlot(0, first);
  const facts = readHeader(first, '(stored)', imageBytes, inactiveSlotBytes);
  if (!facts.hashAppended) return facts;
  const check = new AppendedHashCheck(sha256, imageBytes);
  await readSlot(bootControl, imageBytes, (part) => check.write(part));
  const problem = check.problem();
  if (problem !== undefined) throw new OtaError('image-invalid', `${TYPE} app ${facts.version}: ${problem}`);
  return facts;
}

// Made once, when the module is evaluated (preloaded on a device: in flash). createEspOtaModule
// hands out copies sharing these functions: an object literal per call would make new closures,
// each a function object and a copy of its byte code in RAM.
const ESP_OTA = Object.freeze<UpdateModule>({
  type: TYPE,
  needsReboot: true,
  download(context): ModuleDownload {
    return new EspDownload(context);
  },
  async verify(context, download, stored): Promise<PayloadFacts> {
    let facts: EspFacts;
    if (download instanceof EspDownload && download.isComplete && download.progress.facts !== undefined) {
      facts = download.progress.facts;
      const problem = download.progress.check?.problem();
      if (problem !== undefined) throw new OtaError('image-invalid', `${TYPE} app ${facts.version}: ${problem}`);
    } else {
      if (stored.fileSize === undefined) throw new OtaError('image-invalid', `${TYPE}: the stored image's size is unknown; cannot re-check it`);
      facts = await verifyStored(context, stored.fileSize);
    }
    checkMinimumImage(context, TYPE, facts.version, facts.secureVersion);
    context.log('info', `${TYPE}: app ${facts.version} checked (${facts.hashAppended ? 'appended SHA-256 valid' : 'no appended SHA-256'})`);
    return { version: facts.version };
  },
  ...imageLifecycle(TYPE),
});

export function createEspOtaModule(): UpdateModule {
  return { ...ESP_OTA };
}
