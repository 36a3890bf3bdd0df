// inflate (modules/data/zlib/inflate.js + inflate.c, miniz): zlib (windowBits 15) or raw deflate
// (-15). push() calls onData(ArrayBuffer of ≤ 1 KiB) for each piece of output and onEnd(0) at the
// end of the stream, and leaves the input bytes after the end in strm.avail_in. Corrupt data
// throws Error("bad zlib data"). No typing ships with the SDK.
declare module 'inflate' {
  export default class Inflate {
    constructor(options?: { windowBits?: 15 | -15 });
    onData: (chunk: ArrayBuffer) => void;
    onEnd: (err: number) => void;
    readonly strm: { avail_in: number };
    push(buffer: ArrayBuffer | ArrayBufferView, end?: boolean): void;
    close(): void;
  }
}
