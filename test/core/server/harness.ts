// Test doubles for the device API tests: an Http over node:http(s), a virtual-time Scheduler,
// an in-memory KeyValue, a System, and a scripted device-API server.
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { OtaError } from '../../../core/errors.ts';
import type { Http, HttpRequest, HttpResponse } from '../../../platform/http.ts';
import type { KeyValue } from '../../../platform/key-value.ts';
import type { Scheduler } from '../../../platform/scheduler.ts';
import type { LogLevel, System } from '../../../platform/system.ts';

export interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  tls?: HttpRequest['tls'];
}

/** Http over node:http/https; records each request it sends. */
export function nodeHttp(sent: SentRequest[] = []): Http & { sent: SentRequest[] } {
  return {
    sent,
    request(request: HttpRequest): Promise<HttpResponse> {
      sent.push({ method: request.method, url: request.url, headers: { ...request.headers }, tls: request.tls });
      const url = new URL(request.url);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      return new Promise((resolve, reject) => {
        const headers: Record<string, string | number> = { ...request.headers };
        if (request.body !== undefined) headers['Content-Length'] = request.body.length;
        const req = send(url, { method: request.method, headers, ca: request.tls?.ca, servername: request.tls?.serverName, agent: false }, (res) =>
          resolve(wrap(res)),
        );
        req.setTimeout(request.timeoutMs ?? 30_000, () => req.destroy(new Error('timeout')));
        req.on('error', (error) => reject(new OtaError('network', `${request.method} ${url.host}: ${error.message}`, { cause: error })));
        req.end(request.body === undefined ? undefined : Buffer.from(request.body));
      });
    },
  };
}

function wrap(res: IncomingMessage): HttpResponse {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value);
  }
  const chunks = res[Symbol.asyncIterator]();
  return {
    status: res.statusCode ?? 0,
    headers,
    async read() {
      try {
        const next = await chunks.next();
        if (next.done) {
          if (!res.complete) throw new OtaError('network', 'connection closed before the end of the body');
          return undefined;
        }
        return new Uint8Array(next.value as Buffer);
      } catch (error) {
        if (error instanceof OtaError) throw error;
        throw new OtaError('network', `body: ${(error as Error).message}`, { cause: error });
      }
    },
    close() {
      res.destroy();
    },
  };
}

/** Records each request `inner` sends (e.g. the sim board's NodeHttp). */
export function recording(inner: Http, sent: SentRequest[] = []): Http & { sent: SentRequest[] } {
  return {
    sent,
    request(request: HttpRequest): Promise<HttpResponse> {
      sent.push({ method: request.method, url: request.url, headers: { ...request.headers }, tls: request.tls });
      return inner.request(request);
    },
  };
}

/** Virtual time: sleep advances the clock at once and is recorded. */
export function virtualScheduler(): Scheduler & { sleeps: number[] } {
  let now = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    async sleep(ms: number) {
      sleeps.push(ms);
      now += ms;
    },
    enqueue<T>(job: () => Promise<T>): Promise<T> {
      const run = queue.then(job, job);
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

export function memoryKeyValue(): KeyValue & { records: Map<string, Uint8Array> } {
  const records = new Map<string, Uint8Array>();
  const check = (key: string) => {
    if (!/^[\x20-\x7e]{1,15}$/.test(key)) throw new RangeError(`"key" expected 1..15 ASCII characters, got ${JSON.stringify(key)}`);
  };
  return {
    records,
    maxValueBytes: 4000,
    get: (key) => (check(key), records.get(key)?.slice()),
    set: (key, value) => {
      check(key);
      records.set(key, value.slice());
    },
    delete: (key) => {
      check(key);
      records.delete(key);
    },
  };
}

export function testSystem(logs: string[] = []): System & { logs: string[] } {
  return {
    logs,
    restart(): never {
      throw new Error('restart is not part of these tests');
    },
    resetReason: () => 'power-on',
    wallClockMs: () => Date.now(),
    log: (level: LogLevel, message: string) => void logs.push(`${level}: ${message}`),
    randomBytes: (length: number) => new Uint8Array(randomBytes(length)),
  };
}

export interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export type Route = (request: Received, response: ServerResponse) => void;

/** A node:http(s) server that records every request and answers with `route`. */
export async function scriptedServer(route: Route, create: () => Server = () => createHttpServer()): Promise<{
  url: string;
  received: Received[];
  close(): Promise<void>;
  setRoute(next: Route): void;
}> {
  const received: Received[] = [];
  let current = route;
  const server = create();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(parts) };
      received.push(request);
      current(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const scheme = 'setSecureContext' in server ? 'https' : 'http';
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    received,
    setRoute(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function empty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end();
}
