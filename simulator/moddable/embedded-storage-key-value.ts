// Emulation of ECMA-419 `embedded:storage/key-value` as Moddable's ESP32 build implements it over
// NVS (modules/io/storage/esp32/storage-esp32.c): open({path, mode, format}), read/write/delete per
// key in the instance's format, "mismatch" (TypeError) when a key holds another type, errors named
// by their ESP-IDF code (ESP_ERR_NVS_KEY_TOO_LONG, …). The store lives in Node, over the board's
// simulated NVS partition, so it survives resets and power cuts exactly as the simulator's does.
import type { RemoteRef } from '../xs/guest/bridge.ts';
import { bytesOf, native, nativeOn } from './guest-bridge.ts';

const FORMATS = ['buffer', 'string', 'uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'uint64', 'int64'];

interface State {
  readonly ref: RemoteRef;
  format: string;
  readonly readOnly: boolean;
}

const states = new WeakMap<object, State>();

function stateOf(storage: object): State {
  const state = states.get(storage);
  if (state === undefined) throw new Error('closed');
  return state;
}

export class Storage {
  constructor() {
    throw new TypeError('use open()');
  }

  close(): void {
    const state = states.get(this);
    if (state === undefined) return;
    states.delete(this);
    nativeOn(state.ref, 'close');
  }

  delete(key: string): void {
    const state = stateOf(this);
    if (state.readOnly) throw new Error('read-only');
    nativeOn(state.ref, 'delete', String(key));
  }

  read(key: string, buffer?: ArrayBuffer | ArrayBufferView): unknown {
    const state = stateOf(this);
    const value = nativeOn(state.ref, 'read', String(key), state.format) as Uint8Array | string | number | bigint | undefined;
    if (value === undefined || state.format !== 'buffer') return value;
    const bytes = value as Uint8Array;
    if (arguments.length > 1) {
      const into = bytesOf(buffer, 'read');
      if (into.length < bytes.length) throw new RangeError('buffer too small');
      into.set(bytes);
      return bytes.length;
    }
    return bytes.slice().buffer;
  }

  write(key: string, value: unknown): void {
    const state = stateOf(this);
    if (state.readOnly) throw new Error('read-only');
    const encoded = state.format === 'buffer' ? bytesOf(value, 'write') : state.format === 'string' ? String(value) : value;
    nativeOn(state.ref, 'write', String(key), state.format, encoded);
  }

  *[Symbol.iterator](): IterableIterator<string> {
    yield* nativeOn(stateOf(this).ref, 'keys') as string[];
  }

  get format(): string {
    return stateOf(this).format;
  }

  set format(value: string) {
    const state = stateOf(this);
    if (!FORMATS.includes(value)) throw new RangeError('unsupported');
    state.format = value;
  }
}

function open(options: { path?: unknown; mode?: unknown; format?: unknown }): Storage {
  if (options?.path === undefined) throw new Error('no path');
  let path = String(options.path);
  if (path.length === 0) throw new Error('invalid');
  if (path.endsWith('/')) path = path.slice(0, -1);
  const mode = options.mode === undefined ? 'r+' : String(options.mode);
  if (mode !== 'r' && mode !== 'r+') throw new Error('invalid mode');
  const format = options.format === undefined ? 'buffer' : String(options.format);
  if (!FORMATS.includes(format)) throw new RangeError('unsupported');
  const ref = native('keyValueOpen', path, mode) as RemoteRef;
  const storage = Object.create(Storage.prototype) as Storage;
  states.set(storage, { ref, format, readOnly: mode === 'r' });
  return storage;
}

export default Object.freeze({ open });
