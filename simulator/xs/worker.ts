// One Moddable XS engine in a child process: the `xsnap-worker` binary that @agoric/xsnap compiles
// from Moddable's sources at install. We speak its netstring protocol on fds 3/4 directly instead
// of using @agoric/xsnap's JS API, because that API needs SES (`import '@endo/init'`) which locks
// down the whole Node process — fatal for the bench command and any test that shares the process.
//
// Protocol (xsnap-worker.c): we send `e<script>` (evaluate) or `?<bytes>` (calls XS's global
// `handleCommand(ArrayBuffer)`); XS runs it and its promise jobs to idle, then answers
// `.<meter JSON>\x01<reply bytes>` or `!<error text>`. While running, XS may send `?<bytes>`
// (its `issueCommand(ArrayBuffer)`), which blocks XS until we answer `/<reply bytes>`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { concatBytes as concat } from '../../base/bytes.ts';
import { xsnapVariant, type XsBits } from './xsnap-build.ts';

export type { XsBits } from './xsnap-build.ts';

/** xsnap's per-crank meter: `compute` is XS's deterministic operation count. */
export interface XsMeter {
  /** Operations executed during the crank (script or command plus its promise jobs). */
  readonly compute: number;
  /** Live heap slots when the crank ended (garbage not yet collected included). */
  readonly currentHeapCount: number;
  /** Bytes the engine has reserved for slots and chunks (grows, never shrinks). */
  readonly allocate: number;
}

export interface CrankResult {
  readonly reply: Uint8Array;
  readonly meter: XsMeter;
}

/** Answers XS's `issueCommand` calls; may be async (XS waits). */
export type CommandHandler = (request: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** Bytes of one XS heap slot (txSlot) on a 64-bit host; 16 on the 32-bit ESP32/STM32 build. */
export const XS_SLOT_BYTES = 32;

/**
 * Machine creation, as a Moddable manifest's "creation" gives it (chunk bytes, heap and stack in
 * slots); a part left out keeps xsnap's size. Needs the variant worker (XsWorker.launch).
 */
export interface XsCreation {
  readonly chunk?: { readonly initial: number; readonly incremental: number };
  readonly heap?: { readonly initial: number; readonly incremental: number };
  readonly stack?: number;
  /**
   * Bytes that chunks and slots may take, all allocations together, beyond what the creation
   * itself allocated: the rest of a Zephyr "static" block (see simulator/xs/native/creation.c).
   */
  readonly space?: number;
}

/** XS's own memory counters (xsMemory.c), read by the variant worker's otaMemory(). */
export interface XsMemory {
  /** sizeof(txSlot): 16 on a 32-bit build (as on ESP32/Cortex-M), 32 on a 64-bit one. */
  readonly slotBytes: number;
  /** Slots in use (the->currentHeapCount): live ones, plus garbage not collected yet. */
  readonly currentSlots: number;
  /** Most slots in use since creation or the last reset (the->peakHeapCount; garbage counts until collected). */
  readonly peakSlots: number;
  /** Slots the heap holds, used or free (the->maximumHeapCount). */
  readonly reservedSlots: number;
  /** Chunk bytes in use (the->currentChunksSize). */
  readonly currentChunkBytes: number;
  readonly peakChunkBytes: number;
  /** Chunk bytes reserved (the->maximumChunksSize). */
  readonly reservedChunkBytes: number;
  /** The stack's size in slots (creation's stackCount). */
  readonly stackSlots: number;
  /** Stack slots in use by the machine at rest after its creation: the intrinsics XS keeps there. */
  readonly stackBase: number;
  /** Stack slots in use when read (stackBase plus the frames of this evaluation). */
  readonly stackDepth: number;
  /**
   * Deepest stack (slots) since creation or the last reset: a painted-stack watermark below this
   * reading's frames. An upper bound: XS also borrows the free stack as scratch for number
   * conversion and regular expressions (xsdtoa.c, xsre.c), which can reach down to its bottom.
   */
  readonly stackPeak: number;
  /** Bytes of chunks and slots allocated (xsnap's the->allocatedSpace) and its limit. */
  readonly allocatedBytes: number;
  readonly allocationLimit: number;
}

export interface XsWorkerOptions {
  readonly handler?: CommandHandler;
  readonly name?: string;
}

export interface XsLaunchOptions extends XsWorkerOptions {
  /** 32: slots of 16 bytes, as on the device; 64 (default): the host's. */
  readonly bits?: XsBits;
  readonly creation?: XsCreation;
}

/** The engine aborted (xsnap-worker exits with 10 + XS's exit status: xsnap-worker.c, ExitCode). */
const ABORTS: Readonly<Record<number, string>> = {
  11: 'memory full',
  12: 'stack overflow',
  15: 'unhandled exception',
  16: 'not enough keys',
  17: 'too much computation',
};

/** XS aborted the machine ("memory full", "stack overflow"…), as fxAbort does on a device. */
export class XsAbort extends Error {
  readonly reason: string;
  constructor(reason: string, detail: string) {
    super(`XS abort: ${reason}${detail}`);
    this.name = 'XsAbort';
    this.reason = reason;
  }
}

/** OTA_XS_CREATION for simulator/xs/native/creation.c. */
function creationSpec(creation: XsCreation): string {
  const parts: string[] = [];
  const whole = (value: number, what: string) => {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`XS creation: ${what} expected a non-negative integer, got ${value}`);
    return value;
  };
  if (creation.chunk) parts.push(`chunk=${whole(creation.chunk.initial, 'chunk.initial')}/${whole(creation.chunk.incremental, 'chunk.incremental')}`);
  if (creation.heap) parts.push(`heap=${whole(creation.heap.initial, 'heap.initial')}/${whole(creation.heap.incremental, 'heap.incremental')}`);
  if (creation.stack !== undefined) parts.push(`stack=${whole(creation.stack, 'stack')}`);
  if (creation.space !== undefined) parts.push(`space=${whole(creation.space, 'space')}`);
  return parts.join(',');
}

