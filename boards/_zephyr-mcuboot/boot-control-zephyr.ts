// BootControl for Zephyr + MCUboot (swap mode): the portable MCUboot logic over the slot partitions
// for everything that reads or writes the image (state, erase-ahead writer, read-back, clearPending,
// rejectTestImage), and Zephyr's own MCUboot API through FFI for the two trailer writes a Zephyr
// app makes (include/zephyr/dfu/mcuboot.h): boot_request_upgrade(BOOT_UPGRADE_TEST) and
// boot_write_img_confirmed(). STM32L4 pages are 2 KiB (22 ms typical, 40 ms worst-case erase:
// perf-reliability-anchors §1.5), so the portable writer's page-by-page erase-ahead keeps every
// blocking call short; there is no larger erase unit to batch into.
import { OtaError } from '../../base/errors.ts';
import { createMcubootBootControl } from '../../platform/boot-control-mcuboot.ts';
import type { BootControl, BootState, SlotWriter } from '../../platform/boot-control.ts';
import type { Sha256Factory } from '../../platform/digest.ts';
import type { Flash } from '../../platform/flash.ts';
import { IMAGE_HEADER_BYTES, parseMcubootHeader } from '../../platform/mcuboot-image.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';

const BOOT_UPGRADE_TEST = 0;

export interface ZephyrMcubootNatives {
  /** boot_request_upgrade(permanent): 0, or -EFAULT when the secondary trailer is bad. */
  requestUpgrade(permanent: number): number;
  /** boot_write_img_confirmed(): 0, or a positive BOOT_E* code. */
  writeImageConfirmed(): number;
}

export interface ZephyrBootControlOptions {
  readonly primary: Flash;
  readonly secondary: Flash;
  readonly sha256: Sha256Factory;
  readonly natives: ZephyrMcubootNatives;
}

export function createZephyrBootControl(options: ZephyrBootControlOptions): BootControl {
  return new ZephyrBootControl(options);
}

// A class rather than a closure factory: a preloaded XS device keeps its methods in flash.
class ZephyrBootControl implements BootControl {
  readonly #portable: BootControl;
  readonly #secondary: Flash;
  readonly #natives: ZephyrMcubootNatives;

  constructor(options: ZephyrBootControlOptions) {
    this.#portable = createMcubootBootControl({ primary: options.primary, secondary: options.secondary, sha256: options.sha256 });
    this.#secondary = options.secondary;
    this.#natives = options.natives;
  }

  state(): MaybePromise<BootState> {
    return this.#portable.state();
  }

  openInactiveSlot(resume?: { resumeAt?: number }): MaybePromise<SlotWriter> {
    return this.#portable.openInactiveSlot(resume);
  }

  readInactiveSlot(offset: number, into: Uint8Array): MaybePromise<void> {
    return this.#portable.readInactiveSlot(offset, into);
  }

  /**
   * The image itself was checked by the zephyr-image module (hash, signature) before install, and
   * MCUboot validates it again before swapping; here only "is there an image at all".
   */
  async setPendingTest(): Promise<void> {
    const head = new Uint8Array(IMAGE_HEADER_BYTES); // 32: the secondary's image header
    await this.#secondary.read(0, head);
    try {
      parseMcubootHeader(head);
    } catch (error) {
      throw new OtaError('image-invalid', `setPendingTest: secondary slot: ${(error as Error).message}`, { cause: error });
    }
    const rc = this.#natives.requestUpgrade(BOOT_UPGRADE_TEST);
    if (rc !== 0) throw new OtaError('flash-io', `setPendingTest: boot_request_upgrade(BOOT_UPGRADE_TEST) returned ${rc}`);
  }

  confirm(): void {
    const rc = this.#natives.writeImageConfirmed();
    if (rc !== 0) throw new OtaError('flash-io', `confirm: boot_write_img_confirmed() returned ${rc}`);
  }

  rejectTestImage(): MaybePromise<void> {
    return this.#portable.rejectTestImage();
  }

  clearPending(): MaybePromise<void> {
    return this.#portable.clearPending();
  }
}
