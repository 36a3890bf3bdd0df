// The ESP-IDF family's FFI natives (boards/_esp-idf/manifest.json "ffi"), as the simulated board
// answers them: the otadata reads and writes of ota-state.c over the simulator's otadata model, the
// rollback calls through the board's boot control, esp_reset_reason, the RNG and the MAC.
import { isOtaError } from '../../base/errors.ts';
import type { ResetReason } from '../../platform/system.ts';
import { isEntryIntact, OtaData, slotOfSeq, type OtaEntry } from '../board/esp-idf-ota.ts';
import type { BootedBoard } from '../board/sim-device.ts';

const ESP_ERR_OTA_ROLLBACK_FAILED = 0x1505;
/** esp_reset_reason_t for each reset the simulator causes (esp_system.h). */
const ESP_RESET: Record<ResetReason, number> = { 'power-on': 1, software: 3, panic: 4, watchdog: 6, brownout: 9, unknown: 0 };

export interface EspIdfNativeContext {
  readonly board: BootedBoard;
  /** The app slot this boot runs (0: ota_0). */
  readonly runningSlot: number;
}

/** The native `name` with `args`; `fill` gives what it leaves in a pointer argument. 'none': not one of the family's. */
export async function espIdfNative(native: EspIdfNativeContext, name: string, args: unknown[], fill: (index: number, bytes: Uint8Array) => void): Promise<number | undefined | 'none'> {
  const board = native.board;
  switch (name) {
    case 'ota_running_slot':
      return native.runningSlot;
    case 'ota_running_state':
      return entryState(native.board, native.runningSlot);
    case 'ota_other_state':
      return entryState(native.board, 1 - native.runningSlot);
    case 'ota_clear_pending':
      await board.bootControl.clearPending();
      return 0;
    case 'esp_ota_mark_app_valid_cancel_rollback':
      await board.bootControl.confirm();
      return 0;
    case 'esp_ota_mark_app_invalid_rollback':
      try {
        await board.bootControl.rejectTestImage();
        return 0;
      } catch (error) {
        if (isOtaError(error)) return ESP_ERR_OTA_ROLLBACK_FAILED;
        throw error;
      }
    case 'esp_reset_reason':
      return ESP_RESET[board.system.resetReason()];
    case 'ota_fill_random': {
      // ota_fill_random(buffer, offset, length): buffer[offset, offset + length) from the RNG.
      const [buffer, offset, length] = args as [Uint8Array, number, number];
      const out = new Uint8Array(buffer);
      out.set(board.system.randomBytes(length), offset);
      fill(0, out);
      return undefined;
    }
    case 'esp_read_mac': {
      const mac = (board.identity.mac ?? '').split(':').map((h) => parseInt(h, 16));
      if (mac.length !== 6 || mac.some(Number.isNaN)) return 0x102; // ESP_ERR_INVALID_ARG
      fill(0, new Uint8Array(mac));
      return 0;
    }
  }
  return 'none';
}

/** esp_ota_get_state_partition(ota_<slot>): the intact entry with the highest seq selecting it. */
async function entryState(board: BootedBoard, slot: number): Promise<number> {
  const entries = await new OtaData(board.flash.otadata!).read();
  let found: OtaEntry | undefined;
  for (const e of entries) if (isEntryIntact(e) && slotOfSeq(e.seq) === slot && (found === undefined || e.seq > found.seq)) found = e;
  return found === undefined ? -1 : found.state;
}
