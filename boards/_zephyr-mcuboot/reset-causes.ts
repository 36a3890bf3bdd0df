// Zephyr's hwinfo reset-cause bits → the client's reset reason, per SoC. Zephyr names the causes
// (RESET_* in include/zephyr/drivers/hwinfo.h) but each SoC driver decides which bits one reset
// sets, so the order that reads them right is the SoC's: a table per `soc` of the board
// description (boards/<name>/board.json), most telling cause first.
import type { ResetReason } from '../../platform/system.ts';

/** RESET_* bits of zephyr/drivers/hwinfo.h. */
export const HWINFO_RESET = Object.freeze({
  PIN: 1 << 0,
  SOFTWARE: 1 << 1,
  BROWNOUT: 1 << 2,
  POR: 1 << 3,
  WATCHDOG: 1 << 4,
  DEBUG: 1 << 5,
  SECURITY: 1 << 6,
  LOW_POWER_WAKE: 1 << 7,
  CPU_LOCKUP: 1 << 8,
});

export type ResetCauseTable = readonly (readonly [bits: number, reason: ResetReason])[];

/**
 * STM32 (drivers/hwinfo/hwinfo_stm32.c reads RCC's reset flags). Every internal reset also drives
 * NRST, so PINRSTF comes with a software or watchdog reset; a power-on sets PORRSTF together with
 * BORRSTF and PINRSTF (RM0433 §8.4.4 for the H7, the same on F4/F7/L4). So: watchdog and software
 * before the pin, and power-on before brownout.
 */
const STM32: ResetCauseTable = [
  [HWINFO_RESET.WATCHDOG, 'watchdog'],
  [HWINFO_RESET.SOFTWARE, 'software'],
  [HWINFO_RESET.POR, 'power-on'],
  [HWINFO_RESET.BROWNOUT, 'brownout'],
  [HWINFO_RESET.LOW_POWER_WAKE, 'power-on'], // wake from standby: the chip restarts from reset
  [HWINFO_RESET.PIN, 'power-on'], // the reset button alone
];

export const RESET_CAUSE_TABLES: Readonly<Record<string, ResetCauseTable>> = Object.freeze({ stm32: STM32 });

/** The reason for the hwinfo bits `bits` on a `soc`; 'unknown' when no bit the table knows is set. */
export function resetReasonOf(table: ResetCauseTable, bits: number): ResetReason {
  for (const [bit, reason] of table) if (bits & bit) return reason;
  return 'unknown';
}

/** The SoC's table; an unknown SoC is a build mistake, named. */
export function resetCauseTable(soc: string): ResetCauseTable {
  const table = RESET_CAUSE_TABLES[soc];
  if (table === undefined) {
    throw new RangeError(`"soc" expected one of ${Object.keys(RESET_CAUSE_TABLES).join(', ')} (boards/_zephyr-mcuboot/reset-causes.ts), got "${soc}"`);
  }
  return table;
}
