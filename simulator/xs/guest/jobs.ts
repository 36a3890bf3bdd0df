// Guest jobs: named async functions the Node harness starts in XS. A job fetches its arguments
// from the host ('$job'.args), runs, and reports { ok } or { err } with notify('done').
import { GuestBridge, xsnapGlobals } from './bridge.ts';

export type Job = (args: never, bridge: GuestBridge) => Promise<unknown>;

/**
 * Deterministic compute of a section that stays inside one crank (no bridged async call):
 * xsnap's `resetMeter(limit, index)` returns the count so far and restarts it. The engine's count
 * is a 32-bit integer, so long sections call `lap()` now and then (say per chunk) to add up the
 * count before it can wrap; the laps themselves cost a handful of operations.
 */
export function startMeter(): { lap(): void; stop(): number } {
  const reset = xsnapGlobals().resetMeter;
  if (!reset) throw new Error('resetMeter is not available in this engine');
  reset(0, 0);
  let total = 0;
  return {
    lap(): void {
      total += reset(0, 0) >>> 0;
    },
    stop(): number {
      total += reset(0, 0) >>> 0;
      return total;
    },
  };
}

export function createJobRunner(jobs: Record<string, Job>): { start(name: string): void } {
  let bridge: GuestBridge | undefined;
  return {
    start(name: string): void {
      bridge ??= new GuestBridge();
      const b = bridge;
      const job = jobs[name];
      const run = async (): Promise<unknown> => {
        if (!job) throw new TypeError(`no XS job named ${name}`);
        return job(b.call('$job', 'args') as never, b);
      };
      run().then(
        (ok) => b.notify('done', { ok }),
        (err: unknown) => {
          // DeviceHalted cannot be reported: the host is already tearing the engine down.
          if (err instanceof Error && err.name === 'DeviceHalted') return;
          b.notify('done', { err: err instanceof Error ? err : new Error(String(err)) });
        },
      );
    },
  };
}
