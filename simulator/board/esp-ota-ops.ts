// The app side of ESP-IDF OTA over the simulated otadata and app slots (esp_ota_ops.c @ 102122904a,
// ../shared/research/mcuboot-espidf-delta.md §3.3-§3.4): esp_ota_get_state_partition, the rollback
// marks, ota-state.c's ota_clear_pending, and embedded:update as Moddable's ESP32 build runs it
// (esp_ota_begin / esp_ota_write / esp_ota_end + esp_ota_set_boot_partition), with the SDK's error
// texts. One model for two callers: the simulated board binds the shipping BootControl's natives to
// it (createSimEspOtaBootControl), and the Moddable host's embedded:update (simulator/moddable/host.ts)
// opens its updaters here. Nothing is kept in memory but the running slot: every call reads otadata.
// Portable.
import { OtaError } from '../../base/errors.ts';
import { createEspOtaBootControl, ESP_ERR_OTA_ROLLBACK_FAILED, type EspOtaNatives } from '../../platform/boot-control-esp-ota.ts';
import type { BootControl } from '../../platform/boot-control.ts';
import type { Sha256Factory } from '../../platform/digest.ts';
import { ESP_IMAGE_MAGIC } from '../../platform/esp-app-image.ts';
import type { Flash } from '../../platform/flash.ts';
import { EraseRangeFlash } from './erase-range.ts';
import { activeEntry, checkEspAppImage, isEntryEmpty, isEntryIntact, isEntryValid, OtaData, OtaState, slotOfSeq, type OtaEntry } from './esp-idf-ota.ts';

export interface EspOtaOpsOptions {
  readonly otadata: Flash;
  readonly slots: readonly [Flash, Flash];
  /** The app partition the bootloader booted this time. */
  readonly runningSlot: number;
  readonly sha256: Sha256Factory;
}

/** A native failure as the SDK reports it: a plain Error with its terse text. */
function sdkError(message: string): Error {
  return new Error(message);
}

/** Runs a flash step; a halt (PowerCut, DeviceRestart) and the flash model's OtaErrors pass unchanged, anything else is `message`. */
async function step<T>(message: string, call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof Error && (error.name === 'PowerCut' || error.name === 'DeviceRestart' || error instanceof OtaError)) throw error;
    throw sdkError(message);
  }
}

export class EspOtaOps {
  readonly runningSlot: number;
  readonly #otadata: OtaData;
  readonly #slots: readonly [Flash, Flash];
  readonly #sha256: Sha256Factory;

  constructor(options: EspOtaOpsOptions) {
    this.runningSlot = options.runningSlot;
    this.#otadata = new OtaData(options.otadata);
    this.#slots = options.slots;
    this.#sha256 = options.sha256;
  }

  /** esp_ota_get_state_partition(ota_<slot>): the intact entry with the highest seq selecting it, or -1. */
  async stateOf(slot: number): Promise<number> {
    const entries = await this.#otadata.read();
    const found = this.#entryOf(entries, slot);
    return found === -1 ? -1 : entries[found]!.state;
  }

  /** esp_ota_mark_app_valid_cancel_rollback(): the running app's entry becomes VALID. */
  async markAppValid(): Promise<number> {
    const entries = await this.#otadata.read();
    const running = this.#entryOf(entries, this.runningSlot);
    if (running !== -1 && entries[running]!.state !== OtaState.VALID) await this.#otadata.write(running, entries[running]!.seq, OtaState.VALID);
    return 0;
  }

