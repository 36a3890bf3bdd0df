// Http over ECMA-419 `embedded:network/http/client` (Moddable's HTTPClient), with Moddable's TLS
// socket for https. One client per request, closed when the response ends: the client's requests
// are seconds apart, and a keep-alive connection would hold ~20 KiB of TLS state between them.
// The HTTP client has no timeouts, so a Timer watchdog closes a request that makes no progress.
import HTTPClient, { type HTTPRequest } from 'embedded:network/http/client';
import TCP from 'embedded:io/socket/tcp';
import TLSSocket from 'embedded:io/socket/tcp/tls';
import UDP from 'embedded:io/socket/udp';
import Resolver from 'embedded:network/dns/resolver/udp';
import Timer from 'timer';
import { fromBase64 } from '../../base/bytes.ts';
import { OtaError } from '../../base/errors.ts';
import type { Http, HttpRequest, HttpResponse } from '../../platform/http.ts';

const CHUNK_BYTES = 4096; // largest piece read() hands out: the reader's and the flash writer's unit
const DEFAULT_TIMEOUT_MS = 30_000;

export interface ModdableHttpOptions {
  /** DNS servers for the UDP resolver, e.g. ["1.1.1.1"]. */
  readonly dnsServers: readonly string[];
  /** PEM trusted for https when a request brings none (else the firmware's built-in CA store). */
  readonly ca?: string;
}

