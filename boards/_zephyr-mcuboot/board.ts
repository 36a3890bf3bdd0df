// A board of the Zephyr + MCUboot family (Moddable on Zephyr): each platform interface paired with
// its binding; the board's own facts come from its description (boards/<name>/board.json).
// Zephyr's System.restart() does nothing and there is no embedded:update, so reboot and the MCUboot
// requests are Zephyr calls through mc/ffi; the __syscalls among them go through the C wrappers
// of zephyr-natives.c.
import FFI from 'mc/ffi';
import description from 'ota-mcu:board-description';
import { readU32LE, toHex } from '../../base/bytes.ts';
import { createZephyrImageModule } from '../../core/modules/zephyr-image.ts';
import type { UpdateModule } from '../../core/modules/update-module.ts';
import type { Board } from '../../platform/board.ts';
import type { ResetReason } from '../../platform/system.ts';
import { sha256Crypt } from '../_moddable/digest.ts';
import { PartitionFlash } from '../_moddable/flash.ts';
import { StorageKeyValue } from '../_moddable/key-value.ts';
import type { ModdableBoardConfig } from '../_moddable/settings.ts';
import { sharedBindings } from '../_moddable/shared-bindings.ts';
import { createModdableSystem, type ModdableSystemNatives } from '../_moddable/system.ts';
import { createZephyrBootControl, type ZephyrMcubootNatives } from './boot-control-zephyr.ts';
import { resetCauseTable, resetReasonOf } from './reset-causes.ts';

/** keyValuePath: the Zephyr settings subtree; identity: default { device_id: the MCU's unique ID (hwinfo) }. */
export interface ZephyrBoardConfig extends ModdableBoardConfig {
  /** Devicetree labels of the MCUboot slots (slot0_partition / slot1_partition). */
  readonly primaryLabel?: string;
  readonly secondaryLabel?: string;
}

const SYS_REBOOT_COLD = 1;
const MAX_VALUE_BYTES = 1900; // one record with its headers fits a 2 KiB NVS sector of the settings backend

/** The payload types this board installs: 'zephyr-image' (the core itself carries no update module). */
export function createUpdateModules(): UpdateModule[] {
  return [createZephyrImageModule()];
}

export function createBoard(config: ZephyrBoardConfig = {}): Board {
  const ffi = new FFI();
  const primary = new PartitionFlash({ path: config.primaryLabel ?? 'image-0' });
  const secondary = new PartitionFlash({ path: config.secondaryLabel ?? 'image-1' });
  const resetReason = readResetReason(ffi);
  return {
    name: description.name,
    identity: Object.freeze({ ...(config.identity ?? { device_id: readDeviceId(ffi) }) }),
    inventory: Object.freeze({ cpu: description.soc, bootloader: 'mcuboot', slot_bytes: secondary.byteLength, flash_sector_bytes: secondary.sectorBytes }),
    ...sharedBindings(config),
    bootControl: createZephyrBootControl({
      primary,
      secondary,
      sha256: sha256Crypt,
      natives: new McubootFfi(ffi),
    }),
    keyValue: new StorageKeyValue({ path: config.keyValuePath ?? 'ota-mcu', maxValueBytes: MAX_VALUE_BYTES }),
    system: createModdableSystem(new ZephyrSystemFfi(ffi, resetReason)),
    flash: Object.freeze({ primary, secondary }),
  };
}

// The natives as classes, not object literals of closures: a preloaded XS device keeps class
// methods in flash, where each closure made at boot would cost RAM.
class McubootFfi implements ZephyrMcubootNatives {
  readonly #ffi: FFI;

  constructor(ffi: FFI) {
    this.#ffi = ffi;
  }

  requestUpgrade(permanent: number): number {
    return this.#ffi.boot_request_upgrade(permanent) as number;
  }

  writeImageConfirmed(): number {
    return this.#ffi.boot_write_img_confirmed() as number;
  }
}

class ZephyrSystemFfi implements ModdableSystemNatives {
  readonly #ffi: FFI;
  readonly #resetReason: ResetReason;

  constructor(ffi: FFI, resetReason: ResetReason) {
    this.#ffi = ffi;
    this.#resetReason = resetReason;
  }

  restart(): never {
    this.#ffi.sys_reboot(SYS_REBOOT_COLD); // Zephyr's System.restart() only loops
    throw new Error('sys_reboot returned');
  }

  resetReason(): ResetReason {
    return this.#resetReason;
  }

  fillRandom(into: Uint8Array): void {
    const rc = this.#ffi.ota_csrand_get(into.buffer, into.byteOffset, into.length) as number;
    if (rc !== 0) throw new Error(`sys_csrand_get returned ${rc}`);
  }
}

/** Read once per boot, then cleared, so the next boot sees only its own cause. */
function readResetReason(ffi: FFI): ResetReason {
  const cause = new ArrayBuffer(4); // uint32_t, little-endian on Cortex-M
  if ((ffi.ota_reset_cause(cause) as number) !== 0) return 'unknown';
  ffi.ota_clear_reset_cause();
  return resetReasonOf(resetCauseTable(description.soc), readU32LE(new Uint8Array(cause), 0));
}

function readDeviceId(ffi: FFI): string {
  const bytes = description.deviceIdBytes ?? 0;
  const id = new ArrayBuffer(bytes);
  const n = ffi.ota_device_id(id, bytes) as number;
  if (n <= 0) throw new Error(`hwinfo_get_device_id returned ${n}`);
  return toHex(new Uint8Array(id, 0, Math.min(n, bytes)));
}
