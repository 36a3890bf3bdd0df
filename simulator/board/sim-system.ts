// System for a simulated board: restart unwinds the running app with DeviceRestart (the harness
// catches it and boots again), the reset reason is what the harness says, wall time is the virtual
// clock plus a fixed epoch, and the log goes to a per-device array.
import { randomBytes } from 'node:crypto';
import type { LogLevel, ResetReason, System } from '../../platform/system.ts';

/** Thrown by System.restart(): nothing above it in the running app survives. */
export class DeviceRestart extends Error {
  override readonly name = 'DeviceRestart';
}

/** 2026-01-01T00:00:00Z: the simulated wall clock starts here at virtual time 0. */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

export interface LogEntry {
  readonly boot: number;
  readonly atMs: number; // virtual clock
  readonly level: LogLevel;
  readonly message: string;
}

export interface SimSystemOptions {
  clock: { now(): number };
  resetReason: ResetReason;
  boot: number;
  log: LogEntry[];
  printer?: (entry: LogEntry) => void;
  /** Told before restart() unwinds (the harness records the reset reason). */
  onRestart?: () => void;
}

export class SimSystem implements System {
  readonly #options: SimSystemOptions;

  constructor(options: SimSystemOptions) {
    this.#options = { ...options };
  }

  restart(): never {
    this.#options.onRestart?.();
    throw new DeviceRestart('System.restart()');
  }

  resetReason(): ResetReason {
    return this.#options.resetReason;
  }

  wallClockMs(): number {
    return SIM_EPOCH_MS + this.#options.clock.now();
  }

  log(level: LogLevel, message: string): void {
    const entry: LogEntry = { boot: this.#options.boot, atMs: this.#options.clock.now(), level, message };
    this.#options.log.push(entry);
    this.#options.printer?.(entry);
  }

  randomBytes(length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`"length" expected an integer >= 0, got ${length}`);
    return new Uint8Array(randomBytes(length));
  }
}
