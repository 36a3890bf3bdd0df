// SHA-256 over Moddable's native `crypt` Digest (KCL fips180.c): C speed, no JS loop per byte.
import { Digest as NativeDigest } from 'crypt';
import type { Digest, Sha256Factory } from '../../platform/digest.ts';

export const sha256Crypt: Sha256Factory = (): Digest => new CryptSha256();

// A class rather than an object literal per digest: its methods stay in flash on a preloaded device.
class CryptSha256 implements Digest {
  readonly #native = new NativeDigest('SHA256');
  #done = false;

  update(bytes: Uint8Array): void {
    if (this.#done) throw new Error('Digest.update after digest()');
    this.#native.write(bytes);
  }

  digest(): Uint8Array {
    if (this.#done) throw new Error('Digest.digest called twice');
    this.#done = true;
    return new Uint8Array(this.#native.close());
  }
}
