// System: what the device itself provides: restart, reset reason, wall clock, log, randomness.

export type ResetReason = 'power-on' | 'software' | 'watchdog' | 'brownout' | 'panic' | 'unknown';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface System {
  /**
   * Restarts the device. Nothing in memory survives; flash and KeyValue do. Never returns on a
   * device; the simulator unwinds the running client with a DeviceRestart it catches itself.
   */
  restart(): never;
  /** Why the device last started. */
  resetReason(): ResetReason;
  /** Wall-clock milliseconds since the Unix epoch, or NaN while unknown (no SNTP yet). */
  wallClockMs(): number;
  log(level: LogLevel, message: string): void;
  /** Cryptographically strong random bytes (hardware RNG on devices). */
  randomBytes(length: number): Uint8Array;
}
