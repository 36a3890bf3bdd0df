// A board of the ESP-IDF family (ESP32, ESP32-S3, …): each platform interface paired with its
// Moddable binding; the board's own facts come from its description (boards/<name>/board.json).
// Natives that Moddable does not expose go through mc/ffi (the family manifest's "ffi" section); the
// ESP-IDF boot control is portable (platform/boot-control-esp-ota.ts) and gets embedded:update and
// those FFI calls here.
import Update from 'embedded:update';
import FFI from 'mc/ffi';
import description from 'ota-mcu:board-description';
import { createEspOtaModule } from '../../core/modules/esp-ota.ts';
import type { UpdateModule } from '../../core/modules/update-module.ts';
import type { Board } from '../../platform/board.ts';
import { createEspOtaBootControl, type EspOtaNatives, type EspOtaUpdate } from '../../platform/boot-control-esp-ota.ts';
import type { ResetReason } from '../../platform/system.ts';
import { PartitionFlash } from '../_moddable/flash.ts';
import { StorageKeyValue } from '../_moddable/key-value.ts';
import type { ModdableBoardConfig } from '../_moddable/settings.ts';
import { sharedBindings } from '../_moddable/shared-bindings.ts';
import { createModdableSystem, type ModdableSystemNatives } from '../_moddable/system.ts';
import { ESP_RESET_REASONS } from './reset-reasons.ts';

/** keyValuePath: the NVS namespace (≤ 15 characters); identity: default { mac: the Wi-Fi station MAC }. */
export type EspIdfBoardConfig = ModdableBoardConfig;

const MAX_VALUE_BYTES = 1900; // NVS blob; the deployment log trims itself to this, and it fits one NVS page with its headers
const ESP_MAC_WIFI_STA = 0;
const MAC_BYTES = 6;

/** The payload types this board installs: 'esp-ota' (the core itself carries no update module). */
export function createUpdateModules(): UpdateModule[] {
  return [createEspOtaModule()];
}

export function createBoard(config: EspIdfBoardConfig = {}): Board {
  const ffi = new FFI();
  // esp_partition_write has no alignment rule on plain flash, but with flash encryption it needs
  // 16-byte writes, and Moddable's ESP32 status() reports no writeAlign: the description says which.
  const writeGranule = description.flash.writeGranule;
  const running = new PartitionFlash({ path: 'running', mode: 'r', writeGranule });
  const nextota = new PartitionFlash({ path: 'nextota', writeGranule });
  return {
    name: description.name,
    identity: Object.freeze({ ...(config.identity ?? { mac: readMac(ffi) }) }),
    inventory: Object.freeze({ cpu: description.soc, bootloader: 'esp-idf', slot_bytes: nextota.byteLength, flash_sector_bytes: nextota.sectorBytes }),
    ...sharedBindings(config),
    bootControl: createEspOtaBootControl({ running, nextota, natives: new EspOtaFfi(ffi, nextota) }),
    keyValue: new StorageKeyValue({ path: config.keyValuePath ?? 'ota-mcu', maxValueBytes: MAX_VALUE_BYTES }),
    system: createModdableSystem(new EspSystemFfi(ffi)),
    flash: Object.freeze({ running, nextota }),
  };
}

// The natives as classes, not object literals of closures: a preloaded XS device keeps class
// methods in flash, where each closure made at boot would cost RAM.
class EspOtaFfi implements EspOtaNatives {
  readonly #ffi: FFI;
  readonly #nextota: PartitionFlash;

  constructor(ffi: FFI, nextota: PartitionFlash) {
    this.#ffi = ffi;
    this.#nextota = nextota;
  }

  runningState(): number {
    return this.#ffi.ota_running_state() as number;
  }

  runningSlot(): number {
    return this.#ffi.ota_running_slot() as number;
  }

  otherState(): number {
    return this.#ffi.ota_other_state() as number;
  }

  markValid(): number {
    return this.#ffi.esp_ota_mark_app_valid_cancel_rollback() as number;
  }

  markInvalid(): number {
    return this.#ffi.esp_ota_mark_app_invalid_rollback() as number;
  }

  clearPending(): number {
    return this.#ffi.ota_clear_pending() as number;
  }

  openUpdate(): EspOtaUpdate {
    return Update.open({ partition: this.#nextota.partition, mode: 'a' });
  }
}

class EspSystemFfi implements ModdableSystemNatives {
  readonly #ffi: FFI;

  constructor(ffi: FFI) {
    this.#ffi = ffi;
  }

  restart(): never {
    System.restart(); // esp_restart(): does not return
    throw new Error('System.restart() returned');
  }

  resetReason(): ResetReason {
    return ESP_RESET_REASONS[this.#ffi.esp_reset_reason() as number] ?? 'unknown';
  }

  fillRandom(into: Uint8Array): void {
    this.#ffi.ota_fill_random(into.buffer, into.byteOffset, into.length);
  }
}

function readMac(ffi: FFI): string {
  const mac = new ArrayBuffer(MAC_BYTES); // an FFI pointer argument is an ArrayBuffer (tools/ffi.js)
  const rc = ffi.esp_read_mac(mac, ESP_MAC_WIFI_STA) as number;
  if (rc !== 0) throw new Error(`esp_read_mac returned 0x${rc.toString(16)}`);
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, '0')).join(':');
}
