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
import { concatBytes as concat } from '../../core/bytes.ts';

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

  private constructor(child: ChildProcess, handler: CommandHandler) {
    this.#child = child;
    this.#handler = handler;
    const stdio = child.stdio as unknown as [null, Readable, Readable, Writable, Readable];
    this.#toXs = stdio[3];
    stdio[4].on('data', (data: Buffer) => this.#onData(new Uint8Array(data.buffer, data.byteOffset, data.length)));
    stdio[1].setEncoding('utf8').on('data', (text: string) => this.printed.push(...text.split('\n').filter(Boolean)));
    stdio[2].setEncoding('utf8').on('data', (text: string) => (this.#stderr += text));
    child.on('exit', (code, signal) => {
      this.#exited = new Error(`xsnap-worker exited (${signal ?? `code ${code}`})${this.#stderr ? `: ${this.#stderr.trim()}` : ''}`);
      this.#pending?.reject(this.#exited);
      this.#pending = undefined;
    });
    // A write to a worker that died is reported through #exited, not as an unhandled stream error.
    this.#toXs.on('error', () => {});
  }

  static start(options: { handler?: CommandHandler; name?: string } = {}): XsWorker {
    const child = spawn(xsnapWorkerPath(), [options.name ?? 'ota-mcu'], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    return new XsWorker(child, options.handler ?? ((request) => request));
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
