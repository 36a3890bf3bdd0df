// A small MCUboot board for tests: two 32 KiB slots of 2 KiB sectors (STM32-like, 8-byte granule)
// on one power rail, a signing key, and images built by the imgtool-like builder.
import { generateKeyPairSync } from 'node:crypto';
import { NorFlash } from '../../../simulator/board/nor-flash.ts';
import { PowerRail } from '../../../simulator/board/power.ts';
import { bootMcuboot } from '../../../simulator/board/mcuboot-bootloader.ts';
import { buildMcubootImage } from '../../../simulator/mcuboot-imgtool.ts';
import { createMcubootBootControl } from '../../../platform/boot-control-mcuboot.ts';
import { parsePublicKeyPem } from '../../../platform/public-key.ts';
import { verifierNoble } from '../../../platform/verifier-noble.ts';
import { sha256Noble } from '../../../platform/digest-noble.ts';
import type { BootControl } from '../../../platform/boot-control.ts';
import type { PublicKey } from '../../../platform/verifier.ts';

export const SLOT_BYTES = 32 * 1024;
export const SECTOR_BYTES = 2048;

const signing = generateKeyPairSync('ed25519');
export const privateKeyPem = signing.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
export const publicKey: PublicKey = parsePublicKeyPem(signing.publicKey.export({ type: 'spki', format: 'pem' }) as string);

/** A signed image whose payload is `payloadBytes` bytes derived from the version. */
export function image(version: string, payloadBytes = 6000, pem = privateKeyPem): Uint8Array {
  const payload = new Uint8Array(payloadBytes);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + version.length * 7 + version.charCodeAt(0)) & 0xff;
  return buildMcubootImage({ version, payload, privateKeyPem: pem });
}

export interface Rig {
  power: PowerRail;
  primary: NorFlash;
  secondary: NorFlash;
  bootControl: BootControl;
  boot(): ReturnType<typeof bootMcuboot>;
}

export function rig(options: { factory?: Uint8Array; writeGranule?: number; key?: PublicKey | null } = {}): Rig {
  const power = new PowerRail(7);
  const geometry = { byteLength: SLOT_BYTES, sectorBytes: SECTOR_BYTES, writeGranule: options.writeGranule ?? 8, power };
  const primary = new NorFlash(geometry);
  const secondary = new NorFlash(geometry);
  primary.program(0, options.factory ?? image('1.0.0+1'));
  const key = options.key === null ? undefined : (options.key ?? publicKey);
  return {
    power,
    primary,
    secondary,
    bootControl: createMcubootBootControl({ primary, secondary, sha256: sha256Noble }),
    boot: () => bootMcuboot({ primary, secondary, key, verifier: verifierNoble, sha256: sha256Noble }),
  };
}

/** Writes `bytes` into the inactive slot in uneven chunks and finishes. */
export async function writeSlot(bootControl: BootControl, bytes: Uint8Array, chunk = 1000): Promise<void> {
  const writer = await bootControl.openInactiveSlot();
  for (let at = 0; at < bytes.length; at += chunk) await writer.write(bytes.subarray(at, at + chunk));
  await writer.finish();
}
