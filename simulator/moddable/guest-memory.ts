// The guest side of the device memory harness (simulator/moddable/device-memory.ts): readings of
// XS's own counters at each I/O point and each change of the client's state, taken only when the
// harness asks (guest-main's runClient job with `memory: true`); other runs never load a probe.
//
// A reading is `gc()` then `otaMemory(true)` (simulator/xs/native/creation.c) and goes to Node as a
// 'memory' notification:
//   - after the collection, currentHeapCount and currentChunksSize are what is LIVE at that point;
//     the largest of them over a phase is the phase's live high-water at its I/O points, a lower
//     bound of what the phase needs (what is live between two I/O points is not seen);
//   - peakHeapCount and peakChunksSize are the most in use since the previous reading, garbage
//     included (XS counts a slot or chunk as used until a collection frees it): an upper bound of
//     what the interval needed, inflated by garbage a fixed heap would have collected;
//   - `true` resets both peaks to the current (live) values, so each reading covers one interval.
// The reading's own allocations (the ArrayBuffer otaMemory returns, the Uint8Array over it and the
// notification's frame, a few hundred bytes of chunks and a few slots) are garbage by the next
// reading; they fall in the next interval's garbage-inclusive peak, never in a live figure.
//
// Phases: the reading is charged to the phase that was current since the previous reading. Inside
// a deployment the client's state events give it (PHASE_OF_STATE); before the deployment machine
// runs (no state events) the request path does: auth_requests is 'authorize', deployments/next and
// the inventory PATCH of the same poll are 'check'. 'idle' is the board built and the client not
// polling: the boot before runOnce, and after runOnce with the client kept alive (between polls).
import type { GuestBridge } from '../xs/guest/bridge.ts';
import { setMemoryProbe } from './guest-bridge.ts';

interface XsMemoryGlobals {
  gc(): void;
  otaMemory(reset?: boolean): ArrayBuffer;
}

export type MemoryPhase = 'idle' | 'authorize' | 'check' | 'download' | 'verify' | 'install' | 'report';

/** The client's states (core/deployment/states.ts) grouped into the phases. */
export const PHASE_OF_STATE: Readonly<Record<string, MemoryPhase>> = {
  idle: 'idle',
  authorize: 'authorize',
  'check-update': 'check',
  download: 'download',
  verify: 'verify',
  install: 'install',
  reboot: 'install', // marks the image pending and resets: the end of the install
  'verify-reboot': 'report', // after the reset: the new image checks itself, then commits and reports
  commit: 'report',
  'already-installed': 'report',
  report: 'report',
  cleanup: 'report',
  rollback: 'install',
  'rollback-reboot': 'install',
  'verify-rollback': 'report',
  failure: 'report',
};

/** What one reading sends (the raw otaMemory JSON bytes; Node parses them). */
export interface MemoryReading {
  /** Where it was taken: 'start', 'state:<name>', 'io:<native>', 'end', 'idle'. */
  readonly at: string;
  /** The phase the interval since the previous reading belongs to. */
  readonly phase: MemoryPhase;
  readonly raw: Uint8Array;
}

const PHASE_OF_PATH: readonly [RegExp, MemoryPhase][] = [
  [/\/authentication\/auth_requests$/, 'authorize'],
  [/\/deployments\/device\/deployments\/next/, 'check'],
  [/\/inventory\/device\/attributes$/, 'check'],
];

export interface MemoryProbe {
  /** A reading at `at`, charged to the current phase; then `next` (if given) becomes current. */
  read(at: string, next?: MemoryPhase): void;
  /** A client state event. */
  state(name: string): void;
}

export function startMemoryProbe(bridge: GuestBridge): MemoryProbe {
  const xs = globalThis as unknown as XsMemoryGlobals;
  let phase: MemoryPhase = 'idle';
  let inDeployment = false;
  const read = (at: string, next?: MemoryPhase): void => {
    xs.gc();
    const raw = xs.otaMemory(true);
    bridge.notify('memory', { at, phase, raw: new Uint8Array(raw) } satisfies MemoryReading);
    if (next !== undefined) phase = next;
  };
  setMemoryProbe((method, args) => {
    let next: MemoryPhase | undefined;
    if (method === 'httpRequest' && !inDeployment) {
      const path = String((args[0] as { path?: unknown } | undefined)?.path ?? '');
      next = PHASE_OF_PATH.find(([pattern]) => pattern.test(path))?.[1];
    }
    read(`io:${method}`, next);
  });
  return {
    read,
    state(name) {
      inDeployment = true;
      read(`state:${name}`, PHASE_OF_STATE[name] ?? 'report');
    },
  };
}
