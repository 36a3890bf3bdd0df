// A public-key flag (--key, --boot-key, --artifact-key): the PEM file read and parsed, a failure
// naming the flag and the file.
import { readFileSync } from 'node:fs';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import type { PublicKey } from '../../platform/verifier.ts';

export function readPublicKeyFlag(flag: string, path: string): PublicKey {
  try {
    return parsePublicKeyPem(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${flag} ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
}
