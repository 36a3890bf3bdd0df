// The Node side of the bridge: executes "call method M of object O with args" for the XS guest
// against real Node objects (the simulated board's Flash, KeyValue, Http, Scheduler, System), and
// drives the guest's event loop by settling its async calls. A halt (System.restart's
// DeviceRestart, a PowerCut) kills the engine on the spot: on a device nothing runs after it.
import { decodeMessage, encodeMessage, wireError, type WireError } from './guest/codec.ts';
import type { XsMeter, XsWorker } from './worker.ts';

interface Request {
  op: 'call' | 'get' | 'start' | 'release' | 'notify';
  /** A root's name, or (decoded from its handle) the object itself. */
  t?: string | object;
  m?: string;
  p?: string;
  a?: unknown[];
  id?: number;
  kind?: string;
  value?: unknown;
}

/** Errors that mean "the device went down": by name, so the bridge needs no simulator imports. */
export function isHalt(error: unknown): error is Error {
  return error instanceof Error && (error.name === 'DeviceRestart' || error.name === 'PowerCut');
}

/** Meter readings of every crank of one guest job, summed and peaked. */
export interface JobMeter {
  /** Sum of `compute` over the job's cranks. */
  compute: number;
  /** Largest `currentHeapCount` seen at the end of a crank during the job. */
  peakHeapCount: number;
  /** `currentHeapCount` at the end of the last crank. */
  lastHeapCount: number;
  cranks: number;
}

export class HostBridge {
  readonly #worker: XsWorker;
  readonly #roots = new Map<string, object>();
  readonly #objects = new Map<number, object>();
  readonly #ids = new WeakMap<object, number>();
  #nextId = 1;
  #inFlight = 0;
  /** Deliveries of finished async calls to the guest, one crank at a time, in completion order. */
  #settles: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  #halt: Error | undefined;
  #done: { resolve(value: unknown): void; reject(error: unknown): void } | undefined;
  #meter: JobMeter | undefined;
  #ended = false;
  #lastMeter: JobMeter = { compute: 0, peakHeapCount: 0, lastHeapCount: 0, cranks: 0 };
  /** One-way messages from the guest other than a job's result (progress, states, logs). */
  onNotify: ((kind: string, value: unknown) => void) | undefined;

