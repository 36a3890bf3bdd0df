// KeyValue over ECMA-419 `embedded:storage/key-value` in "buffer" format: ESP-IDF NVS (path = the
// namespace) on ESP32, Zephyr settings on Zephyr. Both commit each write before returning, and NVS
// keeps the old entry until the new one is complete, so a set is atomic across a reset.
import keyValueStorage, { type Storage } from 'embedded:storage/key-value';
import { OtaError } from '../../base/errors.ts';
import { KEY_MAX_CHARS, type KeyValue } from '../../platform/key-value.ts';

const KEY_PATTERN = /^[\x20-\x7e]+$/;

export interface StorageKeyValueOptions {
  /** The namespace (NVS: at most 15 characters). */
  readonly path: string;
  /** Largest value; NVS blobs span pages, but the client's records stay under 2 KiB. */
  readonly maxValueBytes: number;
}

export class StorageKeyValue implements KeyValue {
  readonly maxValueBytes: number;
  readonly #path: string;
  readonly #storage: Storage;

  constructor(options: StorageKeyValueOptions) {
    if (options.path.length < 1 || options.path.length > KEY_MAX_CHARS) {
      throw new RangeError(`"path" expected a namespace of 1..${KEY_MAX_CHARS} characters, got ${JSON.stringify(options.path)}`);
    }
    this.#path = options.path;
    this.maxValueBytes = options.maxValueBytes;
    this.#storage = this.#native('open', '', () => keyValueStorage.open({ path: options.path, mode: 'r+', format: 'buffer' }));
  }

  get(key: string): Uint8Array | undefined {
    checkKey(key);
    const value = this.#native('read', key, () => this.#storage.read(key));
    if (value === undefined) return undefined;
    if (!(value instanceof ArrayBuffer)) throw new OtaError('storage-corrupt', `key-value "${this.#path}/${key}": expected a buffer, got ${typeof value}`);
    return new Uint8Array(value);
  }

  set(key: string, value: Uint8Array): void {
    checkKey(key);
    if (value.length > this.maxValueBytes) {
      throw new RangeError(`key-value "${this.#path}/${key}": value of ${value.length} bytes, at most ${this.maxValueBytes}`);
    }
    this.#native('write', key, () => this.#storage.write(key, value));
  }

  delete(key: string): void {
    checkKey(key);
    this.#native('delete', key, () => this.#storage.delete(key));
  }

  #native<T>(what: string, key: string, call: () => T): T {
    try {
      return call();
    } catch (error) {
      // "mismatch" (TypeError): the key holds another format — a record this store did not write.
      const code = error instanceof TypeError ? 'storage-corrupt' : 'flash-io';
      throw new OtaError(code, `key-value "${this.#path}${key ? `/${key}` : ''}": ${what}: ${(error as Error).message}`, { cause: error });
    }
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length < 1 || key.length > KEY_MAX_CHARS || !KEY_PATTERN.test(key)) {
    throw new RangeError(`"key" expected 1..${KEY_MAX_CHARS} printable ASCII characters, got ${JSON.stringify(key)}`);
  }
}
