// Inflate: streaming gzip decompression (fflate portable, Moddable native inflate on devices).

/**
 * One gzip member being decompressed. Output is bounded by the caller: feed bounded input slices
 * (the artifact reader uses at most 4 KiB per push), and each call returns what that input produced.
 * Returned arrays are owned by the caller until the next call. Corrupt or truncated input throws
 * OtaError('artifact-format') naming the problem.
 */
export interface InflateStream {
  push(compressed: Uint8Array): Uint8Array;
  /** Ends the stream: returns the last output; throws when the gzip member is incomplete. */
  end(): Uint8Array;
}

export interface Inflate {
  /** A decompressor for one gzip stream (RFC 1952), checking its CRC-32 and length trailer. */
  gunzip(): InflateStream;
}
