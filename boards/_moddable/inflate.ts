// Gunzip over Moddable's native `inflate` (miniz, raw deflate with windowBits -15): the gzip
// framing is platform/gzip-member.ts, because the native module speaks zlib or raw deflate only.
// Output of one push is what that input produced; the native hands it over in pieces of at most
// 1 KiB (its kOutputBufferSize).
import NativeInflate from 'inflate';
import { GzipMember, type DeflateDecoder } from '../../platform/gzip-member.ts';
import type { Inflate, InflateStream } from '../../platform/inflate.ts';

class NativeBody implements DeflateDecoder {
  readonly #native: NativeInflate;
  #streamEnded = false;
  tail: Uint8Array | undefined;

  constructor(emit: (piece: Uint8Array) => void) {
    this.#native = new NativeInflate({ windowBits: -15 });
    // A fresh ArrayBuffer per piece (xsmcSetArrayBuffer copies out of the 1 KiB output buffer).
    this.#native.onData = (chunk: ArrayBuffer) => emit(new Uint8Array(chunk));
    this.#native.onEnd = (err: number) => {
      if (err !== 0) throw new Error(`deflate stream ended with zlib status ${err}`);
      this.#streamEnded = true;
    };
  }

  push(bytes: Uint8Array, last: boolean): void {
    if (bytes.length > 0) this.#native.push(bytes);
    // The native leaves the input past the end of the stream unread, counted in strm.avail_in.
    if (this.#streamEnded) this.tail = bytes.subarray(bytes.length - this.#native.strm.avail_in);
    else if (last) this.#native.close();
  }
}

export const inflateNative: Inflate = Object.freeze({
  // miniz keeps its window between pushes, so a small push costs one call: 64 compressed bytes
  // yield at most ~66 KiB, even for the 0xff padding of an image that fills its slot.
  pushBytes: 64,
  gunzip(): InflateStream {
    return new GzipMember((emit) => new NativeBody(emit), { checkCrc: false }); // SHA-256 covers the bytes
  },
});
