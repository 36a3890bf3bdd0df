// The ESP-IDF app image's version record, read as ESP-IDF reads it (esp_app_format.h,
// esp_app_desc.h): a 24-byte image header (magic 0xE9), the first segment's 8-byte header, then
// esp_app_desc_t at image offset 32 with its magic 0xABCD5432 and `version` char[32] at offset 48.
import { fromUtf8, readU32LE } from '../base/bytes.ts';
import { OtaError } from '../base/errors.ts';

export const ESP_IMAGE_MAGIC = 0xe9;
export const ESP_IMAGE_HEADER_BYTES = 24;
export const ESP_SEGMENT_HEADER_BYTES = 8;
export const ESP_IMAGE_MAX_SEGMENTS = 16;
export const ESP_APP_DESC_MAGIC = 0xabcd5432;
/** esp_app_desc_t sits at the start of the first segment's data. */
export const ESP_APP_DESC_OFFSET = ESP_IMAGE_HEADER_BYTES + ESP_SEGMENT_HEADER_BYTES; // 32
export const ESP_APP_DESC_BYTES = 256;
/** How many leading bytes readEspAppVersion needs: through the end of `version[32]`. */
export const ESP_APP_VERSION_END = ESP_APP_DESC_OFFSET + 16 + 32; // 80

/** The app version ESP-IDF reports (esp_app_get_description()->version). */
export function readEspAppVersion(firstBytes: Uint8Array): string {
  if (firstBytes.length < ESP_APP_VERSION_END) {
    throw new OtaError('image-invalid', `ESP app image: need the first ${ESP_APP_VERSION_END} bytes for the version, got ${firstBytes.length}`);
  }
  if (firstBytes[0] !== ESP_IMAGE_MAGIC) {
    throw new OtaError('image-invalid', `ESP app image at byte 0: magic 0x${hex(firstBytes[0]!, 2)}, expected 0xe9`);
  }
  const segments = firstBytes[1]!;
  if (segments < 1 || segments > ESP_IMAGE_MAX_SEGMENTS) {
    throw new OtaError('image-invalid', `ESP app image at byte 1: segment_count ${segments}, expected 1..${ESP_IMAGE_MAX_SEGMENTS}`);
  }
  const firstSegment = readU32LE(firstBytes, ESP_IMAGE_HEADER_BYTES + 4);
  if (firstSegment < ESP_APP_DESC_BYTES) {
    throw new OtaError('image-invalid', `ESP app image at byte 28: first segment data_len ${firstSegment}, expected >= ${ESP_APP_DESC_BYTES} to hold esp_app_desc_t`);
  }
  const magic = readU32LE(firstBytes, ESP_APP_DESC_OFFSET);
  if (magic !== ESP_APP_DESC_MAGIC) {
    throw new OtaError('image-invalid', `ESP app image at byte 32: esp_app_desc_t magic_word 0x${hex(magic, 8)}, expected 0xabcd5432`);
  }
  const field = firstBytes.subarray(ESP_APP_DESC_OFFSET + 16, ESP_APP_VERSION_END);
  const end = field.indexOf(0);
  let version: string;
  try {
    version = fromUtf8(end === -1 ? field : field.subarray(0, end));
  } catch {
    throw new OtaError('image-invalid', 'ESP app image at byte 48: esp_app_desc_t version is not UTF-8');
  }
  if (version.length === 0) throw new OtaError('image-invalid', 'ESP app image at byte 48: esp_app_desc_t version is empty');
  return version;
}

/** esp_app_desc_t secure_version (image byte 36): the anti-rollback counter; call after readEspAppVersion checked the image start. */
export function readEspSecureVersion(firstBytes: Uint8Array): number {
  return readU32LE(firstBytes, ESP_APP_DESC_OFFSET + 4);
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}
