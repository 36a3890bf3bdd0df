// Gunzip over Moddable's native `inflate` (miniz, raw deflate with windowBits -15): the gzip
// framing (RFC 1952 header and CRC-32/ISIZE trailer) is parsed here, because the native module
// speaks zlib or raw deflate only. Output of one push is what that input produced; the native
// hands it over in pieces of at most 1 KiB (its kOutputBufferSize).
import NativeInflate from 'inflate';
import { crc32Update } from '../../core/crc32.ts';
import { OtaError } from '../../core/errors.ts';
import type { Inflate, InflateStream } from '../../platform/inflate.ts';

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;
const FIXED_HEADER_BYTES = 10;
const TRAILER_BYTES = 8;
const EMPTY: Uint8Array = new Uint8Array(0);

type Phase = 'header' | 'body' | 'trailer';

class NativeGunzip implements InflateStream {
  #phase: Phase = 'header';
  #ended = false;
  readonly #fixed = new Uint8Array(FIXED_HEADER_BYTES); // 10 B: ID1 ID2 CM FLG MTIME XFL OS
  #fixedLength = 0;
  #flags = 0;
  #xlenBytes = 0;
  #extraRemaining = 0;
  #hcrcBytes = 0;
  readonly #trailer = new Uint8Array(TRAILER_BYTES); // 8 B: CRC-32 and ISIZE, little-endian
  #trailerLength = 0;
  #position = 0; // gzip bytes pushed before the current push, for messages
  #crc = 0xffffffff;
  #size = 0; // uncompressed bytes mod 2^32, as ISIZE counts
  readonly #native: NativeInflate;
  #pieces: Uint8Array[] = [];
  #streamEnded = false;

  constructor() {
    this.#native = new NativeInflate({ windowBits: -15 });
    this.#native.onData = (chunk: ArrayBuffer) => {
      // A fresh ArrayBuffer per piece (xsmcSetArrayBuffer copies out of the 1 KiB output buffer).
      this.#pieces.push(new Uint8Array(chunk));
    };
    this.#native.onEnd = (err: number) => {
      if (err !== 0) this.#fail(`deflate stream ended with zlib status ${err}`);
      this.#streamEnded = true;
    };
  }

  push(compressed: Uint8Array): Uint8Array {
    if (this.#ended) throw new Error('InflateStream.push() after end()');
    if (!(compressed instanceof Uint8Array)) throw new TypeError(`"compressed" expected a Uint8Array, got ${typeof compressed}`);
    let at = this.#phase === 'header' ? this.#readHeader(compressed) : 0;
    let out: Uint8Array = EMPTY;
    if (at < compressed.length && this.#phase === 'body') {
      const body = compressed.subarray(at);
      out = this.#inflate(body);
      at = (this.#phase as Phase) === 'trailer' ? compressed.length - this.#native.strm.avail_in : compressed.length;
    }
    if (at < compressed.length && (this.#phase as Phase) === 'trailer') this.#takeTrailer(compressed.subarray(at));
    this.#position += compressed.length;
    return out;
  }

  end(): Uint8Array {
    if (this.#ended) throw new Error('InflateStream.end() called twice');
    this.#ended = true;
    if (this.#phase === 'header') this.#fail(`truncated gzip header (${this.#position} bytes)`);
    if (this.#phase === 'body') {
      this.#native.close();
      this.#fail('truncated deflate data: the final block never ended');
    }
    if (this.#trailerLength < TRAILER_BYTES) this.#fail(`truncated gzip trailer: ${this.#trailerLength} of ${TRAILER_BYTES} bytes`);
    const view = new DataView(this.#trailer.buffer);
    const crc = view.getUint32(0, true);
    const size = view.getUint32(4, true);
    const actual = (this.#crc ^ 0xffffffff) >>> 0;
    if (crc !== actual) this.#fail(`gzip trailer: CRC-32 expected 0x${hex(crc, 8)}, got 0x${hex(actual, 8)}`);
    if (size !== this.#size) this.#fail(`gzip trailer: ISIZE expected ${size}, got ${this.#size}`);
    return EMPTY;
  }

  #inflate(body: Uint8Array): Uint8Array {
    this.#pieces = [];
    try {
      this.#native.push(body);
    } catch (error) {
      this.#fail(`invalid deflate data in the push starting at gzip byte ${this.#position}: ${(error as Error).message}`, error);
    }
    const out = join(this.#pieces);
    this.#pieces = [];
    if (out.length > 0) {
      this.#crc = crc32Update(this.#crc, out);
      this.#size = (this.#size + out.length) >>> 0;
    }
    if (this.#streamEnded) this.#phase = 'trailer';
    return out;
  }

  #takeTrailer(bytes: Uint8Array): void {
    if (this.#trailerLength + bytes.length > TRAILER_BYTES) {
      this.#fail(`unexpected data after the gzip member: ${this.#trailerLength + bytes.length - TRAILER_BYTES} bytes past the trailer`);
    }
    this.#trailer.set(bytes, this.#trailerLength);
    this.#trailerLength += bytes.length;
  }

  /** Consumes header bytes; returns the index of the first byte after them. */
  #readHeader(bytes: Uint8Array): number {
    let at = 0;
    if (this.#fixedLength < FIXED_HEADER_BYTES) {
      const take = Math.min(FIXED_HEADER_BYTES - this.#fixedLength, bytes.length);
      this.#fixed.set(bytes.subarray(0, take), this.#fixedLength);
      this.#fixedLength += take;
      at = take;
      if (this.#fixedLength < FIXED_HEADER_BYTES) return at;
      const f = this.#fixed;
      if (f[0] !== 0x1f || f[1] !== 0x8b) this.#fail(`gzip header: expected magic 1f8b, got ${hex(f[0]!, 2)}${hex(f[1]!, 2)}`);
      if (f[2] !== 8) this.#fail(`gzip header: expected compression method 8 (deflate), got ${f[2]}`);
      if (f[3]! & FRESERVED) this.#fail(`gzip header: reserved flag bits set (flags 0x${hex(f[3]!, 2)})`);
      this.#flags = f[3]!;
    }
    while (this.#flags & (FEXTRA | FNAME | FCOMMENT | FHCRC)) {
      if (at >= bytes.length) return at;
      if (this.#flags & FEXTRA) {
        if (this.#xlenBytes < 2) {
          this.#extraRemaining += bytes[at++]! << (8 * this.#xlenBytes++);
          continue;
        }
        const take = Math.min(this.#extraRemaining, bytes.length - at);
        at += take;
        this.#extraRemaining -= take;
        if (this.#extraRemaining === 0) this.#flags &= ~FEXTRA;
      } else if (this.#flags & (FNAME | FCOMMENT)) {
        const zero = bytes.indexOf(0, at);
        if (zero < 0) return bytes.length;
        at = zero + 1;
        this.#flags &= this.#flags & FNAME ? ~FNAME : ~FCOMMENT;
      } else {
        at++; // header CRC-16: the trailer's CRC-32 covers what matters
        if (++this.#hcrcBytes === 2) this.#flags &= ~FHCRC;
      }
    }
    this.#phase = 'body';
    return at;
  }

  #fail(message: string, cause?: unknown): never {
    throw new OtaError('artifact-format', message, { cause });
  }
}

function join(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 0) return EMPTY;
  if (pieces.length === 1) return pieces[0]!;
  let total = 0;
  for (const piece of pieces) total += piece.length;
  const out = new Uint8Array(total); // this push's output, sized exactly
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

export const inflateNative: Inflate = {
  gunzip(): InflateStream {
    return new NativeGunzip();
  },
};
