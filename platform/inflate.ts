// Inflate: streaming gzip decompression (fflate portable, Moddable native inflate on devices).

/**
 * One gzip member being decompressed. Output is bounded by the caller: push at most
 * `Inflate.pushBytes` compressed bytes at once, and each call returns what that input produced.
 * Returned arrays are owned by the caller until the next call. Corrupt or truncated input throws
 * OtaError('artifact-format') naming the problem.
 */
export interface InflateStream {
  push(compressed: Uint8Array): Uint8Array;
  /** Ends the stream: returns the last output; throws when the gzip member is incomplete. */
  end(): Uint8Array;
}

export interface Inflate {
  /**
   * The most compressed bytes to push at once. DEFLATE expands at most about 1032:1, so one push
   * returns at most ~1032 × pushBytes: this bounds the memory a push can take. It matters: an
   * image padded with 0xff to its slot compresses at nearly that ratio.
   */
  readonly pushBytes: number;
  /** A decompressor for one gzip stream (RFC 1952), checking its CRC-32 and length trailer. */
  gunzip(): InflateStream;
}
