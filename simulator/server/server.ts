// The Mender-compatible development server: one function used by tests, the demo and the CLI.
// Loopback only; HTTPS with a CA kept in DATA by default.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Store } from './store.ts';
import { Faults } from './faults.ts';
import { Deployments } from './deployments.ts';
import { loadOrCreateTls } from './tls.ts';
import { loadOrCreateSecrets } from './secrets.ts';
import { compileRoutes, errorReply, HttpError, matchRoute, newRequestId, readBody, type Reply, type RequestContext } from './http-kit.ts';
import { escapeText } from './text-escape.ts';
import { deviceRoutes } from './device-routes.ts';
import { managementRoutes } from './management-routes.ts';
import type { ServerContext } from './server-context.ts';
import type { ServerSecrets } from './model.ts';

export interface ServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  dataDir: string;
  /** Accept devices whose identity was never seen, on first contact (otherwise they stay pending until
   *  accepted). A new key for a known identity always waits, pending, for a person. */
  autoAccept?: boolean;
  /** Plain HTTP instead of HTTPS. */
  http?: boolean;
  /** Serve POST /api/devices/v2/…/next like Enterprise Mender; off: 404 like open-source Mender. */
  v2Next?: boolean;
  /** Device JWT lifetime; Mender's default is 7 days. */
  jwtTtlSec?: number;
  /** When set, auth requests must carry this tenant_token (hosted Mender); JWTs get mender.tenant. */
  tenantToken?: string;
  /** Fault injector to use (e.g. prepared before start); a fresh one otherwise. */
  faults?: Faults;
  /** How many exchanges to keep in `exchanges` (oldest dropped); default 10000. */
  keepExchanges?: number;
  /** Artifact upload body limit (413 past it); default 512 MiB. Uploads stream to DATA, never held in memory. */
  maxUploadBytes?: number;
  /** Refuse (413) an artifact whose payload inflates past this; default 512 MiB (bounds a compression bomb). */
  maxArtifactPayloadBytes?: number;
  /** Uploads received and checked at once; more are answered 429 with Retry-After; default 2. */
  maxConcurrentUploads?: number;
  /** Bytes the kept exchanges may hold in headers and body summaries (oldest dropped); default 16 MiB. */
  keepExchangeBytes?: number;
}

/**
 * One request and its answer, as the server handled it (tests check these against the OpenAPI
 * specs). Bodies are kept as bounded summaries: their first EXCHANGE_BODY_BYTES bytes and their
 * full length, so a stream of large requests cannot grow the list past its byte budget.
 */
export interface Exchange {
  /** ms since the server started */
  atMs: number;
  method: string;
  /** Path and query as requested. */
  url: string;
  requestHeaders: Record<string, string | string[] | undefined>;
  /** The first EXCHANGE_BODY_BYTES bytes of the body the route read (empty when it read none). */
  requestBody: Buffer;
  /** Body bytes the server received for the route (more than `requestBody.length` when cut short). */
  requestBodyBytes: number;
  status: number;
  responseHeaders: Record<string, string>;
  /** The first EXCHANGE_BODY_BYTES bytes of the answer; undefined for streamed artifact downloads. */
  responseBody: Buffer | undefined;
  /** Bytes of the answer's body (0 for streamed downloads). */
  responseBodyBytes: number;
  /** Set when a fault answered instead of the handler, or a download was cut. */
  fault?: string;
}

export interface RunningServer {
  url: string;
  /** PEM of the CA that signed the server certificate (HTTPS only); also in DATA/ca.pem. */
  caPem?: string;
  caPath?: string;
  faults: Faults;
  store: Store;
  exchanges: Exchange[];
  close(): Promise<void>;
}

