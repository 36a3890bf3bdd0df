// Builds a minimal but real ESP-IDF app image (esp_app_format.h): header with hash_appended, a DROM
// segment holding esp_app_desc_t, an IROM segment holding the payload, the XOR checksum byte at a
// 16-byte boundary, then the SHA-256 of everything before it. What esptool's elf2image lays out,
// minus an ELF: enough for the simulated bootloader to verify it as esp_image_verify does. Node only.
import { createHash } from 'node:crypto';
import { utf8, writeU32LE } from '../base/bytes.ts';
import {
  ESP_APP_DESC_BYTES, ESP_APP_DESC_MAGIC, ESP_IMAGE_HEADER_BYTES, ESP_IMAGE_MAGIC, ESP_SEGMENT_HEADER_BYTES,
} from '../platform/esp-app-image.ts';

const DROM_LOAD = 0x3f400020; // where ESP32's flash-mapped rodata starts (after the 0x20 header)
const IROM_LOAD = 0x400d0020;
const ENTRY = 0x40081000;
const CHECKSUM_SEED = 0xef;

export interface EspAppImageOptions {
  version: string; // at most 31 bytes (char[32] with its NUL)
  payload: Uint8Array;
  projectName?: string;
  secureVersion?: number;
}

export function buildEspAppImage(options: EspAppImageOptions): Uint8Array {
  const version = utf8(options.version);
  if (version.length === 0 || version.length > 31) {
    throw new RangeError(`"version" expected 1..31 bytes (esp_app_desc_t version[32]), got ${version.length}`);
  }
  const project = utf8(options.projectName ?? 'ota-mcu-sim');
  if (project.length > 31) throw new RangeError(`"projectName" expected at most 31 bytes, got ${project.length}`);

  const desc = new Uint8Array(ESP_APP_DESC_BYTES); // esp_app_desc_t, zero-filled as the C struct is
  writeU32LE(desc, 0, ESP_APP_DESC_MAGIC);
  writeU32LE(desc, 4, options.secureVersion ?? 0);
  desc.set(version, 16);
  desc.set(project, 48);
  desc.set(utf8('00:00:00'), 80);
  desc.set(utf8('Jan  1 2026'), 96);
  desc.set(utf8('v5.3'), 112);
  desc.set(createHash('sha256').update(options.payload).digest(), 144); // stands in for the ELF's SHA-256
  desc[180] = 16; // mmu_page_size: log2(64 KiB)

  const code = new Uint8Array(Math.ceil(options.payload.length / 4) * 4); // data_len must be a multiple of 4
  code.set(options.payload);
  const segments: [number, Uint8Array][] = [[DROM_LOAD, desc], [IROM_LOAD, code]];

  const body = ESP_IMAGE_HEADER_BYTES + segments.reduce((n, [, data]) => n + ESP_SEGMENT_HEADER_BYTES + data.length, 0);
  const checksumAt = Math.ceil((body + 1) / 16) * 16 - 1; // the checksum byte ends a 16-byte block
  const image = new Uint8Array(checksumAt + 1 + 32);
  image[0] = ESP_IMAGE_MAGIC;
  image[1] = segments.length;
  image[2] = 2; // spi_mode DIO
  image[3] = 0x20; // spi_size 4 MB, spi_speed 40 MHz
  writeU32LE(image, 4, ENTRY);
  image[8] = 0xee; // wp_pin: not used
  // chip_id 0x0000 (ESP32), min_chip_rev 0, min_chip_rev_full 0
  image[17] = 399 & 0xff; // max_chip_rev_full 399 (v3.99), as ESP-IDF sets for ESP32
  image[18] = 399 >> 8;
  image[23] = 1; // hash_appended
  let at = ESP_IMAGE_HEADER_BYTES;
  let checksum = CHECKSUM_SEED;
  for (const [load, data] of segments) {
    writeU32LE(image, at, load);
    writeU32LE(image, at + 4, data.length);
    image.set(data, at + ESP_SEGMENT_HEADER_BYTES);
    for (let i = 0; i < data.length; i++) checksum ^= data[i]!;
    at += ESP_SEGMENT_HEADER_BYTES + data.length;
  }
  image[checksumAt] = checksum;
  image.set(createHash('sha256').update(image.subarray(0, checksumAt + 1)).digest(), checksumAt + 1);
  return image;
}
