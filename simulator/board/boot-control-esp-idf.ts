// BootControl over the ESP-IDF OTA model: what a port does with esp_ota_* calls, done on the
// simulated otadata and app slots. Portable (no node:*), built fresh on every boot.
import { OtaError } from '../../core/errors.ts';
import type { BootControl, BootState, SlotWriter } from '../../platform/boot-control.ts';
import type { Sha256Factory } from '../../platform/digest.ts';
import { ESP_IMAGE_MAGIC } from '../../platform/esp-app-image.ts';
import type { Flash } from '../../platform/flash.ts';
import {
  activeEntry, checkEspAppImage, isEntryEmpty, isEntryIntact, isEntryValid, OtaData, OtaState, slotOfSeq, type OtaEntry,
} from './esp-idf-ota.ts';
import { openSlotWriter } from '../../platform/slot-writer.ts';

export interface EspIdfBootControlOptions {
  otadata: Flash;
  slots: readonly [Flash, Flash];
  /** What the bootloader booted this time. */
  running: { slot: number; version: string };
  sha256: Sha256Factory;
}

export function createEspIdfBootControl(options: EspIdfBootControlOptions): BootControl {
  return new EspIdfBootControl(options);
}

class EspIdfBootControl implements BootControl {
  readonly #otadata: OtaData;
  readonly #slots: readonly [Flash, Flash];
  readonly #running: { slot: number; version: string };
  readonly #sha256: Sha256Factory;

  constructor(options: EspIdfBootControlOptions) {
    this.#otadata = new OtaData(options.otadata);
    this.#slots = options.slots;
    this.#running = { ...options.running };
    this.#sha256 = options.sha256;
  }

  get #inactive(): number {
    return 1 - this.#running.slot;
  }

  async state(): Promise<BootState> {
    const entries = await this.#otadata.read();
    const running = this.#runningEntry(entries);
    const runningSeq = running === -1 ? 0 : entries[running]!.seq;
    // esp_ota_get_last_invalid_partition(): the other slot's entry, rolled back from, newer than ours.
    const reverted = entries.some(
      (e) => isEntryIntact(e) && slotOfSeq(e.seq) !== this.#running.slot && e.seq > runningSeq &&
        (e.state === OtaState.ABORTED || e.state === OtaState.INVALID),
    );
    return {
      runningSlot: this.#running.slot,
      runningVersion: this.#running.version,
      isTestBoot: running !== -1 && entries[running]!.state === OtaState.PENDING_VERIFY,
      lastBootReverted: reverted,
      inactiveSlotBytes: this.#slots[this.#inactive]!.byteLength,
    };
  }

  /** esp_ota_begin(): refused while on trial; then no otadata entry may point at the slot being overwritten. */
  async openInactiveSlot(options?: { resumeAt?: number }): Promise<SlotWriter> {
    const entries = await this.#otadata.read();
    const running = this.#runningEntry(entries);
    if (running !== -1 && entries[running]!.state === OtaState.PENDING_VERIFY) {
      throw new OtaError('image-invalid', `openInactiveSlot: the running image ota_${this.#running.slot} (${this.#running.version}) is PENDING_VERIFY: confirm or revert it first (ESP_ERR_OTA_ROLLBACK_INVALID_STATE)`);
    }
    // IDF erases the inactive otadata sector; erasing every entry that selects the target slot
    // also drops a set-but-not-booted request for it.
    for (const i of [0, 1]) {
      const e = entries[i]!;
      if (!isEntryEmpty(e) && (!isEntryIntact(e) || slotOfSeq(e.seq) === this.#inactive)) await this.#otadata.erase(i);
    }
    const slot = this.#slots[this.#inactive]!;
    return openSlotWriter(slot, {
      capacity: slot.byteLength,
      resumeAt: options?.resumeAt,
      magic: { byte: ESP_IMAGE_MAGIC, what: 'ESP app image magic' },
    });
  }

  async readInactiveSlot(offset: number, into: Uint8Array): Promise<void> {
    await this.#slots[this.#inactive]!.read(offset, into);
  }

  /** esp_ota_set_boot_partition(inactive): verify the image, then write its otadata entry as NEW. */
  async setPendingTest(): Promise<void> {
    const target = this.#inactive;
    const check = await checkEspAppImage(this.#slots[target]!, this.#sha256);
    if (check.problem !== undefined) {
      throw new OtaError('image-invalid', `setPendingTest: ota_${target}: ${check.problem} (ESP_ERR_OTA_VALIDATE_FAILED)`);
    }
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

  /** esp_ota_mark_app_valid_cancel_rollback(): the running app's entry becomes VALID. */
  async confirm(): Promise<void> {
    const entries = await this.#otadata.read();
    const running = this.#runningEntry(entries);
    if (running === -1 || entries[running]!.state === OtaState.VALID) return;
    await this.#otadata.write(running, entries[running]!.seq, OtaState.VALID);
  }

  /** esp_ota_mark_app_invalid_rollback(): needs a valid image to fall back to, then marks ours INVALID. */
  async rejectTestImage(): Promise<void> {
    const entries = await this.#otadata.read();
    const running = this.#runningEntry(entries);
    const other = entries.findIndex((e) => isEntryValid(e) && slotOfSeq(e.seq) === this.#inactive);
    const fallback = other === -1 ? undefined : await checkEspAppImage(this.#slots[this.#inactive]!, this.#sha256);
    if (fallback === undefined || fallback.problem !== undefined || running === -1) {
      throw new OtaError('image-invalid', `rejectTestImage: no valid image in ota_${this.#inactive} to roll back to (ESP_ERR_OTA_ROLLBACK_FAILED)`);
    }
    await this.#otadata.write(running, entries[running]!.seq, OtaState.INVALID);
  }

  /** Drops a NEW entry for the other slot, so the running app's entry is the active one again. */
  async clearPending(): Promise<void> {
    const entries = await this.#otadata.read();
    const active = activeEntry(entries);
    if (active === -1) return;
    const e = entries[active]!;
    if (slotOfSeq(e.seq) !== this.#running.slot && e.state === OtaState.NEW) await this.#otadata.erase(active);
  }

  /** esp_ota_get_state_partition(running): the intact entry with the highest seq that selects our slot. */
  #runningEntry(entries: readonly [OtaEntry, OtaEntry]): number {
    let found = -1;
    entries.forEach((e, i) => {
      if (isEntryIntact(e) && slotOfSeq(e.seq) === this.#running.slot && (found === -1 || e.seq > entries[found]!.seq)) found = i;
    });
    return found;
  }
}
