// BootControl for ESP32 over Moddable's `embedded:update` and `embedded:storage/flash`.
//
// The image is written to the "nextota" partition through the flash API, not through the updater:
// embedded:update's "a" mode runs esp_ota_write with OTA_WITH_SEQUENTIAL_WRITES, which erases
// 4 KiB sector by sector (23.6 s/MiB measured, against 9.8 s/MiB with 64 KiB block erases:
// ../shared/research/perf-reliability-anchors.md §1.1-§1.2), and it cannot resume after a reset.
// The flash API's eraseBlock(start, end) is esp_partition_erase_range, which IDF turns into one
// 64 KiB block erase for an aligned 64 KiB range. setPendingTest then hands the finished slot to
// embedded:update: it rewrites the first sector through the updater (esp_ota_begin refuses while
// the running app is PENDING_VERIFY and invalidates the other otadata entry; esp_ota_write checks
// the 0xE9 magic), and complete() runs esp_ota_end — which verifies the whole image in flash — and
// esp_ota_set_boot_partition, i.e. the otadata entry NEW that the rollback bootloader tries once.
// Confirm, reject and the otadata reads are FFI calls (boards/_esp-idf/ota-state.c, ESP-IDF).
import Update from 'embedded:update';
import { OtaError } from '../../core/errors.ts';
import type { BootControl, BootState, SlotWriter } from '../../platform/boot-control.ts';
import { ESP_APP_VERSION_END, ESP_IMAGE_MAGIC, readEspAppVersion } from '../../platform/esp-app-image.ts';
import { openSlotWriter, type BlockErase } from '../../platform/slot-writer.ts';
import type { PartitionFlash } from '../_moddable/flash.ts';

/** esp_ota_img_states_t values the FFI helpers return (-1: no otadata entry for the partition). */
export const OTA_STATE = { NEW: 0, PENDING_VERIFY: 1, VALID: 2, INVALID: 3, ABORTED: 4 } as const;
const ESP_ERR_OTA_ROLLBACK_FAILED = 0x1505;

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
const BLOCK_ERASE: BlockErase = { blockBytes: 64 * 1024, maxSectorsPerCall: 4 };

/** The native calls this BootControl needs; boards/_esp-idf/board.ts binds them through mc/ffi. */
export interface EspOtaNatives {
  /** esp_ota_get_state_partition(running), or -1 when otadata has no entry for it. */
  runningState(): number;
  /** The running app partition: 0 for ota_0, 1 for ota_1. */
  runningSlot(): number;
  /** esp_ota_get_state_partition(next update partition), or -1. */
  otherState(): number;
  /** esp_ota_mark_app_valid_cancel_rollback() → esp_err_t. */
  markValid(): number;
  /** esp_ota_mark_app_invalid_rollback() → esp_err_t (marks the running app INVALID; no restart). */
  markInvalid(): number;
  /** Erases a NEW otadata entry that selects the next update partition → esp_err_t. */
  clearPending(): number;
}

export interface EspOtaBootControlOptions {
  readonly running: PartitionFlash;
  readonly nextota: PartitionFlash;
  readonly natives: EspOtaNatives;
}

export function createEspOtaBootControl(options: EspOtaBootControlOptions): BootControl {
  return new EspOtaBootControl(options);
}

function espError(call: string, rc: number): string {
  return `${call} returned 0x${(rc >>> 0).toString(16)}`;
}

class EspOtaBootControl implements BootControl {
  readonly #running: PartitionFlash;
  readonly #nextota: PartitionFlash;
  readonly #natives: EspOtaNatives;

  constructor(options: EspOtaBootControlOptions) {
    this.#running = options.running;
    this.#nextota = options.nextota;
    this.#natives = options.natives;
  }

  state(): BootState {
    const head = new Uint8Array(ESP_APP_VERSION_END); // 80: image header, segment header, app desc through version
    this.#running.read(0, head);
    const other = this.#natives.otherState();
    return {
      runningSlot: this.#natives.runningSlot(),
      runningVersion: readEspAppVersion(head),
      isTestBoot: this.#natives.runningState() === OTA_STATE.PENDING_VERIFY,
      // The other slot holds the image the bootloader aborted (reset while PENDING_VERIFY) or we
      // marked INVALID; it stays so until the next setPendingTest rewrites that entry.
      lastBootReverted: other === OTA_STATE.ABORTED || other === OTA_STATE.INVALID,
      inactiveSlotBytes: this.#nextota.byteLength,
    };
  }

  openInactiveSlot(options?: { resumeAt?: number }): Promise<SlotWriter> {
    if (this.#natives.runningState() === OTA_STATE.PENDING_VERIFY) {
      throw new OtaError('image-invalid', 'openInactiveSlot: the running app is PENDING_VERIFY: confirm or roll it back first (ESP_ERR_OTA_ROLLBACK_INVALID_STATE)');
    }
    return openSlotWriter(this.#nextota, {
      capacity: this.#nextota.byteLength,
      resumeAt: options?.resumeAt,
      magic: { byte: ESP_IMAGE_MAGIC, what: 'ESP app image magic' }, // esp_ota_write would refuse the image later
      blockErase: BLOCK_ERASE,
    });
  }

  readInactiveSlot(offset: number, into: Uint8Array): void {
    this.#nextota.read(offset, into);
  }

  setPendingTest(): void {
    const flash = this.#nextota;
    const first = new Uint8Array(flash.sectorBytes); // 4 KiB: the first sector, rewritten through the updater
    flash.read(0, first);
    if (first[0] !== ESP_IMAGE_MAGIC) {
      throw new OtaError('image-invalid', `setPendingTest: nextota byte 0 is 0x${first[0]!.toString(16)}, expected the app image magic 0xe9 (no finished image in the slot)`);
    }
    let step = 'open';
    const updater = this.#native('setPendingTest', () => Update.open({ partition: flash.partition, mode: 'a' }));
    try {
      step = 'write';
      updater.write(first);
      step = 'complete';
      updater.complete();
    } catch (error) {
      // "begin failed"/"write failed"/"end failed": esp_ota_* refused the slot or the image.
      throw new OtaError('image-invalid', `setPendingTest: embedded:update ${step}: ${(error as Error).message}`, { cause: error });
    } finally {
      updater.close();
    }
  }

  confirm(): void {
    const rc = this.#natives.markValid();
    if (rc !== 0) throw new OtaError('flash-io', `confirm: ${espError('esp_ota_mark_app_valid_cancel_rollback', rc)}`);
  }

  rejectTestImage(): void {
    const state = this.#natives.runningState();
    if (state !== OTA_STATE.PENDING_VERIFY) {
      throw new Error(`rejectTestImage: the running app is not on trial (otadata state ${state}); a reset would not roll it back`);
    }
    const rc = this.#natives.markInvalid();
    if (rc === ESP_ERR_OTA_ROLLBACK_FAILED) {
      throw new OtaError('image-invalid', 'rejectTestImage: no valid app in the other slot to roll back to (ESP_ERR_OTA_ROLLBACK_FAILED)');
    }
    if (rc !== 0) throw new OtaError('flash-io', `rejectTestImage: ${espError('esp_ota_mark_app_invalid_rollback', rc)}`);
  }

  clearPending(): void {
    const rc = this.#natives.clearPending();
    if (rc !== 0) throw new OtaError('flash-io', `clearPending: ${espError('ota_clear_pending', rc)}`);
  }

  #native<T>(what: string, call: () => T): T {
    try {
      return call();
    } catch (error) {
      throw new OtaError('image-invalid', `${what}: embedded:update open: ${(error as Error).message}`, { cause: error });
    }
  }
}
