// Shared set-up for the board ports under XS: a simulated device of the board's kind, its first
// image, and images to update to (ESP-IDF app images for esp32, signed MCUboot images for stm32).
import { generateKeyPairSync } from 'node:crypto';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import { buildEspAppImage } from '../../simulator/esp-app-image-builder.ts';
import { buildMcubootImage } from '../../simulator/mcuboot-imgtool.ts';
import { SimDevice, type SimDeviceOptions } from '../../simulator/board/sim-device.ts';
import type { ModdableBoardName } from '../../simulator/moddable/bundle.ts';

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
  readonly board: ModdableBoardName;
  readonly kind: SimDeviceOptions['kind'];
  /** The region the flash conformance suite may erase at will. */
  readonly scratchRegion: string;
  makeImage(version: string, payloadBytes?: number): Uint8Array;
  device(options?: Partial<SimDeviceOptions>): SimDevice;
}

export const RIGS: readonly BoardRig[] = [
  {
    board: 'esp32',
    kind: 'esp-idf',
    scratchRegion: 'nextota',
    makeImage: (version, payloadBytes = 6000) => buildEspAppImage({ version, payload: payload(version, payloadBytes) }),
    device(options = {}) {
      return new SimDevice({ kind: 'esp-idf', firstImage: this.makeImage('1.0.0+0'), slotBytes: 256 * 1024, seed: 7, ...options });
    },
  },
  {
    board: 'stm32',
    kind: 'mcuboot',
    scratchRegion: 'secondary',
    makeImage: (version, payloadBytes = 6000) => buildMcubootImage({ version, payload: payload(version, payloadBytes), privateKeyPem: bootKeyPrivatePem }),
    device(options = {}) {
      return new SimDevice({ kind: 'mcuboot', firstImage: this.makeImage('1.0.0+0'), bootKey: parsePublicKeyPem(bootKeyPem), slotBytes: 128 * 1024, seed: 7, ...options });
    },
  },
];
