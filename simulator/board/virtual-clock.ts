// Virtual time for a simulated device: a sleep does not wait, it moves the clock to its deadline
// and resolves on the next macrotask, earliest deadline first. A 30-minute poll interval costs no
// real time, and concurrent sleeps still wake in deadline order. Network I/O stays in real time.
import type { Scheduler } from '../../platform/scheduler.ts';

interface Timer {
  readonly at: number;
  readonly order: number; // FIFO among equal deadlines
  readonly owner: VirtualScheduler;
  readonly wake: () => void;
}

export class VirtualClock {
  #now = 0;
  #order = 0;
  #timers: Timer[] = []; // sorted by (at, order); few at a time
  #pumping = false;

  now(): number {
    return this.#now;
  }

  /** Moves time forward (tests); sleeps whose deadline has come wake on the next macrotask. */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`"ms" expected a finite number >= 0, got ${ms}`);
    this.#now += ms;
    this.#pump();
  }

  /** @internal Registers a sleep of `owner`; see VirtualScheduler.sleep. */
  addTimer(owner: VirtualScheduler, ms: number, wake: () => void): void {
    const timer: Timer = { at: this.#now + ms, order: this.#order++, owner, wake };
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    this.#pump();
  }

  /** @internal Drops every pending sleep of `owner` (its board was reset: they never wake). */
  dropTimers(owner: VirtualScheduler): void {
    this.#timers = this.#timers.filter((t) => t.owner !== owner);
  }

  /** Pending sleeps, for tests. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  #pump(): void {
    if (this.#pumping || this.#timers.length === 0) return;
    this.#pumping = true;
    // One timer per macrotask, so what the woken code does (maybe an earlier sleep) runs first.
    setImmediate(() => {
      this.#pumping = false;
      const timer = this.#timers.shift();
      if (timer !== undefined) {
        if (timer.at > this.#now) this.#now = timer.at;
        timer.wake();
      }
      this.#pump();
    });
  }
}

/** One boot's Scheduler over the device's clock. */
export class VirtualScheduler implements Scheduler {
  readonly #clock: VirtualClock;
  #tail: Promise<unknown> = Promise.resolve();
  #disposed = false;

  constructor(clock: VirtualClock) {
    this.#clock = clock;
  }

  now(): number {
    return this.#clock.now();
  }

  sleep(ms: number): Promise<void> {
    if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0 || !Number.isFinite(ms)) {
      throw new RangeError(`"ms" expected a finite number >= 0, got ${ms}`);
    }
    return new Promise((resolve) => {
      if (!this.#disposed) this.#clock.addTimer(this, ms, resolve);
    });
  }

  enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => job());
    this.#tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** The board is gone (reset): its pending sleeps never wake, new ones never start. */
  dispose(): void {
    this.#disposed = true;
    this.#clock.dropTimers(this);
  }
}
