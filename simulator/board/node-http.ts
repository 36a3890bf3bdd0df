// Http for the simulated board over node:http/https. The body is pulled: the response stays in
// Node's paused mode, so once its buffer (16 KiB) is full Node stops reading the socket and TCP
// pushes back on the server until the client calls read() again. Timeouts are real time (network
// I/O is real even when the device clock is virtual).
import * as http from 'node:http';
import * as https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { OtaError } from '../../base/errors.ts';
import type { Http, HttpRequest, HttpResponse } from '../../platform/http.ts';

const CHUNK_BYTES = 16 * 1024; // largest chunk read() hands out

/** Faults a test injects into a device's network; each applies to one later response. */
export class HttpFaults {
  readonly #drops: number[] = [];

  /** The next response's connection is dropped after `bytes` body bytes have been delivered. */
  dropNextAfter(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`"bytes" expected an integer >= 0, got ${bytes}`);
    this.#drops.push(bytes);
  }

  /** @internal */
  takeDrop(): number | undefined {
    return this.#drops.shift();
  }
}

export interface NodeHttpOptions {
  /** PEM trusted for https when a request brings no `tls.ca` (the board's store). */
  ca?: string;
  faults?: HttpFaults;
}

export class NodeHttp implements Http {
  readonly #options: NodeHttpOptions;
  readonly #open = new Set<http.ClientRequest>();
  #closed = false;

  constructor(options: NodeHttpOptions = {}) {
    this.#options = { ...options };
  }

  request(request: HttpRequest): Promise<HttpResponse> {
    const url = new URL(request.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`"url" expected http:// or https://, got ${JSON.stringify(request.url)}`);
    }
    const where = `${request.method} ${url.origin}${url.pathname}`;
    if (this.#closed) return Promise.reject(new OtaError('network', `${where}: the board's network is down (reset)`));
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = String(request.body.length);
    const options: https.RequestOptions = { method: request.method, headers, agent: false };
    if (url.protocol === 'https:') {
      const ca = request.tls?.ca ?? this.#options.ca;
      if (ca !== undefined) options.ca = ca;
      if (request.tls?.serverName !== undefined) options.servername = request.tls.serverName;
    }
    return new Promise<HttpResponse>((resolve, reject) => {
      const client = (url.protocol === 'https:' ? https : http).request(url, options);
      this.#open.add(client);
      client.on('close', () => this.#open.delete(client));
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (request.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          client.destroy(new OtaError('network', `${where}: no response within ${request.timeoutMs} ms`));
        }, request.timeoutMs);
      }
      client.on('error', (error) => {
        clearTimeout(timer);
        reject(networkError(where, error));
      });
      client.on('response', (message) => {
        clearTimeout(timer);
        resolve(new NodeHttpResponse(client, message, where, request.timeoutMs, this.#options.faults?.takeDrop()));
      });
      client.end(request.body);
    });
  }

  /** Drops every open connection and refuses new ones (the board was reset). */
  close(): void {
    this.#closed = true;
    for (const client of this.#open) client.destroy();
    this.#open.clear();
  }
}

class NodeHttpResponse implements HttpResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly #client: http.ClientRequest;
  readonly #message: IncomingMessage;
  readonly #where: string;
  readonly #timeoutMs: number | undefined;
  #dropAfter: number | undefined;
  #delivered = 0;
  #leftover: Uint8Array | undefined; // the rest of a chunk larger than CHUNK_BYTES
  #ended = false;
  #error: OtaError | undefined;
  #wake: (() => void) | undefined;

  constructor(client: http.ClientRequest, message: IncomingMessage, where: string, timeoutMs: number | undefined, dropAfter: number | undefined) {
    this.#client = client;
    this.#message = message;
    this.#where = where;
    this.#timeoutMs = timeoutMs;
    this.#dropAfter = dropAfter;
    this.status = message.statusCode ?? 0;
    const headers = new Map<string, string>();
    for (const [name, value] of Object.entries(message.headers)) {
      if (value !== undefined) headers.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value);
    }
    this.headers = headers;
    const wake = () => this.#wake?.();
    message.on('readable', wake);
    message.on('end', () => {
      this.#ended = true;
      wake();
    });
    message.on('error', (error) => {
      this.#fail(networkError(where, error, this.#delivered));
      wake();
    });
    message.on('close', () => {
      if (!this.#ended && !message.complete) this.#fail(new OtaError('network', `${where}: connection lost after ${this.#delivered} body bytes`));
      wake();
    });
  }

  async read(): Promise<Uint8Array | undefined> {
    for (;;) {
      if (this.#leftover !== undefined) return this.#deliver(this.#leftover);
      if (this.#error !== undefined) throw this.#error;
      const chunk = this.#message.read() as Buffer | null;
      if (chunk !== null) return this.#deliver(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      if (this.#ended) return undefined;
      await this.#waitForData();
    }
  }

  close(): void {
    this.#ended = true;
    this.#message.destroy();
    this.#client.destroy();
  }

  #deliver(chunk: Uint8Array): Uint8Array {
    let out = chunk.length > CHUNK_BYTES ? chunk.subarray(0, CHUNK_BYTES) : chunk;
    if (this.#dropAfter !== undefined && this.#delivered + out.length >= this.#dropAfter) {
      out = out.subarray(0, this.#dropAfter - this.#delivered);
      this.#leftover = undefined;
      this.#dropAfter = undefined;
      this.#delivered += out.length;
      this.#fail(new OtaError('network', `${this.#where}: connection lost after ${this.#delivered} body bytes (injected fault)`));
      this.#message.destroy();
      this.#client.destroy();
      if (out.length > 0) return out;
      throw this.#error!;
    }
    this.#leftover = out.length < chunk.length ? chunk.subarray(out.length) : undefined;
    this.#delivered += out.length;
    return out;
  }

  #fail(error: OtaError): void {
    this.#error ??= error;
  }

  #waitForData(): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      if (this.#timeoutMs !== undefined) {
        const ms = this.#timeoutMs;
        timer = setTimeout(() => {
          this.#fail(new OtaError('network', `${this.#where}: no body byte for ${ms} ms after ${this.#delivered} bytes`));
          this.#message.destroy();
          this.#wake?.();
        }, ms);
      }
    });
  }
}

const TLS_CODES = /CERT|SELF_SIGNED|SSL|TLS|UNABLE_TO_(VERIFY|GET)|HOSTNAME|ALTNAME/;

function networkError(where: string, error: Error, delivered?: number): OtaError {
  if (error instanceof OtaError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (TLS_CODES.test(code)) return new OtaError('network', `TLS: ${where}: ${error.message} (${code})`, { cause: error });
  const after = delivered === undefined ? '' : ` after ${delivered} body bytes`;
  return new OtaError('network', `${where}: ${error.message}${code ? ` (${code})` : ''}${after}`, { cause: error });
}
