// Jobs that exercise the bridge itself (harness tests): round trips, sync and async host calls.
import type { GuestBridge, Target } from './bridge.ts';
import type { Job } from './jobs.ts';

interface CallArgs {
  readonly target: Target;
  readonly method: string;
  readonly args?: unknown[];
  readonly async?: boolean;
}

export const bridgeJobs: Record<string, Job> = {
  /** Sends its arguments back: the codec both ways. */
  echo: async (args: unknown) => args,
  /** Calls host objects in turn; '$previous' targets the handle the previous call returned. */
  calls: async (args: { calls: CallArgs[] }, bridge: GuestBridge) => {
    const results: unknown[] = [];
    for (const call of args.calls) {
      const target = call.target === '$previous' ? (results[results.length - 1] as Target) : call.target;
      results.push(call.async ? await bridge.callAsync(target, call.method, call.args) : bridge.call(target, call.method, call.args));
    }
    // Handles go back as handles: the host receives its own objects again.
    return results;
  },
  /** Starts async calls together and records the order their results arrive in the guest. */
  race: async (args: { calls: CallArgs[] }, bridge: GuestBridge) => {
    const arrived: number[] = [];
    await Promise.all(args.calls.map((call, index) => bridge.callAsync(call.target, call.method, call.args).then(() => arrived.push(index))));
    return arrived;
  },
  /** Throws what the host call threw, so tests see how errors cross. */
  failingCall: async (args: CallArgs, bridge: GuestBridge) => {
    try {
      bridge.call(args.target, args.method, args.args);
      return { threw: false };
    } catch (error) {
      const e = error as Error & { code?: string };
      return { threw: true, name: e.name, message: e.message, code: e.code, isOtaError: e.constructor.name };
    }
  },
  /** Never settles: the harness must notice a guest that went idle. */
  hang: () => new Promise(() => {}),
};