const DEFAULT_JWT_TTL_SEC = 7 * 24 * 3600;
const DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
const DEFAULT_MAX_ARTIFACT_PAYLOAD_BYTES = 512 * 1024 * 1024;
/** Each upload costs disk writes and a full inflate-and-hash pass: two at once keep the server responsive. */
const DEFAULT_MAX_CONCURRENT_UPLOADS = 2;
/** Per body in an exchange record: enough for every JSON document of the protocol. */
export const EXCHANGE_BODY_BYTES = 16 * 1024;
const DEFAULT_KEEP_EXCHANGE_BYTES = 16 * 1024 * 1024;
/** Bookkeeping per exchange on top of its headers and bodies, for the byte budget. */
const EXCHANGE_OVERHEAD_BYTES = 512;
const EMPTY = Buffer.alloc(0);

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  mkdirSync(options.dataDir, { recursive: true });
  const store = new Store(options.dataDir);
  // Keys an older server kept in the journal move to their own private file, then leave the journal.
  const legacy = store.get('secrets', 'secrets');
  let secrets: ServerSecrets;
  try {
    secrets = loadOrCreateSecrets(options.dataDir, legacy);
  } catch (error) {
    store.close();
    throw error;
  }
  if (legacy !== undefined) {
    store.delete('secrets', 'secrets');
    store.compact();
  }
  const faults = options.faults ?? new Faults();
  let baseUrl = '';
  const ctx: ServerContext = {
    store,
    faults,
    deployments: new Deployments(store),
    options: {
      autoAccept: options.autoAccept ?? false,
      v2Next: options.v2Next ?? false,
      jwtTtlSec: options.jwtTtlSec ?? DEFAULT_JWT_TTL_SEC,
      tenantToken: options.tenantToken,
      maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
      maxArtifactPayloadBytes: options.maxArtifactPayloadBytes ?? DEFAULT_MAX_ARTIFACT_PAYLOAD_BYTES,
      maxConcurrentUploads: options.maxConcurrentUploads ?? DEFAULT_MAX_CONCURRENT_UPLOADS,
    },
    jwtKey: Buffer.from(secrets.jwtKey, 'hex'),
    linkKey: Buffer.from(secrets.linkKey, 'hex'),
    url: () => baseUrl,
  };
  const routes = compileRoutes([...deviceRoutes(ctx), ...managementRoutes(ctx)]);
  const exchanges: Exchange[] = [];
  const keep = options.keepExchanges ?? 10_000;
  const keepBytes = options.keepExchangeBytes ?? DEFAULT_KEEP_EXCHANGE_BYTES;
  // Parallel to `exchanges`: each record's estimated size, and their sum.
  const sizes: number[] = [];
  let keptBytes = 0;
  const started = Date.now();

  function record(exchange: Exchange): void {
    const size = exchangeSize(exchange);
    exchanges.push(exchange);
    sizes.push(size);
    keptBytes += size;
    let drop = 0;
    while (exchanges.length - drop > 1 && (exchanges.length - drop > keep || keptBytes > keepBytes)) keptBytes -= sizes[drop++]!;
    if (drop > 0) {
      exchanges.splice(0, drop);
      sizes.splice(0, drop);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const method = req.method ?? 'GET';
    let path = req.url ?? '/';
    let rc: RequestContext | undefined;
    let reply: Reply;
    let fault: string | undefined;
    try {
      const url = requestUrl(req.url);
      path = url.pathname;
      const injected = faults.takeRequestFault(method, url.pathname);
      if (injected !== undefined) {
        fault = `injected ${injected.status}`;
        const headers = injected.retryAfterSec !== undefined ? { 'Retry-After': String(injected.retryAfterSec) } : undefined;
        reply = errorReply(injected.status, `injected fault: ${injected.status}`, requestId, headers);
      } else {
        // Route and caller first, body last: nobody makes the server read a body it would refuse.
        const { route, params } = matchRoute(routes, method, url.pathname);
        rc = { req, method, url, params, body: EMPTY, bodyBytes: 0, requestId };
        route.guard?.(rc);
        if (typeof route.bodyLimitBytes === 'number') {
          rc.body = await readBody(req, route.bodyLimitBytes);
          rc.bodyBytes = rc.body.length;
        }
        reply = await route.handler(rc);
      }
    } catch (error) {
      if (error instanceof HttpError) reply = error.bodyless ? { status: error.status } : errorReply(error.status, error.message, requestId);
      else {
        process.stderr.write(`ota-mcu server: ${escapeText(method)} ${escapeText(path)}: ${describeCrash(error)}\n`);
        reply = errorReply(500, 'internal error', requestId);
      }
    }
    const { headers, payload } = encodeReply(reply, requestId);
    res.writeHead(reply.status, headers);
    const exchange: Exchange = {
      atMs: Date.now() - started,
      method,
      url: req.url ?? '/',
      requestHeaders: { ...req.headers },
      // Copies: a subarray would keep the whole body alive.
      requestBody: Buffer.from((rc?.body ?? EMPTY).subarray(0, EXCHANGE_BODY_BYTES)),
      requestBodyBytes: rc?.bodyBytes ?? 0,
      status: reply.status,
      responseHeaders: headers,
      responseBody: reply.stream === undefined ? Buffer.from(payload.subarray(0, EXCHANGE_BODY_BYTES)) : undefined,
      responseBodyBytes: payload.length,
      ...(fault !== undefined ? { fault } : {}),
    };
    record(exchange);
    if (reply.stream !== undefined) {
      try {
        await reply.stream(res);
        if (!res.writableEnded) exchange.fault = 'download cut';
      } catch (error) {
        exchange.fault = `download failed: ${(error as Error).message}`;
        res.destroy();
      }
    } else {
      res.end(payload);
    }
  }

  let server: Server;
  let tls: { caPem: string } | undefined;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      process.stderr.write(`ota-mcu server: ${(error as Error).stack ?? String(error)}\n`);
      res.destroy();
    });
  };
  if (options.http) {
    server = createHttpServer(listener);
  } else {
    const material = loadOrCreateTls(options.dataDir);
    tls = material;
    server = createHttpsServer({ key: material.keyPem, cert: material.certPem }, listener);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `${options.http ? 'http' : 'https'}://127.0.0.1:${port}`;

  let closed: Promise<void> | undefined;
  return {
    url: baseUrl,
    ...(tls !== undefined ? { caPem: tls.caPem, caPath: join(options.dataDir, 'ca.pem') } : {}),
    faults,
    store,
    exchanges,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => store.close());
      return closed;
    },
  };
}

