// The signature verifier for Moddable boards: noble's, loaded the first time a signature is
// checked. The client is preloaded (its code and constants linked into flash), but noble cannot be:
// on XS 17.9.1 a preloaded module's buffers and collections are read-only ("read-only buffer" for
// @noble/hashes' SHA-2 scratch arrays, "read-only WeakMap instance" for noble-curves' caches), and
// a BigInt constant made at preload time never compares equal to one made at run time (noble's
// `n === _0n`). So the build puts noble in a module of its own that is not preloaded
// (scripts/build-board.mjs), and this is the only way the board reaches it.
import type { SignatureScheme, PublicKey, Verifier } from '../../platform/verifier.ts';

export const verifierOnDemand: Verifier = Object.freeze({
  async verify(scheme: SignatureScheme, key: PublicKey, signed: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const { verifierNoble } = await import('../../platform/verifier-noble.ts');
    return verifierNoble.verify(scheme, key, signed, signature);
  },
});
