// System for Moddable boards: the log goes to `trace` (xsbug in debug builds, the console UART in
// release builds); restart, reset reason and randomness are the board's natives.
import type { LogLevel, ResetReason, System } from '../../platform/system.ts';

export interface ModdableSystemNatives {
  /** Never returns (esp_restart, sys_reboot). */
  restart(): never;
  resetReason(): ResetReason;
  /** Fills `into`, which may be a view into part of a larger buffer, from the hardware RNG. */
  fillRandom(into: Uint8Array): void;
}

/**
 * The System, plus filling a caller's buffer in place: no allocation, and the one path on which
 * a native sees a view that does not start its ArrayBuffer (the FFI passes buffer and offset
 * apart), so the system conformance suite reaches it through here.
 */
export interface ModdableSystem extends System {
  fillRandom(into: Uint8Array): void;
}

/** Wall time before SNTP: Moddable's Date starts near the epoch until Time.set is called. */
const CLOCK_SET_AFTER_MS = Date.UTC(2024, 0, 1);

export function createModdableSystem(natives: ModdableSystemNatives): ModdableSystem {
  return new NativeSystem(natives);
}

// A class rather than a closure factory: a preloaded XS device keeps its methods in flash.
class NativeSystem implements ModdableSystem {
  readonly #natives: ModdableSystemNatives;

  constructor(natives: ModdableSystemNatives) {
    this.#natives = natives;
  }

  restart(): never {
    return this.#natives.restart();
  }

  resetReason(): ResetReason {
    return this.#natives.resetReason();
  }

  wallClockMs(): number {
    const now = Date.now();
    return now >= CLOCK_SET_AFTER_MS ? now : NaN;
  }

  log(level: LogLevel, message: string): void {
    trace(`[${level}] ${message}\n`);
  }

  randomBytes(length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`"length" expected an integer >= 0, got ${length}`);
    const out = new Uint8Array(length);
    this.fillRandom(out);
    return out;
  }

  fillRandom(into: Uint8Array): void {
    if (!(into instanceof Uint8Array)) throw new TypeError('"into" expected a Uint8Array');
    if (into.length > 0) this.#natives.fillRandom(into);
  }
}
