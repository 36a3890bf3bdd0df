// KeyValue: small persistent records (NVS on ESP32, Zephyr settings/NVS on STM32).
import type { MaybePromise } from './maybe-async.ts';

/** Longest key every port accepts (ESP-IDF NVS limit); longer keys throw RangeError everywhere. */
export const KEY_MAX_CHARS = 15;

/**
 * Rules (test/conformance/key-value.ts):
 * - `set` is atomic per key: after a reset at any instant, `get` returns the old value or the new
 *   one, never a mix, never a torn record.
 * - Keys are 1..15 ASCII characters; anything else throws RangeError before touching storage.
 * - Values are bytes, at most `maxValueBytes`; the store keeps its own copy (the argument is borrowed).
 * - `get` of a missing key returns undefined; `delete` of a missing key is harmless.
 */
export interface KeyValue {
  readonly maxValueBytes: number;
  get(key: string): MaybePromise<Uint8Array | undefined>;
  set(key: string, value: Uint8Array): MaybePromise<void>;
  delete(key: string): MaybePromise<void>;
}