interface Url {
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

function parseUrl(url: string): Url {
  const match = /^(https?):\/\/([^/:?#]+)(?::(\d{1,5}))?([^#]*)/.exec(url);
  if (match === null) throw new TypeError(`"url" expected an absolute http:// or https:// URL, got ${JSON.stringify(url)}`);
  const scheme = match[1] as Url['scheme'];
  return { scheme, host: match[2]!, port: match[3] ? Number(match[3]) : scheme === 'https' ? 443 : 80, path: match[4] || '/' };
}

/** The first certificate of a PEM bundle as DER (Moddable's TLS takes DER only, one CA per socket). */
export function pemCertificateToDer(pem: string): Uint8Array {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (match === null) throw new TypeError('"ca" expected a PEM "CERTIFICATE" block');
  return fromBase64(match[1]!);
}

export function createModdableHttp(options: ModdableHttpOptions): Http {
  return new ModdableHttp({ dnsServers: [...options.dnsServers], ca: options.ca });
}

// A class rather than an object literal with a closure: its method stays in flash on a preloaded device.
class ModdableHttp implements Http {
  readonly #options: ModdableHttpOptions;

  constructor(options: ModdableHttpOptions) {
    this.#options = options;
  }

  request(request: HttpRequest): Promise<HttpResponse> {
    return send(request, this.#options);
  }
}

function send(request: HttpRequest, options: ModdableHttpOptions): Promise<HttpResponse> {
  const url = parseUrl(request.url);
  const where = `${request.method} ${url.scheme}://${url.host}${url.path.split('?')[0]}`;
  const ca = request.tls?.ca ?? options.ca;
  const secure: Record<string, unknown> = {};
  if (ca !== undefined) secure.certificate = pemCertificateToDer(ca);
  if (request.tls?.serverName !== undefined) secure.serverName = request.tls.serverName;
  const socket = url.scheme === 'https' ? { io: TLSSocket, TCP: { io: TCP }, secure } : { io: TCP };
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(request.headers ?? {})) headers.set(name.toLowerCase(), value);
  const body = request.body;
  if (body !== undefined) headers.set('content-length', String(body.length));

  return new Promise<HttpResponse>((resolve, reject) => {
    const response = new ModdableResponse(where, request.timeoutMs ?? DEFAULT_TIMEOUT_MS, (error) => reject(error));
    let client: HTTPClient;
    try {
      client = new HTTPClient({
        host: url.host,
        port: url.port,
        socket,
        dns: { io: Resolver, servers: options.dnsServers, socket: { io: UDP } },
        onError(): void {
          response.done(new Error('connection error'));
        },
      });
    } catch (error) {
      reject(new OtaError('network', `${where}: ${(error as Error).message}`, { cause: error }));
      return;
    }
    response.attach(client);
    response.progress(); // the watchdog runs from the moment the connection is being made
    let sent = 0;
    client.request({
      method: request.method,
      path: url.path,
      headers,
      onWritable(this: HTTPRequest, count: number): void {
        if (body === undefined) return;
        const n = Math.min(count, body.length - sent);
        if (n <= 0) return;
        this.write(body.subarray(sent, sent + n));
        sent += n;
        response.progress();
      },
      onHeaders(this: HTTPRequest, status: number, received: Map<String, string>): void {
        response.start(this, status, received as Map<string, string>);
        resolve(response);
      },
      onReadable(this: HTTPRequest, count: number): void {
        response.readable(count);
      },
      onDone(this: HTTPRequest, error: Error | null): void {
        response.done(error ?? undefined);
      },
    });
  });
}

class ModdableResponse implements HttpResponse {
  status = 0;
  headers: ReadonlyMap<string, string> = new Map();
  readonly #where: string;
  readonly #timeoutMs: number;
  #fail: ((error: OtaError) => void) | undefined; // rejects request() until the headers arrive
  #client: HTTPClient | undefined;
  #request: HTTPRequest | undefined;
  #available = 0; // body bytes the client has ready
  #delivered = 0;
  #finished = false;
  #error: OtaError | undefined;
  #wake: (() => void) | undefined;
  #watchdog: Timer | undefined;

  constructor(where: string, timeoutMs: number, fail: (error: OtaError) => void) {
    this.#where = where;
    this.#timeoutMs = timeoutMs;
    this.#fail = fail;
  }

  attach(client: HTTPClient): void {
    this.#client = client;
  }

  start(request: HTTPRequest, status: number, headers: Map<string, string>): void {
    this.#request = request;
    this.status = status;
    this.headers = headers;
    this.#fail = undefined;
    this.progress();
  }

  readable(count: number): void {
    this.#available = count;
    this.progress();
    this.#wake?.();
  }

  done(error: Error | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    if (error !== undefined) {
      this.#error = new OtaError('network', `${this.#where}: ${error.message || 'connection lost'} after ${this.#delivered} body bytes`, { cause: error });
    }
    this.stop();
    if (this.#error !== undefined && this.#fail !== undefined) this.#fail(this.#error);
    this.#wake?.();
  }

  async read(): Promise<Uint8Array | undefined> {
    for (;;) {
      if (this.#available > 0 && this.#request !== undefined) {
        const piece = this.#request.read(Math.min(this.#available, CHUNK_BYTES));
        const got = piece === undefined ? 0 : piece.byteLength;
        this.#available = got === 0 ? 0 : this.#available - got;
        if (got > 0) {
          this.#delivered += got;
          this.progress();
          return new Uint8Array(piece!);
        }
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#finished) return undefined;
      await new Promise<void>((resolve) => {
        this.#wake = () => {
          this.#wake = undefined;
          resolve();
        };
      });
    }
  }

  close(): void {
    if (!this.#finished) {
      this.#finished = true;
      this.stop();
    }
  }

  /**
   * Pushes the watchdog back: the request made progress. One repeating timer per response, moved by
   * Timer.schedule (which re-arms the native timer in place): a Timer.set per chunk would make a host
   * object and a closure for every chunk the body brings.
   */
  progress(): void {
    if (this.#finished) return;
    if (this.#watchdog === undefined) {
      this.#watchdog = Timer.repeat(() => this.done(new Error(`no progress for ${this.#timeoutMs} ms`)), this.#timeoutMs);
    } else {
      Timer.schedule(this.#watchdog, this.#timeoutMs, this.#timeoutMs);
    }
  }

  private stop(): void {
    if (this.#watchdog !== undefined) Timer.clear(this.#watchdog);
    this.#watchdog = undefined;
    this.#client?.close();
    this.#client = undefined;
  }
}
