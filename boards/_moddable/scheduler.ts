// Scheduler over Moddable's `timer` and `time`: Time.ticks is the monotonic millisecond clock,
// Timer.set the only way to wait (there is no global setTimeout).
import Time from 'time';
import Timer from 'timer';
import type { Scheduler } from '../../platform/scheduler.ts';

export function createTimerScheduler(): Scheduler {
  return new TimerScheduler();
}

// The board bindings are classes rather than closure factories: a preloaded XS device keeps their
// methods in flash, where each closure a factory makes costs RAM.
class TimerScheduler implements Scheduler {
  #tail: Promise<unknown> = Promise.resolve();

  now(): number {
    return Time.ticks;
  }

  sleep(ms: number): Promise<void> {
    if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`"ms" expected a finite number >= 0, got ${ms}`);
    return new Promise((resolve) => {
      Timer.set(() => resolve(), ms);
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
}
