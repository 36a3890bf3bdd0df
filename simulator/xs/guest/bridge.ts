// The XS side of the bridge: calls into Node objects through xsnap's `issueCommand`, which blocks
// the engine until Node answers. Slow operations (network, timers) are started with `callAsync`:
// Node answers at once, XS goes idle, and Node later settles the promise by calling this engine's
// `handleCommand` — an event loop like the device's, and a meter reading at every step.
import { OtaError, type OtaErrorCode } from '../../../base/errors.ts';
import { decodeMessage, encodeMessage, wireError, type WireError } from './codec.ts';

interface XsnapGlobals {
  issueCommand(request: ArrayBuffer): ArrayBuffer;
  handleCommand?: (message: ArrayBuffer) => ArrayBuffer | undefined;
  print?(...values: unknown[]): void;
  gc?(): void;
  resetMeter?(limit: number, index: number): number;
}

/** Where a call goes: a root the host registered by name, or an object it handed over by id. */
export type Target = string | RemoteRef;

/** A Node object held by the host; passed back as a call target. */
export class RemoteRef {
  readonly id: number;
  constructor(id: number) {
    this.id = id;
  }
}

/** The device went down (System.restart, power cut): nothing after this may touch the board. */
export class DeviceHalted extends Error {
  override readonly name = 'DeviceHalted';
}

export function xsnapGlobals(): XsnapGlobals {
  return globalThis as unknown as XsnapGlobals;
}

function toError(error: WireError): Error {
  if (error.code !== undefined) return new OtaError(error.code as OtaErrorCode, error.message);
  if (error.name === 'TypeError') return new TypeError(error.message);
  if (error.name === 'RangeError') return new RangeError(error.message);
  if (error.name === 'DeviceHalted') return new DeviceHalted(error.message);
  const plain = new Error(error.message);
  // An own property (not on the frozen prototype): keeps the host's error name for messages.
  Object.defineProperty(plain, 'name', { value: error.name });
  return plain;
}

const refs = {
  toRef(value: object): number | undefined {
    return value instanceof RemoteRef ? value.id : undefined;
  },
  fromRef(id: number): RemoteRef {
    return new RemoteRef(id);
  },
};

export class GuestBridge {
  #nextCall = 1;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  /**
   * Collect garbage before each async call: the crank then ends on the live heap, so the host's
   * meter readings (currentHeapCount) measure what the code keeps, not when XS last collected.
   */
  gcBeforeAsync = false;

  constructor() {
    xsnapGlobals().handleCommand = (message) => {
      this.#settle(decodeMessage(new Uint8Array(message), refs) as { id: number; ok?: unknown; err?: WireError });
      return undefined;
    };
  }

  #request(message: unknown): unknown {
    const reply = decodeMessage(new Uint8Array(xsnapGlobals().issueCommand(toBuffer(encodeMessage(message, refs)))), refs) as {
      ok?: unknown;
      err?: unknown;
    };
    const error = wireError(reply.err);
    if (error) throw toError(error);
    return reply.ok;
  }

  /** Calls `target.method(...args)` in Node and returns its (awaited) result. */
  call(target: Target, method: string, args: unknown[] = []): unknown {
    return this.#request({ op: 'call', t: target, m: method, a: args });
  }

  /** Reads `target[property]` in Node. */
  get(target: Target, property: string): unknown {
    return this.#request({ op: 'get', t: target, p: property });
  }

  /** Starts `target.method(...args)` in Node without blocking the engine; settles later. */
  callAsync(target: Target, method: string, args: unknown[] = []): Promise<unknown> {
    const id = this.#nextCall++;
    if (this.gcBeforeAsync) xsnapGlobals().gc?.();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.#request({ op: 'start', id, t: target, m: method, a: args });
      } catch (error) {
        this.#pending.delete(id);
        reject(error);
      }
    });
  }

  /** Tells Node the host may drop its handle. */
  release(target: RemoteRef): void {
    this.#request({ op: 'release', t: target });
  }

  /** A one-way message to the host (results, events). */
  notify(kind: string, value: unknown): void {
    this.#request({ op: 'notify', kind, value });
  }

  #settle(message: { id: number; ok?: unknown; err?: WireError }): void {
    const pending = this.#pending.get(message.id);
    if (!pending) throw new Error(`bridge: settle for unknown call ${message.id}`);
    this.#pending.delete(message.id);
    const error = wireError(message.err);
    if (error) pending.reject(toError(error));
    else pending.resolve(message.ok);
  }
}

function toBuffer(bytes: Uint8Array): ArrayBuffer {
  // issueCommand takes a whole ArrayBuffer; encodeMessage allocates exactly one, so no copy.
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes.buffer as ArrayBuffer)
    : (bytes.slice().buffer as ArrayBuffer);
}
