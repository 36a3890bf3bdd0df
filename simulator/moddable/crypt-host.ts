// The Node side of crypt's Digest (crypt.ts): node:crypto, native code from XS's point of view.
import { createHash, type Hash } from 'node:crypto';

export class HostHash {
  readonly #hash: Hash;
  constructor(type: string) {
    this.#hash = createHash(type.toLowerCase().replace(/^sha(\d)/, 'sha$1'));
  }
  update(bytes: Uint8Array): void {
    this.#hash.update(bytes);
  }
  close(): Uint8Array {
    return new Uint8Array(this.#hash.digest());
  }
}
