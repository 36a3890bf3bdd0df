// Portable streaming gunzip: the gzip member framing (RFC 1952: header, CRC-32 and ISIZE trailer) is
// parsed here, the DEFLATE body (RFC 1951) is inflated by fflate's streaming Inflate.
import { Inflate as FflateInflate } from 'fflate';
import { crc32Update } from '../core/crc32.ts';
import { OtaError } from '../core/errors.ts';
import type { Inflate, InflateStream } from './inflate.ts';

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;
const FIXED_HEADER_BYTES = 10;
const TRAILER_BYTES = 8;
const EMPTY: Uint8Array = new Uint8Array(0);

// fflate exposes no end-of-stream position; its own Gunzip reads these fields of Inflate the same
// way (fflate 0.8: `s.f` final block seen, `s.l` block in progress, `s.p` bit position in `p`).
interface FflateInternals {
  s: { f?: number; l?: unknown; p?: number };
  p: Uint8Array;
}

type Phase = 'header' | 'body' | 'trailer';

class GunzipStream implements InflateStream {
  #phase: Phase = 'header';
  #ended = false;
  // Gzip header state: bytes seen of the fixed part, flags, and what is still to skip.
  #fixed = new Uint8Array(FIXED_HEADER_BYTES); // 10 B: ID1 ID2 CM FLG MTIME(4) XFL OS
  #fixedLength = 0;
  #flags = 0;
  #xlenBytes = 0; // of the 2-byte FEXTRA length, read so far
  #extraRemaining = 0; // FEXTRA payload bytes left to skip
  #hcrcBytes = 0; // of the 2-byte header CRC, skipped so far
  #trailer = new Uint8Array(TRAILER_BYTES); // 8 B: CRC-32 and ISIZE, little-endian
  #trailerLength = 0;
  #compressedBytes = 0; // position in the gzip stream, for messages
  #crc = 0xffffffff;
  #size = 0; // uncompressed bytes mod 2^32, as ISIZE counts
  #inflater: FflateInflate;
  #output: Uint8Array[] = [];

  constructor() {
    this.#inflater = new FflateInflate((data: Uint8Array) => {
      if (data.length > 0) this.#output.push(data);
    });
  }

  push(compressed: Uint8Array): Uint8Array {
    if (this.#ended) throw new Error('InflateStream.push() after end()');
    if (!(compressed instanceof Uint8Array)) throw new TypeError(`"compressed" expected a Uint8Array, got ${typeof compressed}`);
    let at = 0;
    if (this.#phase === 'header') at = this.#readHeader(compressed);
    let out: Uint8Array = EMPTY;
    if (at < compressed.length) {
      if (this.#phase === 'body') out = this.#inflate(compressed.subarray(at), false, at);
      else this.#takeTrailer(compressed.subarray(at));
    }
    this.#compressedBytes += compressed.length;
    return out;
  }

  end(): Uint8Array {
    if (this.#ended) throw new Error('InflateStream.end() called twice');
    this.#ended = true;
    let out: Uint8Array = EMPTY;
    if (this.#phase === 'header') this.#fail(`truncated gzip header (${this.#compressedBytes} bytes)`);
    if (this.#phase === 'body') out = this.#inflate(EMPTY, true, 0);
    if (this.#phase !== 'trailer') this.#fail('truncated deflate data: the final block never ended');
    if (this.#trailerLength < TRAILER_BYTES) this.#fail(`truncated gzip trailer: ${this.#trailerLength} of ${TRAILER_BYTES} bytes`);
    const view = new DataView(this.#trailer.buffer);
    const crc = view.getUint32(0, true);
    const size = view.getUint32(4, true);
    const actualCrc = (this.#crc ^ 0xffffffff) >>> 0;
    if (crc !== actualCrc) this.#fail(`gzip trailer: CRC-32 expected 0x${hex32(crc)}, got 0x${hex32(actualCrc)}`);
    if (size !== this.#size) this.#fail(`gzip trailer: ISIZE expected ${size}, got ${this.#size}`);
    return out;
  }

  #fail(message: string, cause?: unknown): never {
    throw new OtaError('artifact-format', message, { cause });
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
      if (f[0] !== 0x1f || f[1] !== 0x8b) this.#fail(`gzip header: expected magic 1f8b, got ${hex8(f[0]!)}${hex8(f[1]!)}`);
      if (f[2] !== 8) this.#fail(`gzip header: expected compression method 8 (deflate), got ${f[2]}`);
      if (f[3]! & FRESERVED) this.#fail(`gzip header: reserved flag bits set (flags 0x${hex8(f[3]!)})`);
      this.#flags = f[3]!;
    }
    // Optional fields in RFC 1952 order; each flag is cleared once its field is consumed.
    while (this.#flags & (FEXTRA | FNAME | FCOMMENT | FHCRC)) {
      if (at >= bytes.length) return at;
      if (this.#flags & FEXTRA) {
        if (this.#xlenBytes < 2) {
          this.#extraRemaining += bytes[at++]! << (8 * this.#xlenBytes++); // XLEN, little-endian
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
        // Header CRC-16, skipped: the trailer's CRC-32 covers the content that matters.
        at++;
        if (++this.#hcrcBytes === 2) this.#flags &= ~FHCRC;
      }
    }
    this.#phase = 'body';
    return at;
  }

  #inflate(bytes: Uint8Array, final: boolean, offset: number): Uint8Array {
    const inflater = this.#inflater;
    const internals = inflater as unknown as FflateInternals;
    this.#output.length = 0;
    try {
      inflater.push(bytes, final && !(internals.s.f && !internals.s.l));
    } catch (error) {
      const at = this.#compressedBytes + offset;
      this.#fail(`invalid deflate data in the push starting at gzip byte ${at}: ${(error as Error).message}`, error);
    }
    const out = this.#output.length === 1 ? this.#output[0]! : joinAll(this.#output);
    this.#output.length = 0;
    if (out.length > 0) {
      this.#crc = crc32Update(this.#crc, out);
      this.#size = (this.#size + out.length) >>> 0;
    }
    if (internals.s.f && !internals.s.l) {
      // The final block ended: what fflate still holds after it is the trailer (and maybe junk).
      const rest = internals.p.subarray(((internals.s.p ?? 0) + 7) >> 3);
      internals.p = EMPTY;
      this.#phase = 'trailer';
      this.#takeTrailer(rest);
    }
    return out;
  }

  #takeTrailer(bytes: Uint8Array): void {
    if (this.#trailerLength + bytes.length > TRAILER_BYTES) {
      this.#fail(`unexpected data after the gzip member: ${this.#trailerLength + bytes.length - TRAILER_BYTES} bytes past the trailer`);
    }
    this.#trailer.set(bytes, this.#trailerLength);
    this.#trailerLength += bytes.length;
  }

}

function joinAll(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 0) return EMPTY;
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function hex8(value: number): string {
  return value.toString(16).padStart(2, '0');
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}

export const inflateFflate: Inflate = {
  gunzip(): InflateStream {
    return new GunzipStream();
  },
};
