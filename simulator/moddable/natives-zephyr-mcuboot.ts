// The Zephyr + MCUboot family's FFI natives (boards/_zephyr-mcuboot/manifest.json "ffi"), as the
// simulated board answers them: MCUboot's request and confirm over the trailer model, sys_reboot,
// and the C wrappers of zephyr-natives.c (CSPRNG, hwinfo reset cause, device id).
import { createHash } from 'node:crypto';
import { readTrailer, trailerLayoutFor, writeImageOk, writeMagic, writeSwapInfo } from '../../platform/mcuboot-trailer.ts';
import type { ResetReason } from '../../platform/system.ts';
import type { BootedBoard } from '../board/sim-device.ts';

/** hwinfo RESET_* bits an STM32 reports (hwinfo_stm32.c; RM0433 §8.4.4): NRST comes with every internal reset, BOR with a POR. */
const ZEPHYR_RESET: Record<ResetReason, number> = { 'power-on': (1 << 3) | (1 << 2) | 1, software: (1 << 1) | 1, watchdog: (1 << 4) | 1, brownout: (1 << 2) | 1, panic: (1 << 1) | 1, unknown: 0 };

/** The native `name` with `args`; `fill` gives what it leaves in a pointer argument. 'none': not one of the family's. */
export async function zephyrMcubootNative(board: BootedBoard, name: string, args: unknown[], fill: (index: number, bytes: Uint8Array) => void): Promise<number | undefined | 'none'> {
  const primary = board.flash.primary!;
  const secondary = board.flash.secondary!;
  switch (name) {
    case 'boot_request_upgrade': {
      // boot_set_pending(permanent) = boot_set_next(secondary, false, permanent): bootutil_public.c
      const layout = trailerLayoutFor(secondary);
      const trailer = await readTrailer(secondary, layout);
      if (trailer.magic === 'good') return 0;
      if (trailer.magic === 'bad') return -14; // BOOT_EBADIMAGE → -EFAULT
      await writeMagic(secondary, layout);
      if (args[0]) await writeImageOk(secondary, layout);
      await writeSwapInfo(secondary, layout, args[0] ? 'perm' : 'test');
      return 0;
    }
    case 'boot_write_img_confirmed': {
      const layout = trailerLayoutFor(primary);
      const trailer = await readTrailer(primary, layout);
      if (trailer.magic === 'bad') return 4; // BOOT_EBADVECT
      if (trailer.magic === 'good' && trailer.imageOk === 'unset') await writeImageOk(primary, layout);
      return 0;
    }
    case 'sys_reboot':
      return board.system.restart();
    case 'ota_csrand_get': {
      // zephyr-natives.c: sys_csrand_get(buffer + offset, length)
      const [buffer, offset, length] = args as [Uint8Array, number, number];
      const out = new Uint8Array(buffer);
      out.set(board.system.randomBytes(length), offset);
      fill(0, out);
      return 0;
    }
    case 'ota_reset_cause': {
      const cause = new Uint8Array(args[0] as Uint8Array);
      new DataView(cause.buffer).setUint32(0, ZEPHYR_RESET[board.system.resetReason()], true);
      fill(0, cause);
      return 0;
    }
    case 'ota_clear_reset_cause':
      return 0;
    case 'ota_device_id': {
      const length = args[1] as number;
      const id = createHash('sha256').update(JSON.stringify(board.identity)).digest().subarray(0, Math.min(12, length));
      fill(0, new Uint8Array(id));
      return id.length;
    }
  }
  return 'none';
}