  constructor(worker: XsWorker) {
    this.#worker = worker;
    worker.setHandler((request) => this.#handle(request));
  }

  /** What brought the device down, once it went down. */
  get halted(): Error | undefined {
    return this.#halt;
  }

  /** The meter of the latest job, also when it ended in an error or a halt. */
  get lastJobMeter(): JobMeter {
    return this.#lastMeter;
  }

  /** Makes `object` callable from XS by `name`. */
  register(name: string, object: object): void {
    this.#roots.set(name, object);
  }

  /**
   * Runs `script` (which must start a guest job that ends with notify('done', …)) and keeps
   * settling the guest's async calls until it does. Resolves with the job's value and the meter
   * summed over its cranks; rejects with the guest's error, or with the halt (DeviceRestart,
   * PowerCut) when the device went down.
   */
  async run(script: string): Promise<{ value: unknown; meter: JobMeter }> {
    if (this.#done) throw new Error('bridge: a job is already running');
    const meter: JobMeter = { compute: 0, peakHeapCount: 0, lastHeapCount: 0, cranks: 0 };
    this.#meter = meter;
    this.#lastMeter = meter;
    this.#ended = false;
    const done = new Promise<unknown>((resolve, reject) => (this.#done = { resolve, reject }));
    const idle = (async () => {
      await this.#crank(() => this.#worker.evaluate(script));
      // Keep settling until the guest reports; a guest with nothing pending and no result is stuck.
      for (;;) {
        const settles = this.#settles;
        await settles;
        if (this.#ended) return;
        if (settles !== this.#settles) continue;
        // Calls still running on the host settle later (a sleep, a slow response): wait for one.
        if (this.#inFlight > 0) await new Promise<void>((wake) => (this.#wake = wake));
        else throw new Error('bridge: the XS guest went idle with no pending call and no result (a promise nothing settles)');
      }
    })();
    try {
      const value = await Promise.race([done, idle.then(() => done)]);
      // The result arrives mid-crank: let that crank (and any settle still queued) end so its
      // meter is counted.
      await idle;
      return { value, meter };
    } catch (error) {
      if (this.#halt) throw this.#halt;
      throw error;
    } finally {
      this.#done = undefined;
      this.#meter = undefined;
    }
  }

  async #crank(step: () => Promise<{ meter: XsMeter }>): Promise<void> {
    const { meter } = await step();
    const job = this.#meter;
    if (!job) return;
    job.compute += meter.compute;
    job.cranks += 1;
    job.lastHeapCount = meter.currentHeapCount;
    if (meter.currentHeapCount > job.peakHeapCount) job.peakHeapCount = meter.currentHeapCount;
  }

  #target(ref: Request['t']): object {
    const object = typeof ref === 'string' ? this.#roots.get(ref) : ref;
    if (object === undefined) throw new TypeError(`bridge: no object ${JSON.stringify(ref)} (released, or never handed over)`);
    return object;
  }

  #toRef = (value: object): number => {
    let id = this.#ids.get(value);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(value, id);
      this.#objects.set(id, value);
    }
    return id;
  };

  #encode(value: unknown): Uint8Array {
    return encodeMessage(value, { toRef: this.#toRef });
  }

  async #invoke(request: Request): Promise<unknown> {
    const target = this.#target(request.t) as Record<string, unknown>;
    const method = request.m ?? '';
    const fn = target[method];
    if (typeof fn !== 'function') throw new TypeError(`bridge: ${method} is not a method of ${describe(request.t)}`);
    return await (fn as (...args: unknown[]) => unknown).apply(target, request.a ?? []);
  }

  #fail(error: unknown): void {
    if (isHalt(error)) {
      this.#halt = error;
      // Nothing runs after a reset: the engine dies mid-call, as the CPU would.
      void this.#worker.close();
    }
  }

  async #handle(bytes: Uint8Array): Promise<Uint8Array> {
    const request = decodeMessage(bytes, { fromRef: (id) => this.#objects.get(id) }) as Request;
    if (this.#halt) return this.#encode({ err: { $e: { name: 'DeviceHalted', message: 'the device is down' } } });
    try {
      switch (request.op) {
        case 'call':
          return this.#encode({ ok: await this.#invoke(request) });
        case 'get':
          return this.#encode({ ok: (this.#target(request.t) as Record<string, unknown>)[request.p ?? ''] });
        case 'release':
          if (request.t && typeof request.t === 'object') {
            const id = this.#ids.get(request.t);
            if (id !== undefined) this.#objects.delete(id);
            this.#ids.delete(request.t);
          }
          return this.#encode({ ok: undefined });
        case 'notify':
          if (request.kind === 'done') this.#finish(request.value);
          else this.onNotify?.(request.kind ?? '', request.value);
          return this.#encode({ ok: undefined });
        case 'start':
          this.#start(request);
          return this.#encode({ ok: undefined });
      }
      throw new TypeError(`bridge: unknown op ${String((request as { op: unknown }).op)}`);
    } catch (error) {
      this.#fail(error);
      return this.#encode({ err: error });
    }
  }

  #finish(value: unknown): void {
    const done = this.#done;
    if (!done) return;
    this.#ended = true;
    const reply = value as { ok?: unknown; err?: unknown };
    const error = wireError(reply.err);
    if (error) done.reject(fromWire(error));
    else done.resolve(reply.ok);
  }

  #start(request: Request): void {
    this.#inFlight++;
    const id = request.id;
    const outcome = this.#invoke(request).then(
      (ok) => ({ id, ok }),
      (error: unknown) => {
        this.#fail(error);
        return { id, err: error };
      },
    );
    // Delivered when it completes, not when it started: a long sleep must not hold back a network
    // reply that arrives meanwhile (on a device, callbacks run as their events happen).
    void outcome.then((message) => {
      this.#settles = this.#settles.then(async () => {
        this.#inFlight--;
        if (this.#halt || !this.#worker.alive) return;
        await this.#crank(() => this.#worker.send(this.#encode(message)));
      });
      // Errors of a settle crank surface through run(); keep the chain alive for the next one.
      this.#settles = this.#settles.catch((error: unknown) => {
        this.#ended = true;
        this.#done?.reject(error);
      });
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    });
  }
}

function describe(ref: Request['t']): string {
  return typeof ref === 'string' ? ref : `a ${ref?.constructor?.name ?? 'missing'} object`;
}

/** A guest error as a Node error: OtaErrors keep their code. */
export function fromWire(error: WireError): Error {
  const out = new Error(error.message) as Error & { code?: string };
  out.name = error.name;
  if (error.code !== undefined) out.code = error.code;
  return out;
}
