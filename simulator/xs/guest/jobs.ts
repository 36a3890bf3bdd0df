// Guest jobs: named async functions the Node harness starts in XS. A job fetches its arguments
// from the host ('$job'.args), runs, and reports { ok } or { err } with notify('done').
import { GuestBridge, xsnapGlobals } from './bridge.ts';

export type Job = (args: never, bridge: GuestBridge) => Promise<unknown>;

/**
 * Deterministic compute of a synchronous-to-XS section (no bridged async call inside): xsnap's
 * `resetMeter(limit, index)` returns the operations counted so far and restarts the count.
 */
export function startMeter(): () => number {
  const reset = xsnapGlobals().resetMeter;
  if (!reset) throw new Error('resetMeter is not available in this engine');
  reset(0, 0);
  return () => reset(0, 0);
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
