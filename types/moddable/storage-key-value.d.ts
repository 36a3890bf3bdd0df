// embedded:storage/key-value (ECMA-419 §28 Key-Value), as Moddable's
// typings/embedded/storage/key-value.d.ts declares it (SDK @ 023e46a9). NVS on ESP32 (path = the
// namespace, names ≤ 15 characters), Zephyr settings on Zephyr.
declare module 'embedded:storage/key-value' {
  export interface StorageOpenOptions {
    format?: StorageFormat;
    path: string;
    mode?: 'r' | 'r+';
  }

  export type StorageFormat = 'buffer' | 'string' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'uint64' | 'int64';

  export class Storage {
    // Use the default export's open() method to create Storage instances
    close(): void;
    delete(key: string): void;
    /** undefined when the key is missing; TypeError "mismatch" when it was written in another format. */
    read(key: string): ArrayBuffer | string | number | bigint | undefined;
    read(key: string, buffer: ByteBuffer): number | undefined;
    write(key: string, value: ByteBuffer | string | number | bigint): void;
    [Symbol.iterator](): IterableIterator<string>;
    format: StorageFormat;
  }

  const KeyValueStorage: {
    open(options: StorageOpenOptions): Storage;
  };

  export default KeyValueStorage;
}
