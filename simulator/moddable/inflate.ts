// Emulation of Moddable's `inflate` (modules/data/zlib/inflate.js + inflate.c over miniz): zlib
// (windowBits 15) or raw deflate (-15); push() hands the output to this.onData in pieces of at most
// 1 KiB, calls this.onEnd(0) when the stream ends and leaves the unused input count in
// strm.avail_in; corrupt data closes the stream and throws "bad zlib data". The inflating itself
// is Node's zlib (native, like miniz on the device).
import type { RemoteRef } from '../xs/guest/bridge.ts';
import { bytesOf, native, nativeOn } from './guest-bridge.ts';

const handles = new WeakMap<object, RemoteRef>();

export default class Inflate {
  chunks: ArrayBuffer[] = [];
  strm = { avail_in: 0 };
  onData: (chunk: ArrayBuffer) => void;
  onEnd: (err: number) => void;
  result: Uint8Array | undefined;
  err: number | undefined;

  constructor(options: { windowBits?: number } = {}) {
    const windowBits = options.windowBits ?? 15;
    if (windowBits !== 15 && windowBits !== -15) throw new RangeError('invalid windowBits');
    handles.set(this, native('inflateCreate', windowBits) as RemoteRef);
    // The SDK's defaults: collect the pieces, join them into `result` at the end.
    this.onData = (chunk: ArrayBuffer) => {
      this.chunks.push(chunk);
    };
    this.onEnd = (err: number) => {
      this.err = err;
      if (err) return;
      let total = 0;
      for (const chunk of this.chunks) total += chunk.byteLength;
      const result = new Uint8Array(total);
      let at = 0;
      for (const chunk of this.chunks) {
        result.set(new Uint8Array(chunk), at);
        at += chunk.byteLength;
      }
      this.result = result;
    };
  }

  push(buffer: ArrayBuffer | ArrayBufferView, _end?: boolean): void {
    const ref = handles.get(this);
    if (ref === undefined) throw new Error('closed');
    let outcome: { pieces: Uint8Array[]; remaining: number; ended: boolean };
    try {
      outcome = nativeOn(ref, 'push', bytesOf(buffer, 'push')) as typeof outcome;
    } catch (error) {
      this.close();
      throw error;
    }
    for (const piece of outcome.pieces) this.onData.call(this, piece.slice().buffer);
    if (outcome.ended) {
      this.close();
      this.onEnd.call(this, 0);
    }
    this.strm.avail_in = outcome.remaining;
  }

  close(): void {
    const ref = handles.get(this);
    if (ref === undefined) return;
    handles.delete(this);
    nativeOn(ref, 'close');
  }
}
