// The XS guest for a Moddable board: its family's code (boards/_<family>/board.ts, unmodified),
// bundled with the emulated Moddable modules in place of the SDK's, plus the jobs the Node side
// drives: build the board, call its interfaces (the conformance kit), run the update client.
// First, as each family's main.ts does: the text globals through the "text/decoder" and
// "text/encoder" modules, so a manifest chain without them fails here as on the device.
import '../../boards/_moddable/text-globals.ts';
import { createBoard, createUpdateModules } from 'ota-mcu:board';
import { createClient } from '../../core/client.ts';
import type { ClientEvent } from '../../core/client-config.ts';
import { clientConfigFrom, type BoardSettings } from '../../boards/_moddable/settings.ts';
import type { Board } from '../../platform/board.ts';
import type { Flash } from '../../platform/flash.ts';
import type { GuestBridge } from '../xs/guest/bridge.ts';
import { createJobRunner, type Job } from '../xs/guest/jobs.ts';
import System from './embedded-io-system.ts';
import { native, nativeAsync, useBridge } from './guest-bridge.ts';
import { startMemoryProbe } from './guest-memory.ts';

interface GuestState {
  board: Board | undefined;
  readonly handles: Map<number, object>;
  nextHandle: number;
  /** The client of a run measured by the memory harness, kept alive for the 'idle' reading. */
  client: unknown;
}

const state: GuestState = { board: undefined, handles: new Map(), nextHandle: 1, client: undefined };

/** What the Moddable runtime sets up before main: the global System and trace. */
export function installGlobals(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  g.System = System;
  const trace = (...parts: unknown[]): void => void native('trace', parts.map(String).join(''));
  g.trace = Object.assign(trace, { left: trace, center: trace, right: trace });
}

function snapshot(object: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['offset', 'durableOffset']) {
    const value = (object as Record<string, unknown>)[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}

function resolveTarget(path: readonly (string | number)[]): object {
  let target: unknown = typeof path[0] === 'number' ? state.handles.get(path[0]) : state.board;
  for (const key of typeof path[0] === 'number' ? path.slice(1) : path) target = (target as Record<string, unknown>)?.[key as string];
  if (typeof target !== 'object' || target === null) throw new TypeError(`no guest object at ${path.join('.')}`);
  return target;
}

/** The result as plain data; objects with methods stay in XS and cross as a handle. */
function exportValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value;
  if (Object.values(value).some((v) => typeof v === 'function') || Object.getPrototypeOf(value) !== Object.prototype) {
    const handle = state.nextHandle++;
    state.handles.set(handle, value);
    return { $handle: handle, props: snapshot(value) };
  }
  return { ...value };
}

export const guestJobs: Record<string, Job> = {
  boot: async (args: { config: Record<string, unknown> }, bridge: GuestBridge) => {
    useBridge(bridge);
    installGlobals();
    const board: Board = createBoard(args.config);
    state.board = board;
    const flash: Record<string, unknown> = {};
    for (const [name, region] of Object.entries(board.flash) as [string, Flash][]) {
      flash[name] = { byteLength: region.byteLength, sectorBytes: region.sectorBytes, writeGranule: region.writeGranule, erasedByte: region.erasedByte };
    }
    return { name: board.name, identity: { ...board.identity }, inventory: { ...board.inventory }, flash, maxValueBytes: board.keyValue.maxValueBytes };
  },
  /** Calls board.<path>.<method>(...args); buffers in args come back (the callee may have filled them). */
  call: async (args: { path: (string | number)[]; method: string; args: unknown[] }) => {
    const target = resolveTarget(args.path) as Record<string, (...a: unknown[]) => unknown>;
    const fn = target[args.method];
    if (typeof fn !== 'function') throw new TypeError(`${args.path.join('.')}.${args.method} is not a method`);
    const value = await fn.apply(target, args.args);
    const handle = typeof args.path[0] === 'number' ? state.handles.get(args.path[0]) : undefined;
    return {
      value: exportValue(value),
      buffers: args.args.map((a) => (a instanceof Uint8Array ? a : undefined)),
      props: handle === undefined ? undefined : snapshot(handle),
    };
  },
  /** `memory`: the memory harness's readings (guest-memory.ts) at each I/O point and state change. */
  runClient: async (args: { settings: BoardSettings; selfTest: boolean; events: boolean; memory?: boolean }, bridge: GuestBridge) => {
    const board = state.board;
    if (board === undefined) throw new Error('runClient before boot');
    const probe = args.memory ? startMemoryProbe(bridge) : undefined;
    // The board as built by the boot job, before the client exists; this reading's peaks also
    // cover the bundle's evaluation and are not used (device-memory.ts).
    probe?.read('start');
    const onEvent = (event: ClientEvent): void => {
      if (event.type === 'state') probe?.state(event.state);
      if (args.events) bridge.notify('event', event);
    };
    const config = clientConfigFrom(args.settings, {
      ...(args.selfTest ? { selfTest: () => nativeAsync(undefined, 'selfTest') as Promise<boolean> } : {}),
      ...(args.events || probe ? { onEvent } : {}),
    });
    // As each family's main.ts does: the update module of its boot chain.
    const client = createClient(board, { ...config, updateModules: createUpdateModules() });
    const result = await client.runOnce();
    if (probe) {
      // Between polls: the client and the board stay alive, waiting for the next poll.
      state.client = client;
      probe.read('end', 'idle');
      probe.read('idle');
    }
    return result;
  },
};

(globalThis as unknown as { OtaMcuXs: unknown }).OtaMcuXs = createJobRunner(guestJobs);
