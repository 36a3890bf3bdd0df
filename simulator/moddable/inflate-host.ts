// The Node side of the SDK's inflate module (inflate.ts): miniz as the SDK drives it, over fflate.
import { Inflate as FflateInflate } from 'fflate';
import { joinBytes } from '../../base/bytes.ts';
import { fflateTail } from '../../platform/inflate-fflate.ts';
import { nativeError } from './native-errors.ts';

export const INFLATE_PIECE_BYTES = 1024; // inflate.c kOutputBufferSize

/**
 * miniz's inflate as the SDK drives it, over fflate's streaming Inflate (native code from XS's point
 * of view either way). fflate does not report where the deflate stream ended: fflateTail
 * (platform/inflate-fflate.ts) reads it from fflate's internals.
 */
export class HostInflate {
  readonly #inflater: FflateInflate;
  readonly #zlibHeader: boolean; // windowBits 15: a 2-byte zlib header first, a 4-byte Adler-32 after
  #headerLeft: number;
  #pieces: Uint8Array[] = [];
  #ended = false;

  constructor(windowBits: number) {
    this.#zlibHeader = windowBits === 15;
    this.#headerLeft = this.#zlibHeader ? 2 : 0;
    this.#inflater = new FflateInflate((data: Uint8Array) => {
      if (data.length > 0) this.#pieces.push(data);
    });
  }

  push(bytes: Uint8Array): { pieces: Uint8Array[]; remaining: number; ended: boolean } {
    if (this.#ended) throw nativeError('closed');
    const skip = Math.min(this.#headerLeft, bytes.length);
    this.#headerLeft -= skip;
    this.#pieces = [];
    try {
      this.#inflater.push(bytes.subarray(skip), false);
    } catch {
      this.#ended = true;
      throw nativeError('bad zlib data');
    }
    const tail = fflateTail(this.#inflater);
    const ended = tail !== undefined;
    let remaining = 0;
    if (ended) {
      this.#ended = true;
      remaining = Math.max(0, Math.min(tail.length, bytes.length) - (this.#zlibHeader ? 4 : 0));
    }
    const out = joinBytes(this.#pieces);
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < out.length; at += INFLATE_PIECE_BYTES) pieces.push(out.subarray(at, at + INFLATE_PIECE_BYTES));
    return { pieces, remaining, ended };
  }

  close(): void {
    this.#ended = true;
  }
}
