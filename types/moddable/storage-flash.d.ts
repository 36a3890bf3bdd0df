// embedded:storage/flash (ECMA-419 §28 Flash), as Moddable's typings/embedded/storage/flash.d.ts
// declares it (SDK @ 8d4a9073). Note: the ESP32 status() returns only size, blockLength and blocks.
declare module 'embedded:storage/flash' {
  export interface FlashOpenOptions {
    /** Partition: a DATA label, or "running" / "nextota" (ESP32); a DT partition label (Zephyr). */
    path: string;
    mode?: 'r' | 'r+';
  }

  export interface FlashStatus {
    size: number;
    blockLength: number;
    blocks: number;
    writeAlign: number;
    eraseValue: number;
  }

  export class Flash {
    // Use the default export's open() method to create Flash instances
    close(): void;
    /** Erases blocks [start, end) (end defaults to start + 1). */
    eraseBlock(start: number, end?: number): void;
    read(byteLength: number, byteOffset: number): ArrayBuffer;
    read(buffer: ByteBuffer, byteOffset: number): number;
    write(buffer: ByteBuffer, byteOffset: number): void;
    status(): FlashStatus;
    format: 'buffer';
  }

  const FlashStorage: {
    open(options: FlashOpenOptions): Flash;
    [Symbol.iterator](): IterableIterator<string>;
  };

  export default FlashStorage;
}
