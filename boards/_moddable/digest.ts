// SHA-256 over Moddable's native `crypt` Digest (KCL fips180.c): C speed, no JS loop per byte.
import { Digest as NativeDigest } from 'crypt';
import type { Digest, Sha256Factory } from '../../platform/digest.ts';

export const sha256Crypt: Sha256Factory = (): Digest => {
  const native = new NativeDigest('SHA256');
  let done = false;
  return {
    update(bytes: Uint8Array): void {
      if (done) throw new Error('Digest.update after digest()');
      native.write(bytes);
    },
    digest(): Uint8Array {
      if (done) throw new Error('Digest.digest called twice');
      done = true;
      return new Uint8Array(native.close());
    },
  };
};
