// Digest: streaming SHA-256. Native on devices where it exists (ESP32 `crypt`), noble elsewhere.

/** One running hash. `update` borrows its argument; `digest` ends it (further calls throw Error). */
export interface Digest {
  update(bytes: Uint8Array): void;
  /** The 32-byte SHA-256 of everything passed to `update`. */
  digest(): Uint8Array;
}

/** Makes a new SHA-256 hash; the factory is what boards provide. */
export type Sha256Factory = () => Digest;
