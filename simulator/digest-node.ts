// SHA-256 from node:crypto: the simulated boards' "native" digest (a real board has one in
// hardware or in its SDK), also what the XS harness offers its guest over the bridge.
import { createHash } from 'node:crypto';
import type { Sha256Factory } from '../platform/digest.ts';

export const sha256Node: Sha256Factory = () => {
  const hash = createHash('sha256');
  return { update: (bytes) => void hash.update(bytes), digest: () => new Uint8Array(hash.digest()) };
};
