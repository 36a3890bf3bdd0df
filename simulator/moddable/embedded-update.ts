// Emulation of ECMA-419 `embedded:update` as Moddable's ESP32 build implements it
// (modules/io/update/esp32/update-esp32.c): open() runs esp_ota_begin — append mode
// OTA_WITH_SEQUENTIAL_WRITES, "w" mode erasing byteLength (or the whole partition) — write() is
// esp_ota_write / esp_ota_write_with_offset, complete() is esp_ota_end + esp_ota_set_boot_partition,
// close() aborts an unfinished update. The esp_ota_* calls run in Node over the ESP-IDF model.
import type { RemoteRef } from '../xs/guest/bridge.ts';
import { partitionRef } from './embedded-storage-flash.ts';
import { bytesOf, native, nativeOn } from './guest-bridge.ts';

const handles = new WeakMap<object, RemoteRef>();

class Updater {
  constructor() {
    throw new TypeError('use open()');
  }

  write(buffer: ArrayBuffer | ArrayBufferView, byteOffset?: number): void {
    const ref = handles.get(this);
    if (ref === undefined) throw new Error('closed');
    if (arguments.length > 1) nativeOn(ref, 'write', bytesOf(buffer, 'write'), byteOffset);
    else nativeOn(ref, 'write', bytesOf(buffer, 'write'));
  }

  complete(): void {
    const ref = handles.get(this);
    if (ref === undefined) throw new Error('closed');
    nativeOn(ref, 'complete');
  }

  close(): void {
    const ref = handles.get(this);
    if (ref === undefined) return;
    handles.delete(this);
    nativeOn(ref, 'close');
  }

  get format(): 'buffer' {
    return 'buffer';
  }

  set format(value: string) {
    if (value !== 'buffer') throw new RangeError('unsupported');
  }
}

function open(options: { partition?: unknown; mode?: unknown; byteLength?: unknown; format?: unknown }): Updater {
  if (options?.partition === undefined) throw new Error('no partition');
  const partition = partitionRef(options.partition);
  if (partition === undefined) throw new Error('partition not found');
  let mode = 'a';
  if (options.mode !== undefined) {
    mode = String(options.mode);
    if (mode !== 'a' && mode !== 'w') throw new RangeError('invalid mode');
  }
  if (options.format !== undefined && options.format !== 'buffer') throw new RangeError('unsupported');
  let byteLength: number | undefined;
  if (options.byteLength !== undefined) {
    byteLength = Number(options.byteLength);
    if (Number.isNaN(byteLength) || byteLength < 0 || byteLength > 0xffffffff) throw new RangeError('invalid byteLength');
  }
  const ref = native('updateOpen', partition, mode, byteLength) as RemoteRef;
  const updater = Object.create(Updater.prototype) as Updater;
  handles.set(updater, ref);
  return updater;
}

export default Object.freeze({ open });