/** The request target as a URL; 400 for one that does not parse (e.g. "//"), not a crash. */
function requestUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    throw new HttpError(400, `malformed request target ${JSON.stringify(target)}`);
  }
}

/**
 * An unexpected error for stderr: the message escaped onto one line (it may quote the request),
 * then the stack frames as Node wrote them (taken after the message, so a message cannot add any).
 */
function describeCrash(error: unknown): string {
  if (!(error instanceof Error)) return escapeText(String(error));
  const head = `${error.name}: ${error.message}`;
  const stack = error.stack ?? '';
  const frames = stack.startsWith(head) ? stack.slice(head.length) : '';
  return escapeText(head) + frames.split('\n').map((line) => escapeText(line)).join('\n');
}

/** An exchange's weight against the byte budget: its bodies, its headers and a fixed overhead. */
function exchangeSize(exchange: Exchange): number {
  let size = EXCHANGE_OVERHEAD_BYTES + exchange.url.length + exchange.requestBody.length + (exchange.responseBody?.length ?? 0);
  for (const [name, value] of Object.entries(exchange.requestHeaders)) size += name.length + String(value ?? '').length;
  for (const [name, value] of Object.entries(exchange.responseHeaders)) size += name.length + value.length;
  return size;
}

function encodeReply(reply: Reply, requestId: string): { headers: Record<string, string>; payload: Buffer } {
  const headers: Record<string, string> = { 'X-MEN-RequestID': requestId, ...reply.headers };
  if (reply.stream !== undefined || reply.body === undefined) {
    return { headers, payload: Buffer.alloc(0) };
  }
  const hasType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
  let payload: Buffer;
  if (typeof reply.body === 'string') {
    payload = Buffer.from(reply.body, 'utf8');
    if (!hasType) headers['Content-Type'] = 'text/plain; charset=utf-8';
  } else if (reply.body instanceof Uint8Array) {
    payload = Buffer.from(reply.body);
    if (!hasType) headers['Content-Type'] = 'application/octet-stream';
  } else {
    payload = Buffer.from(JSON.stringify(reply.body), 'utf8');
    if (!hasType) headers['Content-Type'] = 'application/json; charset=utf-8';
  }
  headers['Content-Length'] = String(payload.length);
  return { headers, payload };
}
