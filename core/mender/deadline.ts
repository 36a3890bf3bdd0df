// An overall deadline for one HTTP exchange, on the board's Scheduler clock (no timers in core):
// the Http inactivity timeout catches a silent peer, not one that sends a byte every 2 s. The time
// allowed grows with the bytes expected (or, when the size is unknown, received): a floor, plus
// one second per DEADLINE_MIN_BYTES_PER_S. It is checked whenever bytes arrive, so a trickle fails
// at its next byte after the deadline; a total stall is the inactivity timeout's.
import type { Scheduler } from '../../platform/scheduler.ts';
import { OtaError } from '../../base/errors.ts';

/** Time every exchange gets, whatever its size. */
export const DEADLINE_FLOOR_MS = 60_000;
/** The slowest average rate accepted beyond the floor (a slow cellular link still does far better). */
export const DEADLINE_MIN_BYTES_PER_S = 512;

// A class, as the other per-exchange objects: on a preloaded XS device its methods stay in flash.
export class ExchangeDeadline {
  readonly #scheduler: Scheduler;
  readonly #what: string;
  #expected: number;
  #start: number;
  #received = 0;

  /** `expectedBytes`: what the exchange should move (0 when unknown: received bytes count instead). */
  constructor(scheduler: Scheduler, what: string, expectedBytes = 0) {
    this.#scheduler = scheduler;
    this.#what = what;
    this.#expected = expectedBytes;
    this.#start = scheduler.now();
  }

  /** Sets the bytes expected once known (a response's Content-Length). */
  expect(bytes: number): void {
    this.#expected = bytes;
  }

  /** Starts the clock again (a request sent again after a 429 wait). */
  restart(): void {
    this.#start = this.#scheduler.now();
    this.#received = 0;
  }

  /** Milliseconds allowed for the bytes expected or received so far. */
  get allowedMs(): number {
    const bytes = this.#received > this.#expected ? this.#received : this.#expected;
    return DEADLINE_FLOOR_MS + Math.ceil((bytes * 1000) / DEADLINE_MIN_BYTES_PER_S);
  }

  /** Counts `bytes` received; OtaError('network') naming the exchange once its deadline has passed. */
  check(bytes = 0): void {
    this.#received += bytes;
    const elapsed = this.#scheduler.now() - this.#start;
    const allowed = this.allowedMs;
    if (elapsed <= allowed) return;
    throw new OtaError(
      'network',
      `${this.#what}: deadline passed (${this.#received} bytes in ${Math.round(elapsed / 1000)} s; ${Math.round(allowed / 1000)} s allowed for ${this.#expected > 0 ? `${this.#expected} bytes expected` : 'an unknown size'})`,
    );
  }
}
