// Emulation of Moddable's `crypt` Digest (modules/crypt/digest/crypt.js over modCrypt.c): a native
// hash, here Node's, one bridge call per write; write() takes a string or any byte buffer; after
// close() the context is gone and write throws, with the native's message.
import type { RemoteRef } from '../xs/guest/bridge.ts';
import { bytesOf, native, nativeOn } from './guest-bridge.ts';

const SUPPORTED = ['MD5', 'SHA1', 'SHA224', 'SHA256', 'SHA384', 'SHA512'];
const handles = new WeakMap<object, RemoteRef>();
const types = new WeakMap<object, string>();

export class Digest {
  constructor(type: string) {
    if (!SUPPORTED.includes(type)) throw new Error('crypt: unsupported digest');
    handles.set(this, native('digestCreate', type) as RemoteRef);
    types.set(this, type);
  }

  write(data: string | ArrayBuffer | ArrayBufferView): void {
    const ref = handles.get(this);
    if (ref === undefined) throw new Error("crypt: can't call digest write after close");
    nativeOn(ref, 'update', typeof data === 'string' ? new TextEncoder().encode(data) : bytesOf(data, 'crypt: write'));
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.write(data);
  }

  close(): ArrayBuffer {
    const ref = handles.get(this);
    if (ref === undefined) throw new Error("crypt: can't call digest close after close");
    handles.delete(this);
    const out = nativeOn(ref, 'close') as Uint8Array;
    return out.slice().buffer;
  }

  reset(): void {
    const ref = handles.get(this);
    if (ref !== undefined) nativeOn(ref, 'close');
    handles.set(this, native('digestCreate', types.get(this)) as RemoteRef);
  }

  get outputSize(): number {
    return { MD5: 16, SHA1: 20, SHA224: 28, SHA256: 32, SHA384: 48, SHA512: 64 }[types.get(this) as 'SHA256'];
  }

  get blockSize(): number {
    return types.get(this) === 'SHA384' || types.get(this) === 'SHA512' ? 128 : 64;
  }
}

export default Object.freeze({ Digest });
