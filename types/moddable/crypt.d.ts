// crypt (modules/crypt/digest/crypt.js): the native KCL digests. Moddable's typings/crypt.d.ts
// types write() with ArrayBuffer only; the native (modCrypt.c resolveBuffer) takes any byte buffer.
declare module 'crypt' {
  type DigestType = 'MD5' | 'SHA1' | 'SHA224' | 'SHA256' | 'SHA384' | 'SHA512';

  export class Digest {
    constructor(type: DigestType);
    write(message: string | ByteBuffer): void;
    /** The digest; the context is freed (write after close throws). */
    close(): ArrayBuffer;
    reset(): void;
    get blockSize(): number;
    get outputSize(): number;
    update(message: string | ByteBuffer): void;
  }
}
