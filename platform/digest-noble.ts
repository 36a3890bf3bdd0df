// Portable streaming SHA-256 over @noble/hashes (FIPS 180-4). Boards with a native hash use theirs.
import { sha256 } from '@noble/hashes/sha2.js';
import type { Digest, Sha256Factory } from './digest.ts';

export const sha256Noble: Sha256Factory = (): Digest => {
  const hash = sha256.create();
  return {
    update(bytes: Uint8Array): void {
      hash.update(bytes);
    },
    digest(): Uint8Array {
      return hash.digest();
    },
  };
};
