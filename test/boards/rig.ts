// Shared set-up for the board ports under XS, one rig per board of the catalogue (boards/*/board.json):
// a simulated device of the board's kind on the board's own flash part (its description's sector,
// write granule and erase block), its first image, and images to update to (ESP-IDF app images for
// the esp-idf kind, signed MCUboot images for the mcuboot kind).
import { generateKeyPairSync } from 'node:crypto';
import { imageCapacity, trailerLayout } from '../../platform/mcuboot-trailer.ts';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import { buildEspAppImage } from '../../simulator/esp-app-image-builder.ts';
import { buildMcubootImage } from '../../simulator/mcuboot-imgtool.ts';
import { SimDevice, type FlashGeometry, type SimDeviceOptions } from '../../simulator/board/sim-device.ts';
import { readBoards, type BoardDescription } from '../../scripts/boards.mjs';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
export const bootKeyPrivatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
export const bootKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

function payload(version: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = version.length * 7919 + version.charCodeAt(version.length - 1);
  for (let i = 0; i < bytes; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

export interface BoardRig {
  readonly board: string;
  readonly description: BoardDescription;
  readonly kind: SimDeviceOptions['kind'];
  readonly payloadType: string;
  /** The identity attribute the board reports by default. */
  readonly identityKey: string;
  /** The region the flash conformance suite may erase at will. */
  readonly scratchRegion: string;
  /** The board's flash part, as its description gives it. */
  readonly flash: FlashGeometry;
  /** Each slot of the simulated device: smaller than the board's (speed), same part. */
  readonly slotBytes: number;
  makeImage(version: string, payloadBytes?: number): Uint8Array;
  device(options?: Partial<SimDeviceOptions>): SimDevice;
}

/** Test slots: this much in whole erase units (the ESP32 slot writer erases ahead by block)… */
const TEST_SLOT_BYTES = 256 * 1024;
/**
 * …grown by sectors until MCUboot's trailer, in its own last sector(s), leaves this much for an
 * image, and at least two sectors: the resume test needs a sector boundary inside the image.
 */
const TEST_IMAGE_ROOM = 128 * 1024;

/** The smallest slot of the board's part that the suites fit in; never more than the board's own. */
function testSlotBytes(description: BoardDescription): number {
  const { sectorBytes, writeGranule, eraseBlockBytes, slotBytes } = description.flash;
  const unit = eraseBlockBytes ?? sectorBytes;
  let bytes = Math.ceil(TEST_SLOT_BYTES / unit) * unit;
  const room = (n: number) => imageCapacity(trailerLayout({ slotBytes: n, writeGranule, maxImageSectors: n / sectorBytes }), sectorBytes);
  if (description.kind === 'mcuboot') while (room(bytes) < Math.max(TEST_IMAGE_ROOM, 2 * sectorBytes)) bytes += sectorBytes;
  if (bytes > slotBytes) throw new RangeError(`boards/${description.name}: its ${slotBytes}-byte slots are smaller than the ${bytes} bytes the board suites need`);
  return bytes;
}

function rigFor(description: BoardDescription): BoardRig {
  const { sectorBytes, writeGranule, eraseBlockBytes } = description.flash;
  const flash: FlashGeometry = { sectorBytes, writeGranule, ...(eraseBlockBytes !== undefined ? { eraseBlockBytes } : {}) };
  const slotBytes = testSlotBytes(description);
  const base = { board: description.name, description, kind: description.kind, payloadType: description.payloadType, flash, slotBytes };
  if (description.kind === 'esp-idf') {
    return {
      ...base,
      identityKey: 'mac',
      scratchRegion: 'nextota',
      makeImage: (version, payloadBytes = 6000) => buildEspAppImage({ version, payload: payload(version, payloadBytes) }),
      device(options = {}) {
        return new SimDevice({ kind: 'esp-idf', flash, firstImage: this.makeImage('1.0.0+0'), slotBytes, seed: 7, ...options });
      },
    };
  }
  return {
    ...base,
    identityKey: 'device_id',
    scratchRegion: 'secondary',
    makeImage: (version, payloadBytes = 6000) => buildMcubootImage({ version, payload: payload(version, payloadBytes), privateKeyPem: bootKeyPrivatePem }),
    device(options = {}) {
      return new SimDevice({ kind: 'mcuboot', flash, firstImage: this.makeImage('1.0.0+0'), bootKey: parsePublicKeyPem(bootKeyPem), slotBytes, seed: 7, ...options });
    },
  };
}

export const RIGS: readonly BoardRig[] = readBoards().map(rigFor);
