// One gzip member (RFC 1952) as a streaming InflateStream: the header, the CRC-32 and ISIZE trailer
// are parsed here, once for every board; the raw DEFLATE body (RFC 1951) goes to a decoder (fflate
// in Node, Moddable's native inflate on devices). Runs on XS.
import { joinBytes, readU32LE } from '../base/bytes.ts';
import { crc32Update } from '../base/crc32.ts';
import { OtaError } from '../base/errors.ts';
import type { InflateStream } from './inflate.ts';

/** The raw DEFLATE decoder under a gzip member; output goes to the `emit` it was opened with. */
export interface DeflateDecoder {
  /**
   * Inflates the next body bytes; `last` says no more input follows. Corrupt data throws an Error
   * whose message says what the decoder saw (the member adds where in the stream).
   */
  push(bytes: Uint8Array, last: boolean): void;
  /**
   * Undefined while the DEFLATE stream goes on; after the push in which its final block ended, the
   * input bytes past that end (the start of the trailer, or more).
   */
  readonly tail: Uint8Array | undefined;
}

export type OpenDeflateDecoder = (emit: (piece: Uint8Array) => void) => DeflateDecoder;

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;
const FIXED_HEADER_BYTES = 10;
const TRAILER_BYTES = 8;
const EMPTY: Uint8Array = new Uint8Array(0);

type Phase = 'header' | 'body' | 'trailer';

export class GzipMember implements InflateStream {
  #phase: Phase = 'header';
  #ended = false;
  // Gzip header state: bytes seen of the fixed part, flags, and what is still to skip.
  readonly #fixed = new Uint8Array(FIXED_HEADER_BYTES); // 10 B: ID1 ID2 CM FLG MTIME(4) XFL OS
  #fixedLength = 0;
  #flags = 0;
  #xlenBytes = 0; // of the 2-byte FEXTRA length, read so far
  #extraRemaining = 0; // FEXTRA payload bytes left to skip
  #hcrcBytes = 0; // of the 2-byte header CRC, skipped so far
  readonly #trailer = new Uint8Array(TRAILER_BYTES); // 8 B: CRC-32 and ISIZE, little-endian
  #trailerLength = 0;
  #position = 0; // gzip bytes pushed before the current push, for messages
  #crc = 0xffffffff;
  #size = 0; // uncompressed bytes mod 2^32, as ISIZE counts
  readonly #decoder: DeflateDecoder;
  #pieces: Uint8Array[] = []; // the current push's output, as the decoder hands it over
  readonly #checkCrc: boolean;

  /**
   * `checkCrc: false` skips the trailer's CRC-32 (ISIZE is still checked). The CRC is a per-byte
   * JS loop: 30.6 M XS operations per MiB (measured in xsnap), 6% of a JS SHA-256 and more than the
   * core's whole budget next to a native digest. A board whose inflate is native skips it because
   * the artifact's SHA-256 checksums already cover every inflated byte.
   */
  constructor(open: OpenDeflateDecoder, options: { checkCrc?: boolean } = {}) {
    this.#checkCrc = options.checkCrc ?? true;
    this.#decoder = open((piece) => {
      if (piece.length > 0) this.#pieces.push(piece);
    });
  }

  push(compressed: Uint8Array): Uint8Array {
    if (this.#ended) throw new Error('InflateStream.push() after end()');
    if (!(compressed instanceof Uint8Array)) throw new TypeError(`"compressed" expected a Uint8Array, got ${typeof compressed}`);
    const at = this.#phase === 'header' ? this.readHeader(compressed) : 0;
    let out: Uint8Array = EMPTY;
    if (at < compressed.length) {
      if (this.#phase === 'body') out = this.inflate(compressed.subarray(at), false, at);
      else this.takeTrailer(compressed.subarray(at));
    }
    this.#position += compressed.length;
    return out;
  }

  end(): Uint8Array {
    if (this.#ended) throw new Error('InflateStream.end() called twice');
    this.#ended = true;
    let out: Uint8Array = EMPTY;
    if (this.#phase === 'header') this.fail(`truncated gzip header (${this.#position} bytes)`);
    if (this.#phase === 'body') out = this.inflate(EMPTY, true, 0);
    if (this.#phase !== 'trailer') this.fail('truncated deflate data: the final block never ended');
    if (this.#trailerLength < TRAILER_BYTES) this.fail(`truncated gzip trailer: ${this.#trailerLength} of ${TRAILER_BYTES} bytes`);
    const crc = readU32LE(this.#trailer, 0);
    const size = readU32LE(this.#trailer, 4);
    const actualCrc = (this.#crc ^ 0xffffffff) >>> 0;
    if (this.#checkCrc && crc !== actualCrc) this.fail(`gzip trailer: CRC-32 expected 0x${hex(crc, 8)}, got 0x${hex(actualCrc, 8)}`);
    if (size !== this.#size) this.fail(`gzip trailer: ISIZE expected ${size}, got ${this.#size}`);
    return out;
  }

  /** Consumes header bytes; returns the index of the first byte after them. */
  private readHeader(bytes: Uint8Array): number {
    let at = 0;
    if (this.#fixedLength < FIXED_HEADER_BYTES) {
      const take = Math.min(FIXED_HEADER_BYTES - this.#fixedLength, bytes.length);
      this.#fixed.set(bytes.subarray(0, take), this.#fixedLength);
      this.#fixedLength += take;
      at = take;
      if (this.#fixedLength < FIXED_HEADER_BYTES) return at;
      const f = this.#fixed;
      if (f[0] !== 0x1f || f[1] !== 0x8b) this.fail(`gzip header: expected magic 1f8b, got ${hex(f[0]!, 2)}${hex(f[1]!, 2)}`);
      if (f[2] !== 8) this.fail(`gzip header: expected compression method 8 (deflate), got ${f[2]}`);
      if (f[3]! & FRESERVED) this.fail(`gzip header: reserved flag bits set (flags 0x${hex(f[3]!, 2)})`);
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

  /** Inflates body bytes that start `offset` bytes into the current push; returns their output. */
  private inflate(bytes: Uint8Array, last: boolean, offset: number): Uint8Array {
    this.#pieces.length = 0;
    try {
      this.#decoder.push(bytes, last);
    } catch (error) {
      this.fail(`invalid deflate data in the push starting at gzip byte ${this.#position + offset}: ${(error as Error).message}`, error);
    }
    const out = joinBytes(this.#pieces); // a list, never spread: thousands of pieces would overflow the XS stack
    this.#pieces.length = 0;
    if (out.length > 0) {
      if (this.#checkCrc) this.#crc = crc32Update(this.#crc, out);
      this.#size = (this.#size + out.length) >>> 0;
    }
    const tail = this.#decoder.tail;
    if (tail !== undefined) {
      this.#phase = 'trailer';
      this.takeTrailer(tail);
    }
    return out;
  }

  private takeTrailer(bytes: Uint8Array): void {
    if (this.#trailerLength + bytes.length > TRAILER_BYTES) {
      this.fail(`unexpected data after the gzip member: ${this.#trailerLength + bytes.length - TRAILER_BYTES} bytes past the trailer`);
    }
    this.#trailer.set(bytes, this.#trailerLength);
    this.#trailerLength += bytes.length;
  }

  private fail(message: string, cause?: unknown): never {
    throw new OtaError('artifact-format', message, { cause });
  }
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}
