// BootControl for the ESP-IDF second-stage bootloader with app rollback: the image goes into the
// next update partition ("nextota"), the otadata entry NEW is what the bootloader tries once.
// Portable: ESP-IDF comes in through EspOtaNatives. On the ESP32, boards/_esp-idf/board.ts binds
// them to Moddable's embedded:update and to mc/ffi (boards/_esp-idf/ota-state.c); the simulator
// binds them to its otadata model (simulator/board/esp-ota-ops.ts), so its exhaustive power-cut
// sweep runs this very code.
//
// The image is written to nextota through the flash API, not through the updater: embedded:update's
// "a" mode runs esp_ota_write with OTA_WITH_SEQUENTIAL_WRITES, which erases 4 KiB sector by sector
// (23.6 s/MiB measured, against 9.8 s/MiB with 64 KiB block erases:
// ../shared/research/perf-reliability-anchors.md §1.1-§1.2), and it cannot resume after a reset.
// The flash API's eraseBlock(start, end) is esp_partition_erase_range, which IDF turns into one
// 64 KiB block erase for an aligned 64 KiB range. setPendingTest then hands the finished slot to
// the updater: it rewrites the first sector through it (esp_ota_begin refuses while the running
// app is PENDING_VERIFY and invalidates the other otadata entry; esp_ota_write checks the 0xE9
// magic), and complete() runs esp_ota_end — which verifies the whole image in flash — and
// esp_ota_set_boot_partition, i.e. the otadata entry NEW that the rollback bootloader tries once.
// Confirm, reject and the otadata reads are natives too (ESP-IDF calls).
import { OtaError } from '../base/errors.ts';
import type { BootControl, BootState, SlotWriter } from './boot-control.ts';
import { ESP_APP_VERSION_END, ESP_IMAGE_MAGIC, readEspAppVersion } from './esp-app-image.ts';
import type { Flash, RangeEraseFlash } from './flash.ts';
import type { MaybePromise } from './maybe-async.ts';
import { openSlotWriter, type BlockErase } from './slot-writer.ts';

/** esp_ota_img_states_t values the natives return (-1: no otadata entry for the partition). */
export const OTA_STATE = Object.freeze({ NEW: 0, PENDING_VERIFY: 1, VALID: 2, INVALID: 3, ABORTED: 4 } as const);
export const ESP_ERR_OTA_ROLLBACK_FAILED = 0x1505;

/**
 * The slot writer's erase policy, and why: the longest single blocking flash call. Flash
 * erase/program stalls the CPU (the cache is off during SPI flash operations), so the network stack
 * and the task watchdog (5 s by default) wait:
 *  - one 64 KiB block erase: 150 ms typical, 2 s worst case (W25Q128JV datasheet; IDF's own driver
 *    timeout is 4.1 s). Larger ranges would be n × that in one call, so erase-ahead goes one block
 *    at a time, just before the writer reaches it;
 *  - an unaligned stretch (a resume point, the partition's tail) erases sector by sector: at most
 *    4 sectors per call = 180 ms typical, 1.6 s worst (45 / 400 ms per sector);
 *  - programming: the writer programs at most one 4 KiB sector per call = 16 pages, 6-13 ms
 *    typical, 48 ms worst (0.4-0.8 / 3 ms).
 * A TCP sender simply fills the receive window meanwhile; nothing is lost.
 */
const BLOCK_ERASE: BlockErase = Object.freeze({ blockBytes: 64 * 1024, maxSectorsPerCall: 4 });

/**
 * embedded:update opened on nextota in append mode ("a"). Failures throw, worded as the SDK words
 * them ("begin failed", "write failed", "end failed", "can't change boot partition").
 */
export interface EspOtaUpdate {
  /** esp_ota_write: the first byte must be the app image magic 0xE9. */
  write(bytes: Uint8Array): MaybePromise<void>;
  /** esp_ota_end (verifies the whole image in flash), then esp_ota_set_boot_partition: the entry NEW. */
  complete(): MaybePromise<void>;
  /** esp_ota_abort when not completed; harmless twice. */
  close(): MaybePromise<void>;
}

/** What this BootControl needs from ESP-IDF: otadata reads and writes, and the updater. */
export interface EspOtaNatives {
  /** esp_ota_get_state_partition(running), or -1 when otadata has no entry for it. */
  runningState(): MaybePromise<number>;
  /** The running app partition: 0 for ota_0, 1 for ota_1. */
  runningSlot(): MaybePromise<number>;
  /** esp_ota_get_state_partition(next update partition), or -1. */
  otherState(): MaybePromise<number>;
  /** esp_ota_mark_app_valid_cancel_rollback() → esp_err_t. */
  markValid(): MaybePromise<number>;
  /** esp_ota_mark_app_invalid_rollback() → esp_err_t (marks the running app INVALID; no restart). */
  markInvalid(): MaybePromise<number>;
  /** Erases a NEW otadata entry that selects the next update partition → esp_err_t. */
  clearPending(): MaybePromise<number>;
  /** Update.open({ partition: nextota, mode: 'a' }): esp_ota_begin. Throws when refused. */
  openUpdate(): MaybePromise<EspOtaUpdate>;
}

