// BootControl: the bootloader contract the client relies on (MCUboot over Flash, ESP-IDF otadata).
import type { MaybePromise } from './maybe-async.ts';

export interface BootState {
  /** Which slot the running image came from (0 = primary/ota_0, 1 = secondary/ota_1). */
  readonly runningSlot: number;
  /** The running image's version, e.g. "1.2.3+4" (MCUboot header) or the ESP-IDF app version. */
  readonly runningVersion: string;
  /**
   * True while the running image is on trial: it was booted as a test (MCUboot TEST swap,
   * ESP-IDF PENDING_VERIFY) and has not been confirmed. A reset now reverts it.
   */
  readonly isTestBoot: boolean;
  /**
   * True when this boot is the result of the bootloader reverting an unconfirmed test image (or
   * ESP-IDF marking it ABORTED/INVALID): the update the client set pending did not stick.
   */
  readonly lastBootReverted: boolean;
  /** Capacity of the inactive slot for an image, in bytes (MCUboot: slot minus its trailer). */
  readonly inactiveSlotBytes: number;
}

/**
 * Sequential writer into the inactive slot. Writes of any length are buffered to the flash write
 * granule; sectors are erased just ahead of the data. Nothing written is bootable until
 * `BootControl.setPendingTest()`.
 */
export interface SlotWriter {
  /** Bytes accepted so far (including any resumed prefix). */
  readonly offset: number;
  /** Largest sector-aligned offset whose bytes are durably in flash (a safe resume point). */
  readonly durableOffset: number;
  /** Appends bytes (borrowed). RangeError past the slot capacity. */
  write(bytes: Uint8Array): MaybePromise<void>;
  /** Flushes the last partial granule (padded with the erased value) and closes the writer. */
  finish(): MaybePromise<void>;
  /** Stops and leaves the slot unbootable (its header erased). Harmless after finish. */
  abort(): MaybePromise<void>;
}

export interface BootControl {
  state(): MaybePromise<BootState>;
  /**
   * Opens the inactive slot for a new image. With `resumeAt` (a sector boundary at or below a
   * previous writer's `durableOffset`), keeps bytes [0, resumeAt) and continues after them;
   * otherwise starts from an empty slot. Refused (OtaError 'image-invalid') while the running
   * image is itself on trial: confirm or revert first (ESP-IDF rule, followed on every port).
   */
  openInactiveSlot(options?: { resumeAt?: number }): MaybePromise<SlotWriter>;
  /** Reads back bytes already in the inactive slot (rebuilding a hash after a reset). */
  readInactiveSlot(offset: number, into: Uint8Array): MaybePromise<void>;
  /**
   * Marks the finished inactive slot to boot once as a test on the next reset (MCUboot
   * boot_set_pending(0); ESP-IDF esp_ota_set_boot_partition with rollback enabled).
   * Durable when it returns.
   */
  setPendingTest(): MaybePromise<void>;
  /** Makes the running test image permanent (boot_set_confirmed / esp_ota_mark_app_valid...). */
  confirm(): MaybePromise<void>;
  /**
   * Gives up on the running test image: the next reset boots the previous one. (MCUboot needs no
   * write for this; ESP-IDF marks the app invalid.) The caller then restarts.
   */
  rejectTestImage(): MaybePromise<void>;
  /** Cancels a pending-but-not-yet-booted request so the next reset boots the running image. */
  clearPending(): MaybePromise<void>;
}
