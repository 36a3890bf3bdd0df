// Flash: one erasable region (a slot or partition) of NOR-like memory.
//
// Glossary (one word per concept, used across the project):
//   sector        the erase unit (MCUboot "sector", ECMA-419 "block")
//   write granule every program offset and length is a multiple of it (MCUboot "write alignment")
//   slot          one image area (MCUboot primary/secondary, ESP-IDF ota_0/ota_1)
//   image         the bytes a bootloader boots (MCUboot image, ESP-IDF app image)
//   artifact      the Mender file that carries payloads; payload: one data/NNNN.tar of it
//   deployment    the server's request that a device installs an artifact
import type { MaybePromise } from './maybe-async.ts';

/**
 * Rules every implementation keeps (checked by test/conformance/flash.ts):
 * - `eraseSector(i)` sets every byte of sector i to `erasedByte`.
 * - `write` only clears bits (NOR): programming a granule that is not erased is an error in the
 *   simulator (`flash-io`), undefined on hardware. Offsets and lengths must be multiples of
 *   `writeGranule` and inside the region, else RangeError before anything is written.
 * - After a reset, a completed erase or write is durable; an interrupted one leaves its sector or
 *   granule in an unknown mix of old and new bits (the simulator models this as "torn").
 * - Buffers passed in are borrowed for the duration of the call only.
 */
export interface Flash {
  /** Size of the region in bytes; a multiple of `sectorBytes`. */
  readonly byteLength: number;
  /** Erase unit in bytes (uniform across the region). */
  readonly sectorBytes: number;
  /** Program unit in bytes: 1, 4, 8, 16 or 32 on the parts we support. */
  readonly writeGranule: number;
  /** What an erased byte reads as: 0xff on NOR. */
  readonly erasedByte: number;
  /** Copies `into.length` bytes from `offset` into `into`. RangeError outside the region. */
  read(offset: number, into: Uint8Array): MaybePromise<void>;
  /** Programs `bytes` at `offset` (both granule-aligned). Throws OtaError('flash-io') on failure. */
  write(offset: number, bytes: Uint8Array): MaybePromise<void>;
  /** Erases sector `index` (0-based). RangeError when out of range. */
  eraseSector(index: number): MaybePromise<void>;
}

/**
 * A Flash that also erases a run of sectors in ONE call. ESP-IDF's esp_partition_erase_range turns a
 * 64 KiB-aligned run of 64 KiB into one block erase, about 2.4 times faster than 16 sector erases
 * (../shared/research/perf-reliability-anchors.md §1.1-§1.2); the slot writer's block policy uses it.
 */
export interface RangeEraseFlash extends Flash {
  /** Erases sectors [start, end). RangeError unless 0 <= start < end <= the sector count. */
  eraseSectors(start: number, end: number): MaybePromise<void>;
}
