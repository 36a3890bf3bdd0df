// Emulation of ECMA-419 `embedded:storage/flash` as Moddable implements it (modules/io/flash/
// esp32/flash-esp32.c, zephyr/flash-zephyr.c): open({path, mode}) by partition name, eraseBlock
// in blocks of status().blockLength, read/write at byte offsets, the same error texts. The
// partitions live in Node (simulator/moddable/host.ts) over the simulated board's NOR flash.
import type { RemoteRef } from '../xs/guest/bridge.ts';
import { bytesOf, native, nativeOn } from './guest-bridge.ts';

const handles = new WeakMap<object, RemoteRef>();

/** The host partition behind a Flash instance (embedded:update takes a Flash as its target). */
export function partitionRef(flash: unknown): RemoteRef | undefined {
  return typeof flash === 'object' && flash !== null ? handles.get(flash) : undefined;
}

function handle(flash: Flash): RemoteRef {
  const ref = handles.get(flash);
  if (ref === undefined) throw new Error('closed');
  return ref;
}

export class Flash {
  constructor() {
    throw new TypeError('use open()');
  }

  close(): void {
    const ref = handles.get(this);
    if (ref === undefined) return;
    handles.delete(this);
    nativeOn(ref, 'close');
  }

  eraseBlock(start: number, end?: number): void {
    nativeOn(handle(this), 'eraseBlock', Math.trunc(start), end === undefined ? Math.trunc(start) + 1 : Math.trunc(end));
  }

  read(target: number | ArrayBuffer | ArrayBufferView, byteOffset: number): ArrayBuffer | number {
    const ref = handle(this);
    if (typeof target === 'number') {
      const bytes = nativeOn(ref, 'read', Math.trunc(byteOffset), Math.trunc(target)) as Uint8Array;
      return bytes.slice().buffer;
    }
    const into = bytesOf(target, 'read');
    into.set(nativeOn(ref, 'read', Math.trunc(byteOffset), into.length) as Uint8Array);
    return into.length;
  }

  write(buffer: ArrayBuffer | ArrayBufferView, byteOffset: number): void {
    nativeOn(handle(this), 'write', Math.trunc(byteOffset), bytesOf(buffer, 'write'));
  }

  status(): Record<string, number> {
    return nativeOn(handle(this), 'status') as Record<string, number>;
  }

  get format(): 'buffer' {
    handle(this);
    return 'buffer';
  }

  set format(value: string) {
    if (value !== 'buffer') throw new RangeError('unsupported');
  }
}

function open(options: { path?: unknown; mode?: unknown; format?: unknown }): Flash {
  if (options?.path === undefined) throw new Error('no path');
  const mode = options.mode === undefined ? 'r+' : String(options.mode);
  if (mode !== 'r' && mode !== 'r+') throw new Error('invalid mode');
  if (options.format !== undefined && options.format !== 'buffer') throw new RangeError('unsupported');
  const ref = native('flashOpen', String(options.path), mode) as RemoteRef;
  const flash = Object.create(Flash.prototype) as Flash;
  handles.set(flash, ref);
  return flash;
}

export default Object.freeze({
  open,
  *[Symbol.iterator](): IterableIterator<string> {
    yield* native('flashNames') as string[];
  },
});
