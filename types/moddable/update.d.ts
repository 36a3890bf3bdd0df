// embedded:update (ECMA-419 3rd ed. §28 Update), as Moddable's typings/embedded/update.d.ts
// declares it (SDK @ 9f61127a). Implemented on ESP32 only (modules/io/update/esp32).
declare module 'embedded:update' {
  import type { Flash } from 'embedded:storage/flash';

  export interface UpdateOpenOptions {
    /** The target partition, opened read-write; keep it open until complete(). */
    partition: Flash;
    /** "a" (default): esp_ota_begin(OTA_WITH_SEQUENTIAL_WRITES); "w": random access, erases byteLength (or all) at open. */
    mode?: 'a' | 'w';
    byteLength?: number;
  }

  export interface Updater {
    /** Aborts (esp_ota_abort) unless completed; may be called repeatedly. */
    close(): void;
    /** esp_ota_end (validates the image) then esp_ota_set_boot_partition. Does not restart. */
    complete(): void;
    write(bytes: ByteBuffer): void;
    write(bytes: ByteBuffer, byteOffset: number): void;
    format: 'buffer';
  }

  const Update: {
    open(options: UpdateOpenOptions): Updater;
  };

  export default Update;
}