export interface EspOtaBootControlOptions {
  /** The running app partition (read-only here: its app description gives the version). */
  readonly running: Flash;
  /** The next update partition, where the image goes; range erases make 64 KiB block erases. */
  readonly nextota: RangeEraseFlash;
  readonly natives: EspOtaNatives;
}

export function createEspOtaBootControl(options: EspOtaBootControlOptions): BootControl {
  return new EspOtaBootControl(options);
}

function espError(call: string, rc: number): string {
  return `${call} returned 0x${(rc >>> 0).toString(16)}`;
}

class EspOtaBootControl implements BootControl {
  readonly #running: Flash;
  readonly #nextota: RangeEraseFlash;
  readonly #natives: EspOtaNatives;

  constructor(options: EspOtaBootControlOptions) {
    this.#running = options.running;
    this.#nextota = options.nextota;
    this.#natives = options.natives;
  }

  async state(): Promise<BootState> {
    const head = new Uint8Array(ESP_APP_VERSION_END); // 80: image header, segment header, app desc through version
    await this.#running.read(0, head);
    const other = await this.#natives.otherState();
    return {
      runningSlot: await this.#natives.runningSlot(),
      runningVersion: readEspAppVersion(head),
      isTestBoot: (await this.#natives.runningState()) === OTA_STATE.PENDING_VERIFY,
      // The other slot holds the image the bootloader aborted (reset while PENDING_VERIFY) or we
      // marked INVALID; it stays so until the next setPendingTest rewrites that entry.
      lastBootReverted: other === OTA_STATE.ABORTED || other === OTA_STATE.INVALID,
      inactiveSlotBytes: this.#nextota.byteLength,
    };
  }

  async openInactiveSlot(options?: { resumeAt?: number }): Promise<SlotWriter> {
    if ((await this.#natives.runningState()) === OTA_STATE.PENDING_VERIFY) {
      throw new OtaError('image-invalid', 'openInactiveSlot: the running app is PENDING_VERIFY: confirm or roll it back first (ESP_ERR_OTA_ROLLBACK_INVALID_STATE)');
    }
    return openSlotWriter(this.#nextota, {
      capacity: this.#nextota.byteLength,
      resumeAt: options?.resumeAt,
      magic: { byte: ESP_IMAGE_MAGIC, what: 'ESP app image magic' }, // esp_ota_write would refuse the image later
      blockErase: BLOCK_ERASE,
    });
  }

  async readInactiveSlot(offset: number, into: Uint8Array): Promise<void> {
    await this.#nextota.read(offset, into);
  }

  async setPendingTest(): Promise<void> {
    const flash = this.#nextota;
    const first = new Uint8Array(flash.sectorBytes); // 4 KiB: the first sector, rewritten through the updater
    await flash.read(0, first);
    if (first[0] !== ESP_IMAGE_MAGIC) {
      throw new OtaError('image-invalid', `setPendingTest: nextota byte 0 is 0x${first[0]!.toString(16)}, expected the app image magic 0xe9 (no finished image in the slot)`);
    }
    let step = 'open';
    let update: EspOtaUpdate | undefined;
    try {
      update = await this.#natives.openUpdate();
      step = 'write';
      await update.write(first);
      step = 'complete';
      await update.complete();
    } catch (error) {
      // "begin failed"/"write failed"/"end failed": esp_ota_* refused the slot or the image.
      throw new OtaError('image-invalid', `setPendingTest: embedded:update ${step}: ${(error as Error).message}`, { cause: error });
    } finally {
      await update?.close();
    }
  }

  async confirm(): Promise<void> {
    const rc = await this.#natives.markValid();
    if (rc !== 0) throw new OtaError('flash-io', `confirm: ${espError('esp_ota_mark_app_valid_cancel_rollback', rc)}`);
  }

  async rejectTestImage(): Promise<void> {
    const state = await this.#natives.runningState();
    if (state !== OTA_STATE.PENDING_VERIFY) {
      throw new Error(`rejectTestImage: the running app is not on trial (otadata state ${state}); a reset would not roll it back`);
    }
    const rc = await this.#natives.markInvalid();
    if (rc === ESP_ERR_OTA_ROLLBACK_FAILED) {
      throw new OtaError('image-invalid', 'rejectTestImage: no valid app in the other slot to roll back to (ESP_ERR_OTA_ROLLBACK_FAILED)');
    }
    if (rc !== 0) throw new OtaError('flash-io', `rejectTestImage: ${espError('esp_ota_mark_app_invalid_rollback', rc)}`);
  }

  async clearPending(): Promise<void> {
    const rc = await this.#natives.clearPending();
    if (rc !== 0) throw new OtaError('flash-io', `clearPending: ${espError('ota_clear_pending', rc)}`);
  }
}
