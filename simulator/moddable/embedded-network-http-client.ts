// Emulation of ECMA-419 `embedded:network/http/client` as Moddable's HTTPClient behaves
// (examples/io/tcp/httpclient/httpclient.js): requests queue and run one at a time; a body is sent
// through onWritable/write when a content-length (or chunked) header asks for one; onHeaders(status,
// headers lower-cased), onReadable(count) per arrival, read(count | buffer), onDone(null | Error);
// no timeouts and no per-request cancel (client.close() cancels everything). Callbacks never run
// inside the caller's call. The bytes travel through Node's HTTP stack (host.ts), TLS included:
// `socket.io` TLSSocket means https, its `secure.certificate` (DER) the CA to trust.
import { joinBytes } from '../../base/bytes.ts';
import type { RemoteRef } from '../xs/guest/bridge.ts';
import { bytesOf, native, nativeAsync, nativeOn } from './guest-bridge.ts';
import { TCP, TLSSocket } from './sockets.ts';

type Callback = ((...args: never[]) => void) | undefined;

interface RequestOptions {
  method?: string;
  path?: string;
  headers?: Map<string, string | string[]>;
  onHeaders?: Callback;
  onReadable?: Callback;
  onWritable?: Callback;
  onDone?: Callback;
}

interface HostResponse {
  readonly response: RemoteRef;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Map<string, string>;
}

class HTTPRequest {
  readonly #client: HTTPClient;
  readonly #options: RequestOptions;
  #phase: 'queued' | 'sendBody' | 'waitHeaders' | 'body' | 'done' = 'queued';
  #bodyLength = 0; // content-length of the request body; -1: chunked
  #body: Uint8Array[] = [];
  #bodyBytes = 0;
  #response: RemoteRef | undefined;
  #left = 0; // bytes of the arrived piece (kept by the host, as a socket keeps them) not read yet
  #finishBody: (() => void) | undefined;

  constructor(client: HTTPClient, options: RequestOptions) {
    this.#client = client;
    this.#options = { ...options };
  }