const require = createRequire(import.meta.url);

export function xsnapWorkerPath(): string {
  const root = dirname(require.resolve('@agoric/xsnap/package.json'));
  const platform = process.platform === 'darwin' ? 'mac' : 'lin';
  const path = join(root, 'xsnap-native/xsnap/build/bin', platform, 'release/xsnap-worker');
  if (!existsSync(path)) throw new Error(`xsnap-worker not built at ${path} (npm rebuild @agoric/xsnap)`);
  return path;
}

const COMMA = 0x2c;
const COLON = 0x3a;
const EVALUATE = 0x65; // e
const COMMAND = 0x3f; // ?
const REPLY = 0x2f; // /
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class XsWorker {
  readonly #child: ChildProcess;
  readonly #toXs: Writable;
  #input: Uint8Array = new Uint8Array(0);
  #handler: CommandHandler;
  #pending: { resolve(m: Uint8Array): void; reject(e: Error): void } | undefined;
  // One crank at a time: evaluate/send calls queue behind each other (XS is single-threaded).
  #baton: Promise<unknown> = Promise.resolve();
  #exited: Error | undefined;
  #stderr = '';
  /** Lines XS printed with `print()` (diagnostics). */
  readonly printed: string[] = [];

  /** Whether this is ota-mcu's variant worker (otaMemory(), creation), not the package's binary. */
  readonly variant: boolean;

  private constructor(child: ChildProcess, handler: CommandHandler, variant: boolean) {
    this.variant = variant;
    this.#child = child;
    this.#handler = handler;
    const stdio = child.stdio as unknown as [null, Readable, Readable, Writable, Readable];
    this.#toXs = stdio[3];
    stdio[4].on('data', (data: Buffer) => this.#onData(new Uint8Array(data.buffer, data.byteOffset, data.length)));
    stdio[1].setEncoding('utf8').on('data', (text: string) => this.printed.push(...text.split('\n').filter(Boolean)));
    stdio[2].setEncoding('utf8').on('data', (text: string) => (this.#stderr += text));
    child.on('exit', (code, signal) => {
      const detail = ` (xsnap-worker exited ${signal ?? `with code ${code}`})${this.#stderr ? `: ${this.#stderr.trim()}` : ''}`;
      const abort = code === null ? undefined : ABORTS[code];
      this.#exited = abort ? new XsAbort(abort, detail) : new Error(`xsnap-worker exited${detail}`);
      this.#pending?.reject(this.#exited);
      this.#pending = undefined;
    });
    // A write to a worker that died is reported through #exited, not as an unhandled stream error.
    this.#toXs.on('error', () => {});
  }

  /** The package's xsnap-worker (64-bit, xsnap's fixed sizes, no memory()). */
  static start(options: XsWorkerOptions = {}): XsWorker {
    return XsWorker.#spawn(xsnapWorkerPath(), options, false, undefined);
  }

  /**
   * ota-mcu's variant (simulator/xs/xsnap-build.ts; built on first use, then cached): `bits` wide,
   * created with `creation`, and with memory().
   */
  static async launch(options: XsLaunchOptions = {}): Promise<XsWorker> {
    const binary = await xsnapVariant(options.bits ?? 64);
    return XsWorker.#spawn(binary, options, true, options.creation && creationSpec(options.creation));
  }

  static #spawn(binary: string, options: XsWorkerOptions, variant: boolean, creation: string | undefined): XsWorker {
    const env = { ...process.env };
    delete env.OTA_XS_CREATION;
    if (creation) env.OTA_XS_CREATION = creation;
    const child = spawn(binary, [options.name ?? 'ota-mcu'], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      env,
    });
    return new XsWorker(child, options.handler ?? ((request) => request), variant);
  }

  /** Replaces the handler of XS's `issueCommand` calls. */
  setHandler(handler: CommandHandler): void {
    this.#handler = handler;
  }

  get alive(): boolean {
    return this.#exited === undefined;
  }

  /** Runs a script (not a module) and its promise jobs to idle. Reply: the ArrayBuffer it returns, if any. */
  evaluate(script: string): Promise<CrankResult> {
    return this.#crank(EVALUATE, encoder.encode(script));
  }

  /** Calls XS's global `handleCommand(ArrayBuffer)` and runs to idle. */
  send(bytes: Uint8Array): Promise<CrankResult> {
    return this.#crank(COMMAND, bytes);
  }

  /**
   * XS's memory counters (variant worker only). `gc` collects garbage first (in the same crank), so
   * currentSlots and currentChunkBytes are what is live; `resetPeaks` then restarts the peaks (and
   * the stack watermark) from the current values, so the next reading covers what ran since.
   */
  async memory(options: { gc?: boolean; resetPeaks?: boolean } = {}): Promise<XsMemory> {
    if (!this.variant) throw new Error('XsWorker.memory() needs the variant worker (XsWorker.launch)');
    const { reply } = await this.evaluate(`${options.gc ? 'gc(), ' : ''}otaMemory(${options.resetPeaks ? 'true' : ''})`);
    const raw = JSON.parse(decoder.decode(reply)) as Record<string, number>;
    const field = (name: string): number => {
      const value = raw[name];
      if (typeof value !== 'number') throw new Error(`otaMemory: no ${name} in ${decoder.decode(reply)}`);
      return value;
    };
    return {
      slotBytes: field('slotBytes'),
      currentSlots: field('currentHeapCount'),
      peakSlots: field('peakHeapCount'),
      reservedSlots: field('maximumHeapCount'),
      currentChunkBytes: field('currentChunksSize'),
      peakChunkBytes: field('peakChunksSize'),
      reservedChunkBytes: field('maximumChunksSize'),
      stackSlots: field('stackCount'),
      stackBase: field('stackBase'),
      stackDepth: field('stackDepth'),
      stackPeak: field('stackPeak'),
      allocatedBytes: field('allocatedSpace'),
      allocationLimit: field('allocationLimit'),
    };
  }

  /**
   * Limits the chunks from now on (variant worker only): a compacting collection, then `initial`
   * bytes free past the live chunks, growing by `incremental` (0: fixed), and, with `space`, all
   * chunk and slot allocations from now on capped at that many bytes. For a machine that has just
   * evaluated code a device would have preloaded (see simulator/xs/native/creation.c, ota_limit).
   */
  async limitChunks(limit: { initial: number; incremental: number; space?: number }): Promise<void> {
    if (!this.variant) throw new Error('XsWorker.limitChunks() needs the variant worker (XsWorker.launch)');
    const { initial, incremental, space = -1 } = limit;
    for (const value of [initial, incremental]) if (!Number.isInteger(value) || value < 0) throw new RangeError(`limitChunks: ${value} is not a byte count`);
    await this.evaluate(`otaLimit(${initial}, ${incremental}, ${Number.isInteger(space) ? space : -1})`);
  }

  /** Ends the process: nothing in the engine survives (a device reset). */
  async close(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill('SIGKILL');
    await exited;
  }

  #crank(kind: number, body: Uint8Array): Promise<CrankResult> {
    const run = this.#baton.then(async () => {
      if (this.#exited) throw this.#exited;
      const reply = await new Promise<Uint8Array>((resolve, reject) => {
        this.#pending = { resolve, reject };
        this.#write(kind, body);
      });
      return decodeReply(reply);
    });
    this.#baton = run.catch(() => {});
    return run;
  }

  /** One netstring `<length>:<kind><body>,`, written in pieces: the body (an artifact of MiBs, say) is not copied. */
  #write(kind: number, body: Uint8Array): void {
    const out = this.#toXs;
    out.cork();
    out.write(encoder.encode(`${body.length + 1}:`));
    out.write(new Uint8Array([kind]));
    out.write(body);
    out.write(new Uint8Array([COMMA]));
    out.uncork();
  }

  #onData(data: Uint8Array): void {
    this.#input = this.#input.length === 0 ? data.slice() : concat(this.#input, data);
    for (;;) {
      const colon = this.#input.indexOf(COLON);
      if (colon < 0) return;
      const length = Number(decoder.decode(this.#input.subarray(0, colon)));
      const end = colon + 1 + length;
      if (this.#input.length < end + 1) return;
      if (this.#input[end] !== COMMA) throw new Error(`xsnap protocol: netstring of ${length} bytes not ended by ','`);
      const message = this.#input.slice(colon + 1, end);
      this.#input = this.#input.subarray(end + 1);
      this.#onMessage(message);
    }
  }

  #onMessage(message: Uint8Array): void {
    if (message[0] === COMMAND) {
      // XS is blocked in issueCommand until we answer; a handler failure is a harness bug, so it
      // goes back to XS as an uncaught error text rather than hanging the engine.
      void Promise.resolve()
        .then(() => this.#handler(message.subarray(1)))
        .then(
          (reply) => this.#write(REPLY, reply),
          (error: unknown) => {
            this.#pending?.reject(error instanceof Error ? error : new Error(String(error)));
            this.#pending = undefined;
            this.#child.kill('SIGKILL');
          },
        );
      return;
    }
    const pending = this.#pending;
    this.#pending = undefined;
    if (!pending) throw new Error(`xsnap protocol: unexpected message ${String.fromCharCode(message[0] ?? 0)}`);
    if (message[0] === 0x21 /* ! */) pending.reject(new Error(`XS: ${decoder.decode(message.subarray(1))}`));
    else pending.resolve(message);
  }
}

function decodeReply(message: Uint8Array): CrankResult {
  const separator = message.indexOf(1, 1);
  const meter = JSON.parse(decoder.decode(message.subarray(1, separator))) as XsMeter;
  return {
    reply: message.slice(separator + 1),
    meter: { compute: meter.compute, currentHeapCount: meter.currentHeapCount, allocate: meter.allocate },
  };
}
