// Shared set-up for the board ports under XS, one rig per board of the catalogue (boards/*/board.json):
// a simulated device of the board's kind, its first image, and images to update to (ESP-IDF app
// images for the esp-idf kind, signed MCUboot images for the mcuboot kind).
import { generateKeyPairSync } from 'node:crypto';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import { buildEspAppImage } from '../../simulator/esp-app-image-builder.ts';
import { buildMcubootImage } from '../../simulator/mcuboot-imgtool.ts';
import { SimDevice, type SimDeviceOptions } from '../../simulator/board/sim-device.ts';
import { readBoards, type BoardDescription } from '../../scripts/boards.mjs';
import { xsnapVariant } from '../../simulator/xs/xsnap-build.ts';

/**
 * ModdableBoot runs the boards on ota-mcu's 32-bit xsnap variant, compiled on first use (then
 * cached in .tmp/xsnap): a file's beforeAll(prepareXs, XS_BUILD_MS) pays for that build, so no
 * single test's timeout has to.
 */
export const prepareXs = async (): Promise<void> => void (await xsnapVariant(32));
export const XS_BUILD_MS = 600_000;

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
  makeImage(version: string, payloadBytes?: number): Uint8Array;
  device(options?: Partial<SimDeviceOptions>): SimDevice;
}

function rigFor(description: BoardDescription): BoardRig {
  const base = { board: description.name, description, kind: description.kind, payloadType: description.payloadType };
  if (description.kind === 'esp-idf') {
    return {
      ...base,
      identityKey: 'mac',
      scratchRegion: 'nextota',
      makeImage: (version, payloadBytes = 6000) => buildEspAppImage({ version, payload: payload(version, payloadBytes) }),
      device(options = {}) {
        return new SimDevice({ kind: 'esp-idf', firstImage: this.makeImage('1.0.0+0'), slotBytes: 256 * 1024, seed: 7, ...options });
      },
    };
  }
  return {
    ...base,
    identityKey: 'device_id',
    scratchRegion: 'secondary',
    makeImage: (version, payloadBytes = 6000) => buildMcubootImage({ version, payload: payload(version, payloadBytes), privateKeyPem: bootKeyPrivatePem }),
    device(options = {}) {
      return new SimDevice({ kind: 'mcuboot', firstImage: this.makeImage('1.0.0+0'), bootKey: parsePublicKeyPem(bootKeyPem), slotBytes: 128 * 1024, seed: 7, ...options });
    },
  };
}

export const RIGS: readonly BoardRig[] = readBoards().map(rigFor);
