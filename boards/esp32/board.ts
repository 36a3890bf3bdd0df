// The ESP32 / ESP32-S3 board: each platform interface paired with its Moddable binding. Natives
// that Moddable does not expose go through mc/ffi (the manifest's "ffi" section declares them).
import FFI from 'mc/ffi';
import { createEspOtaModule } from '../../core/modules/esp-ota.ts';
import type { UpdateModule } from '../../core/modules/update-module.ts';
import type { Board } from '../../platform/board.ts';
import type { ResetReason } from '../../platform/system.ts';
import { PartitionFlash } from '../_moddable/flash.ts';
import { StorageKeyValue } from '../_moddable/key-value.ts';
import type { ModdableBoardConfig } from '../_moddable/settings.ts';
import { sharedBindings } from '../_moddable/shared-bindings.ts';
import { createModdableSystem } from '../_moddable/system.ts';
import { createEspOtaBootControl, type EspOtaNatives } from './boot-control-esp-ota.ts';

/** keyValuePath: the NVS namespace (≤ 15 characters); identity: default { mac: the Wi-Fi station MAC }. */
export type Esp32BoardConfig = ModdableBoardConfig;

/**
 * esp_partition_write has no alignment rule on plain flash, but with flash encryption it needs
 * 16-byte aligned writes; the ESP32 status() reports no writeAlign, so assume the stricter one.
 */
const WRITE_GRANULE = 16;
const MAX_VALUE_BYTES = 1900; // NVS blob; the deployment log trims itself to this, and it fits one NVS page with its headers
const ESP_MAC_WIFI_STA = 0;

/** esp_reset_reason_t → ours (esp_system.h). */
const RESET_REASONS: Record<number, ResetReason> = {
  1: 'power-on', // ESP_RST_POWERON
  2: 'power-on', // ESP_RST_EXT: the reset pin
  3: 'software', // ESP_RST_SW
  4: 'panic', // ESP_RST_PANIC
  5: 'watchdog', // ESP_RST_INT_WDT
  6: 'watchdog', // ESP_RST_TASK_WDT
  7: 'watchdog', // ESP_RST_WDT
  8: 'power-on', // ESP_RST_DEEPSLEEP
  9: 'brownout', // ESP_RST_BROWNOUT
};

/** The payload types this board installs: 'esp-ota' (the core itself carries no update module). */
export function createUpdateModules(): UpdateModule[] {
  return [createEspOtaModule()];
}

export function createBoard(config: Esp32BoardConfig = {}): Board {
  const ffi = new FFI();
  const natives: EspOtaNatives = {
    runningState: () => ffi.ota_running_state() as number,
    runningSlot: () => ffi.ota_running_slot() as number,
    otherState: () => ffi.ota_other_state() as number,
    markValid: () => ffi.esp_ota_mark_app_valid_cancel_rollback() as number,
    markInvalid: () => ffi.esp_ota_mark_app_invalid_rollback() as number,
    clearPending: () => ffi.ota_clear_pending() as number,
  };
  const running = new PartitionFlash({ path: 'running', mode: 'r', writeGranule: WRITE_GRANULE });
  const nextota = new PartitionFlash({ path: 'nextota', writeGranule: WRITE_GRANULE });
  return {
    name: 'esp32',
    identity: Object.freeze({ ...(config.identity ?? { mac: readMac(ffi) }) }),
    inventory: Object.freeze({ cpu: 'esp32', bootloader: 'esp-idf', slot_bytes: nextota.byteLength, flash_sector_bytes: nextota.sectorBytes }),
    ...sharedBindings(config),
    bootControl: createEspOtaBootControl({ running, nextota, natives }),
    keyValue: new StorageKeyValue({ path: config.keyValuePath ?? 'ota-mcu', maxValueBytes: MAX_VALUE_BYTES }),
    system: createModdableSystem({
      restart(): never {
        System.restart(); // esp_restart(): does not return
        throw new Error('System.restart() returned');
      },
      resetReason: () => RESET_REASONS[ffi.esp_reset_reason() as number] ?? 'unknown',
      fillRandom(into: Uint8Array): void {
        ffi.esp_fill_random(into, into.length);
      },
    }),
    flash: Object.freeze({ running, nextota }),
  };
}

function readMac(ffi: FFI): string {
  const mac = new Uint8Array(6);
  const rc = ffi.esp_read_mac(mac, ESP_MAC_WIFI_STA) as number;
  if (rc !== 0) throw new Error(`esp_read_mac returned 0x${rc.toString(16)}`);
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}
