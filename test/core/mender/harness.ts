// Test doubles for the device API tests: the sim board's Http (recorded), a virtual-time Scheduler,
// an in-memory KeyValue, a System, and a scripted device-API server.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Http, HttpRequest, HttpResponse } from '../../../platform/http.ts';
import type { KeyValue } from '../../../platform/key-value.ts';
import type { Scheduler } from '../../../platform/scheduler.ts';
import type { LogLevel, System } from '../../../platform/system.ts';
import { NodeHttp } from '../../../simulator/board/node-http.ts';

export interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  tls?: HttpRequest['tls'];
}

/** The simulated board's Http over node:http/https (simulator/board/node-http.ts); records each request it sends. */
export function nodeHttp(sent: SentRequest[] = []): Http & { sent: SentRequest[] } {
  return recording(new NodeHttp(), sent);
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
