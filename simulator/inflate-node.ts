// Inflate over node:zlib, for the CLI on a host (`ota-mcu inspect`): zlib's C inflate is 3–4× faster
// than fflate in V8. The gzip framing stays platform/gzip-member.ts (the same header parsing and
// error messages as every board); zlib inflates the raw DEFLATE body and zlib.crc32 checks the
// trailer's CRC-32 (the member's own CRC is a JS loop, as slow as the inflate itself here).
//
// The Inflate interface is synchronous and node:zlib has no public synchronous streaming call: the
// `*Sync` functions are one-shot and close their stream. This file calls the one step they are
// built on, `stream._handle.writeSync()` with its result in `stream._writeState` (lib/zlib.js's
// processChunkSync; checked here on Node 20). If that shape or zlib.crc32 (Node >= 20.15) is
// missing, `inflateNode` is fflate's with larger pushes: the CLI still works, only slower;
// `inflateNodeIsNative` says which one runs.
import * as zlib from 'node:zlib';
import { readU32LE } from '../base/bytes.ts';
import { OtaError } from '../base/errors.ts';
import { GzipMember, type DeflateDecoder } from '../platform/gzip-member.ts';
import type { Inflate, InflateStream } from '../platform/inflate.ts';

/** The compressed bytes per push: up to ~16 MiB of output on a pathological 1032:1 stream. */
const PUSH_BYTES = 16 * 1024;
/** One output buffer, reused across pushes (a push's output is the caller's until the next call). */
const OUT_BYTES = 256 * 1024;

/** The internal zlib handle step behind zlib's `*Sync` functions (lib/zlib.js processChunkSync). */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
}
interface ZlibInternals {
  _handle?: ZlibHandle | null;
  _writeState?: Uint32Array; // after writeSync: [available output, available input]
}

type Crc32 = (data: Uint8Array, value?: number) => number;
const crc32: Crc32 | undefined = (zlib as { crc32?: Crc32 }).crc32; // Node >= 20.15

/** A raw DEFLATE decoder on one zlib stream; see DeflateDecoder for `tail`. */
class ZlibBody implements DeflateDecoder {
  tail: Uint8Array | undefined;
  readonly #stream: zlib.InflateRaw;
  readonly #handle: ZlibHandle;
  readonly #state: Uint32Array;
  readonly #emit: (piece: Uint8Array) => void;
  #out = new Uint8Array(OUT_BYTES);

  constructor(emit: (piece: Uint8Array) => void) {
    this.#emit = emit;
    this.#stream = zlib.createInflateRaw();
    this.#stream.on('error', () => {}); // reported synchronously below; no 'error' event left unheard
    const internals = this.#stream as unknown as ZlibInternals;
    this.#handle = internals._handle!;
    this.#state = internals._writeState!;
  }

  push(bytes: Uint8Array, last: boolean): void {
    if (this.tail !== undefined) {
      this.tail = bytes; // past the end already: all of it is the trailer (GzipMember checks it)
      return;
    }
    const flush = last ? zlib.constants.Z_FINISH : zlib.constants.Z_NO_FLUSH;
    let inOff = 0;
    let inLen = bytes.length;
    let outOff = 0;
    for (;;) {
      const outLen = this.#out.length - outOff;
      this.#handle.writeSync(flush, bytes, inOff, inLen, this.#out, outOff, outLen);
      if (this.#stream.destroyed) {
        // zlib's error callback ran inside writeSync: it destroyed the stream with the error.
        const error = this.#stream.errored;
        throw new Error(error instanceof Error ? error.message : 'zlib failed');
      }
      const outLeft = this.#state[0]!;
      const inLeft = this.#state[1]!;
      const produced = outLen - outLeft;
      inOff += inLen - inLeft;
      inLen = inLeft;
      outOff += produced;
      if (outLeft === 0) {
        // Output buffer full: hand it over and go on with a fresh one (the piece stays the caller's).
        this.#emit(this.#out);
        this.#out = new Uint8Array(OUT_BYTES);
        outOff = 0;
        continue;
      }
      // Room left in the output: zlib took all the input it wanted. Input left over, or the flush
      // with Z_FINISH succeeding, means the DEFLATE stream's final block ended.
      if (outOff > 0) this.#emit(this.#out.subarray(0, outOff));
      if (inLen > 0 || last) {
        this.tail = bytes.subarray(inOff);
        this.#stream.close();
      }
      return;
    }
  }
}

/** The gzip member over ZlibBody, its CRC-32 checked with zlib.crc32 against the trailer. */
class ZlibGunzip implements InflateStream {
  readonly #member = new GzipMember((emit) => new ZlibBody(emit), { checkCrc: false });
  readonly #crc32: Crc32;
  #crc = 0;
  readonly #last = new Uint8Array(8); // the last 8 compressed bytes: the trailer once end() passes
  #lastLength = 0;

  constructor(crc: Crc32) {
    this.#crc32 = crc;
  }

  push(compressed: Uint8Array): Uint8Array {
    const out = this.#member.push(compressed);
    this.#keepLast(compressed);
    if (out.length > 0) this.#crc = this.#crc32(out, this.#crc);
    return out;
  }

  end(): Uint8Array {
    const out = this.#member.end(); // header, body, trailer length and ISIZE
    if (out.length > 0) this.#crc = this.#crc32(out, this.#crc);
    const expected = readU32LE(this.#last, 0);
    if (expected !== this.#crc >>> 0) {
      throw new OtaError('artifact-format', `gzip trailer: CRC-32 expected 0x${hex(expected)}, got 0x${hex(this.#crc >>> 0)}`);
    }
    return out;
  }

  #keepLast(bytes: Uint8Array): void {
    const last = this.#last;
    if (bytes.length >= last.length) {
      last.set(bytes.subarray(bytes.length - last.length));
      this.#lastLength = last.length;
      return;
    }
    const keep = Math.min(this.#lastLength, last.length - bytes.length);
    last.copyWithin(0, this.#lastLength - keep, this.#lastLength);
    last.set(bytes, keep);
    this.#lastLength = keep + bytes.length;
  }
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** Whether node:zlib's synchronous step is there (else inflateNode falls back to fflate). */
export const inflateNodeIsNative: boolean = (() => {
  if (crc32 === undefined) return false;
  const internals = zlib.createInflateRaw() as unknown as ZlibInternals & zlib.InflateRaw;
  const ok = typeof internals._handle?.writeSync === 'function' && internals._writeState instanceof Uint32Array;
  internals.close();
  return ok;
})();

/**
 * The CLI's Inflate on Node: zlib when it can (see above), else fflate with 64 KiB pushes (loaded
 * only then: fflate takes ~20 ms to load, a quarter of the CLI's start).
 */
export const inflateNode: Inflate =
  crc32 !== undefined && inflateNodeIsNative
    ? { pushBytes: PUSH_BYTES, gunzip: () => new ZlibGunzip(crc32) }
    : { pushBytes: 64 * 1024, gunzip: (await import('../platform/inflate-fflate.ts')).inflateFflate.gunzip };