  /** esp_ota_mark_app_invalid_rollback(): needs a valid image to fall back to, then marks ours INVALID. */
  async markAppInvalid(): Promise<number> {
    const entries = await this.#otadata.read();
    const running = this.#entryOf(entries, this.runningSlot);
    const other = 1 - this.runningSlot;
    const fallback = entries.some((e) => isEntryValid(e) && slotOfSeq(e.seq) === other) ? await checkEspAppImage(this.#slots[other]!, this.#sha256) : undefined;
    if (running === -1 || fallback === undefined || fallback.problem !== undefined) return ESP_ERR_OTA_ROLLBACK_FAILED;
    await this.#otadata.write(running, entries[running]!.seq, OtaState.INVALID);
    return 0;
  }

  /** ota_clear_pending() (boards/_esp-idf/ota-state.c): erases every NEW entry that selects the next update partition. */
  async clearPending(): Promise<number> {
    const entries = await this.#otadata.read();
    for (const i of [0, 1]) {
      const e = entries[i]!;
      if (isEntryIntact(e) && e.state === OtaState.NEW && slotOfSeq(e.seq) !== this.runningSlot) await this.#otadata.erase(i);
    }
    return 0;
  }

  /**
   * Update.open({ partition: ota_<slot>, mode, byteLength }): esp_ota_begin. Refused for the running
   * app and while it is PENDING_VERIFY; then the inactive otadata sector is erased, so the device can
   * no longer roll back into the slot being overwritten. "w" mode erases byteLength (or all) up front.
   */
  async openUpdate(slot: number, mode: 'a' | 'w' = 'a', byteLength?: number): Promise<EspUpdater> {
    if ((slot !== 0 && slot !== 1) || slot === this.runningSlot) throw sdkError('begin failed');
    if ((await this.stateOf(this.runningSlot)) === OtaState.PENDING_VERIFY) throw sdkError('begin failed'); // ESP_ERR_OTA_ROLLBACK_INVALID_STATE
    const entries = await this.#otadata.read();
    const active = activeEntry(entries);
    if (active !== -1 && !isEntryEmpty(entries[active ^ 1]!)) await this.#otadata.erase(active ^ 1);
    const updater = new EspUpdater(this, this.#slots[slot]!, slot, mode === 'a');
    if (mode === 'w') await updater.eraseUpFront(byteLength);
    return updater;
  }

  /** @internal esp_ota_end's esp_image_verify. */
  checkImage(slot: number): Promise<{ problem?: string }> {
    return checkEspAppImage(this.#slots[slot]!, this.#sha256);
  }

  /** @internal esp_ota_set_boot_partition(ota_<target>): verify the image, then write its otadata entry as NEW. */
  async setBootPartition(target: number): Promise<void> {
    if ((await this.checkImage(target)).problem !== undefined) throw sdkError("can't change boot partition"); // ESP_ERR_OTA_VALIDATE_FAILED
    const entries = await this.#otadata.read();
    const active = activeEntry(entries);
    if (active === -1) {
      await this.#otadata.write(0, target + 1, OtaState.NEW);
    } else if (slotOfSeq(entries[active]!.seq) === target) {
      await this.#otadata.write(active, entries[active]!.seq, OtaState.NEW);
    } else {
      // compute_ota_seq_for_target_slot(): the next seq above the active one that selects the target.
      let seq = entries[active]!.seq + 1;
      if (slotOfSeq(seq) !== target) seq++;
      await this.#otadata.write(active ^ 1, seq, OtaState.NEW);
    }
  }

  #entryOf(entries: readonly [OtaEntry, OtaEntry], slot: number): number {
    let found = -1;
    entries.forEach((e, i) => {
      if (isEntryIntact(e) && slotOfSeq(e.seq) === slot && (found === -1 || e.seq > entries[found]!.seq)) found = i;
    });
    return found;
  }
}

/** One embedded:update updater: esp_ota_write / esp_ota_write_with_offset, complete(), close(). */
export class EspUpdater {
  #active = true;
  #erased = 0; // bytes erased by this update (esp_ota's erased_size, for the sequential path)
  #wrote = 0;

  constructor(
    readonly ops: EspOtaOps,
    readonly flash: Flash,
    readonly slot: number,
    readonly append: boolean,
  ) {}

  async write(bytes: Uint8Array, offset?: number): Promise<void> {
    if (!this.#active) throw sdkError('already complete');
    const flash = this.flash;
    if (this.append) {
      if (offset !== undefined) throw sdkError('offset not allowed');
      // esp_ota_write: the image must start with the app magic; erase the sectors the write reaches.
      if (this.#wrote === 0 && bytes[0] !== ESP_IMAGE_MAGIC) throw sdkError('write failed');
      await step('write failed', async () => {
        const sector = flash.sectorBytes;
        const last = Math.floor((this.#wrote + bytes.length - 1) / sector);
        for (let s = Math.ceil(this.#wrote / sector); s <= last && bytes.length > 0; s++) {
          await flash.eraseSector(s);
          this.#erased = (s + 1) * sector;
        }
        await flash.write(this.#wrote, bytes);
      });
      this.#wrote += bytes.length;
    } else {
      if (offset === undefined || offset < 0) throw new RangeError('invalid offset');
      if (offset === 0 && bytes[0] !== ESP_IMAGE_MAGIC) throw sdkError('write failed');
      await step('write failed', () => flash.write(offset, bytes));
      this.#wrote = Math.max(this.#wrote, offset + bytes.length);
    }
  }

  /** @internal "w" mode: esp_ota_begin erases byteLength (or the whole partition) up front. */
  async eraseUpFront(byteLength: number | undefined): Promise<void> {
    const flash = this.flash;
    const bytes = byteLength === undefined || byteLength === 0 ? flash.byteLength : Math.ceil(byteLength / flash.sectorBytes) * flash.sectorBytes;
    await step('begin failed', async () => {
      for (let s = 0; s < bytes / flash.sectorBytes; s++) await flash.eraseSector(s);
    });
    this.#erased = bytes;
  }

  /** esp_ota_end (only after some data; esp_image_verify over the partition), then esp_ota_set_boot_partition. */
  async complete(): Promise<void> {
    if (!this.#active) throw sdkError('already complete');
    this.#active = false;
    if (this.#erased === 0 && this.#wrote === 0) throw sdkError('end failed');
    if ((await this.ops.checkImage(this.slot)).problem !== undefined) throw sdkError('end failed');
    await this.ops.setBootPartition(this.slot);
  }

  /** esp_ota_abort: nothing on flash to undo. */
  close(): void {
    this.#active = false;
  }
}

/** The natives of platform/boot-control-esp-ota.ts over the model: what board.ts binds on the ESP32. */
export function espOtaNatives(ops: EspOtaOps): EspOtaNatives {
  const next = 1 - ops.runningSlot;
  return {
    runningState: () => ops.stateOf(ops.runningSlot),
    runningSlot: () => ops.runningSlot,
    otherState: () => ops.stateOf(next),
    markValid: () => ops.markAppValid(),
    markInvalid: () => ops.markAppInvalid(),
    clearPending: () => ops.clearPending(),
    openUpdate: () => ops.openUpdate(next, 'a'),
  };
}

/**
 * The shipping ESP-IDF BootControl on the simulated board: the running and next update partitions
 * over the slots (range erases sector by sector, as esp_partition_erase_range is modelled), the
 * natives over the model. Built fresh on every boot, as the firmware builds it.
 */
export function createSimEspOtaBootControl(options: EspOtaOpsOptions): BootControl {
  const ops = new EspOtaOps(options);
  return createEspOtaBootControl({
    running: options.slots[ops.runningSlot]!,
    nextota: new EraseRangeFlash(options.slots[1 - ops.runningSlot]!),
    natives: espOtaNatives(ops),
  });
}
