// Scheduler: time and waiting. The simulator drives a virtual clock, so a 30-minute poll interval
// costs no real time; devices use Moddable's `timer`.

export interface Scheduler {
  /** Milliseconds on a monotonic clock (since boot on devices, virtual in the simulator). */
  now(): number;
  /** Resolves after `ms` of this scheduler's time. Never rejects. */
  sleep(ms: number): Promise<void>;
  /**
   * Runs `job` after the jobs queued before it have settled: the one work queue that keeps the
   * client's steps (polls, reports, inventory) from overlapping. Resolves or rejects as `job` does.
   */
  enqueue<T>(job: () => Promise<T>): Promise<T>;
}
