// Portable streaming gunzip: the gzip member framing is platform/gzip-member.ts, the DEFLATE body
// (RFC 1951) is inflated by fflate's streaming Inflate.
import { Inflate as FflateInflate } from 'fflate';
import { GzipMember, type DeflateDecoder } from './gzip-member.ts';
import type { Inflate, InflateStream } from './inflate.ts';

const EMPTY: Uint8Array = new Uint8Array(0);

// fflate exposes no end-of-stream position; its own Gunzip reads these fields of Inflate the same
// way (fflate 0.8: `s.f` final block seen, `s.l` block in progress, `s.p` bit position in `p`).
interface FflateInternals {
  s: { f?: number; l?: unknown; p?: number };
  p: Uint8Array;
}

/**
 * After the final DEFLATE block ended: the input fflate still holds past it (which it drops, so
 * the next call returns EMPTY). Undefined while the stream goes on.
 */
export function fflateTail(inflater: FflateInflate): Uint8Array | undefined {
  const internals = inflater as unknown as FflateInternals;
  if (!internals.s.f || internals.s.l) return undefined;
  const rest = internals.p.subarray(((internals.s.p ?? 0) + 7) >> 3);
  internals.p = EMPTY;
  return rest;
}

class FflateBody implements DeflateDecoder {
  readonly #inflater: FflateInflate;
  tail: Uint8Array | undefined;

  constructor(emit: (piece: Uint8Array) => void) {
    this.#inflater = new FflateInflate(emit);
  }

  push(bytes: Uint8Array, last: boolean): void {
    this.#inflater.push(bytes, last);
    this.tail = fflateTail(this.#inflater);
  }
}

export const inflateFflate: Inflate = {
  // fflate copies its 32 KiB window on every push, so small pushes are slow; 4 KiB keeps it fast
  // for hosts and the simulator, where one push may return up to ~4 MiB. Devices use their native
  // inflate (boards/_moddable/inflate.ts), which keeps its window and takes small pushes cheaply.
  pushBytes: 4 * 1024,
  gunzip(): InflateStream {
    return new GzipMember((emit) => new FflateBody(emit));
  },
};