  /** @internal Runs the request to its end; resolves when the next one may start. */
  async run(): Promise<void> {
    const options = this.#options;
    const headers = new Map<string, string>();
    for (const [name, value] of options.headers ?? new Map<string, string>()) headers.set(String(name).toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
    const length = headers.get('content-length');
    this.#bodyLength = headers.get('transfer-encoding') === 'chunked' ? -1 : length === undefined ? 0 : Number(length);
    if (this.#bodyLength !== 0) {
      this.#phase = 'sendBody';
      const sent = new Promise<void>((resolve) => (this.#finishBody = resolve));
      this.#call('onWritable', this.#bodyLength > 0 ? this.#bodyLength : 1024);
      await sent;
      if (this.#done) return;
    }
    this.#phase = 'waitHeaders';
    let head: HostResponse;
    try {
      head = (await nativeAsync(undefined, 'httpRequest', 
        {
          ...this.#client.target,
          method: options.method ?? 'GET',
          path: options.path ?? '/',
          headers: [...headers],
          body: this.#bodyLength === 0 ? undefined : joinBytes(this.#body),
        },
      )) as HostResponse;
    } catch (error) {
      this.#client.fail(this, error as Error);
      return;
    }
    if (this.#done) return;
    this.#response = head.response;
    this.#phase = 'body';
    this.#call('onHeaders', head.status, head.headers, head.statusText);
    for (;;) {
      if (this.#phase !== 'body') return;
      let arrived: number | undefined;
      try {
        arrived = (await nativeAsync(head.response, 'next')) as number | undefined;
      } catch (error) {
        this.#client.fail(this, error as Error);
        return;
      }
      if (this.#phase !== 'body') return;
      if (arrived === undefined) {
        this.#phase = 'done';
        this.#call('onDone', null);
        return;
      }
      if (arrived === 0) continue;
      this.#left = arrived;
      const drained = new Promise<void>((resolve) => (this.#finishBody = resolve));
      this.#call('onReadable', arrived);
      await drained;
    }
  }

  get #done(): boolean {
    return this.#phase === 'done';
  }

  read(target?: number | ArrayBuffer | ArrayBufferView): ArrayBuffer | number | undefined {
    if (this.#phase !== 'body' || this.#left === 0 || this.#response === undefined) return undefined;
    let out: ArrayBuffer | number;
    let n: number;
    if (target === undefined || typeof target === 'number') {
      n = Math.min(this.#left, target === undefined ? this.#left : Math.max(0, Math.trunc(target)));
      out = (nativeOn(this.#response, 'take', n) as Uint8Array).slice().buffer;
    } else {
      const into = bytesOf(target, 'read');
      const piece = nativeOn(this.#response, 'take', Math.min(this.#left, into.length)) as Uint8Array;
      into.set(piece);
      n = piece.length;
      out = n;
    }
    this.#left -= n;
    if (this.#left === 0) {
      const next = this.#finishBody;
      this.#finishBody = undefined;
      // The next piece is fetched after this call returns: no callback inside the caller's read().
      void Promise.resolve().then(next);
    }
    return out;
  }

  write(data?: ArrayBuffer | ArrayBufferView): number {
    if (this.#phase !== 'sendBody') throw new Error('bad state');
    if (data === undefined) {
      if (this.#bodyLength !== -1) throw new Error('bad state');
      this.#endBody();
      return 0;
    }
    const bytes = bytesOf(data, 'write').slice();
    if (this.#bodyLength > 0 && this.#bodyBytes + bytes.length > this.#bodyLength) throw new Error('would block');
    this.#body.push(bytes);
    this.#bodyBytes += bytes.length;
    if (this.#bodyLength > 0 && this.#bodyBytes === this.#bodyLength) this.#endBody();
    return this.#bodyLength > 0 ? this.#bodyLength - this.#bodyBytes : 1024;
  }

  /** @internal The client failed or closed: no callback after this one. */
  end(error: Error | undefined): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    if (this.#response !== undefined) void nativeAsync(this.#response, 'close').catch(() => undefined);
    this.#finishBody?.();
    if (error !== undefined) this.#call('onDone', error);
  }

  #endBody(): void {
    const done = this.#finishBody;
    this.#finishBody = undefined;
    void Promise.resolve().then(done);
  }

  #call(name: keyof RequestOptions, ...args: unknown[]): void {
    const callback = this.#options[name] as ((...a: unknown[]) => void) | undefined;
    if (typeof callback === 'function') callback.apply(this, args);
  }
}

export default class HTTPClient {
  /** @internal What the host needs to connect. */
  readonly target: { host: string; port: number; secure: boolean; certificate?: Uint8Array; serverName?: string };
  readonly #onError: (() => void) | undefined;
  readonly #queue: HTTPRequest[] = [];
  #running = false;
  #closed = false;
  readonly #connection: RemoteRef;

  constructor(options: { host?: unknown; port?: unknown; socket?: { io?: unknown; secure?: Record<string, unknown> }; dns?: { io?: unknown }; onError?: () => void }) {
    if (typeof options?.host !== 'string') throw new TypeError('host required');
    if (options.dns?.io === undefined) throw new TypeError('dns required');
    const io = options.socket?.io;
    if (io !== TCP && io !== TLSSocket) throw new TypeError('socket.io: expected embedded:io/socket/tcp or embedded:io/socket/tcp/tls');
    const secure = options.socket?.secure ?? {};
    const certificate = secure.certificate === undefined ? undefined : bytesOf(secure.certificate, 'secure.certificate').slice();
    this.target = {
      host: options.host,
      port: options.port === undefined ? 80 : Number(options.port),
      secure: io === TLSSocket,
      ...(certificate ? { certificate } : {}),
      ...(typeof secure.serverName === 'string' ? { serverName: secure.serverName } : {}),
    };
    this.#onError = options.onError;
    // The connection is open from here until close(): device time follows real time meanwhile.
    this.#connection = native('networkOpen') as RemoteRef;
  }

  request(options: RequestOptions): HTTPRequest {
    if (this.#closed) throw new Error('closed');
    const request = new HTTPRequest(this, options ?? {});
    this.#queue.push(request);
    if (!this.#running) void Promise.resolve().then(() => this.#next());
    return request;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const request of this.#queue.splice(0)) request.end(undefined);
    nativeOn(this.#connection, 'close');
  }

  /** @internal A transport error: every request gets onDone(error), then onError, then close. */
  fail(current: HTTPRequest, error: Error): void {
    if (this.#closed) return;
    const pending = [current, ...this.#queue.filter((r) => r !== current)];
    this.#queue.length = 0;
    this.#closed = true;
    nativeOn(this.#connection, 'close');
    for (const request of pending) request.end(new Error(error.message));
    this.#onError?.();
  }

  async #next(): Promise<void> {
    if (this.#running || this.#closed) return;
    const request = this.#queue[0];
    if (request === undefined) return;
    this.#running = true;
    await request.run();
    this.#running = false;
    if (this.#queue[0] === request) this.#queue.shift();
    void this.#next();
  }
}
