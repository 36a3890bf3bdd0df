// The Mender-compatible development server: one function used by tests, the demo and the CLI.
// Loopback only; HTTPS with a CA kept in DATA by default.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Store } from './store.ts';
import { Faults } from './faults.ts';
import { Deployments } from './deployments.ts';
import { loadOrCreateTls } from './tls.ts';
import { compileRoutes, errorReply, HttpError, matchRoute, newRequestId, readBody, type Reply } from './http-kit.ts';
import { deviceRoutes } from './device-routes.ts';
import { managementRoutes } from './management-routes.ts';
import type { ServerContext } from './server-context.ts';
import type { ServerSecrets } from './model.ts';

export interface ServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  dataDir: string;
  /** Accept new devices on first contact (otherwise they stay pending until accepted). */
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
}

/** One request and its answer, as the server handled it (tests check these against the OpenAPI specs). */
export interface Exchange {
  /** ms since the server started */
  atMs: number;
  method: string;
  /** Path and query as requested. */
  url: string;
  requestHeaders: Record<string, string | string[] | undefined>;
  requestBody: Buffer;
  status: number;
  responseHeaders: Record<string, string>;
  /** undefined for streamed artifact downloads. */
  responseBody: Buffer | undefined;
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

const DEVICE_BODY_LIMIT_BYTES = 1024 * 1024; // Mender's deployments request limit
/** Artifact uploads are held in memory once (multipart parsing); a dev server limit. */
const UPLOAD_BODY_LIMIT_BYTES = 512 * 1024 * 1024;
const DEFAULT_JWT_TTL_SEC = 7 * 24 * 3600;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  mkdirSync(options.dataDir, { recursive: true });
  const store = new Store(options.dataDir);
  const secrets = store.get('secrets', 'secrets') ?? createSecrets(store);
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
    },
    jwtKey: Buffer.from(secrets.jwtKey, 'hex'),
    linkKey: Buffer.from(secrets.linkKey, 'hex'),
    url: () => baseUrl,
  };
  const routes = compileRoutes([...deviceRoutes(ctx), ...managementRoutes(ctx)]);
  const exchanges: Exchange[] = [];
  const keep = options.keepExchanges ?? 10_000;
  const started = Date.now();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');
    let body: Buffer = Buffer.alloc(0);
    let reply: Reply;
    let fault: string | undefined;
    try {
      const limit = method === 'POST' && url.pathname === '/api/management/v1/deployments/artifacts' ? UPLOAD_BODY_LIMIT_BYTES : DEVICE_BODY_LIMIT_BYTES;
      body = await readBody(req, limit);
      const injected = faults.takeRequestFault(method, url.pathname);
      if (injected !== undefined) {
        fault = `injected ${injected.status}`;
        const headers = injected.retryAfterSec !== undefined ? { 'Retry-After': String(injected.retryAfterSec) } : undefined;
        reply = errorReply(injected.status, `injected fault: ${injected.status}`, requestId, headers);
      } else {
        const { route, params } = matchRoute(routes, method, url.pathname);
        reply = await route.handler({ req, method, url, params, body, requestId });
      }
    } catch (error) {
      if (error instanceof HttpError) reply = error.bodyless ? { status: error.status } : errorReply(error.status, error.message, requestId);
      else {
        process.stderr.write(`ota-mcu server: ${method} ${url.pathname}: ${(error as Error).stack ?? String(error)}\n`);
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
      // Uploads can be large: keep at most the device body limit (the multipart is not re-checked).
      requestBody: body.length > DEVICE_BODY_LIMIT_BYTES ? body.subarray(0, DEVICE_BODY_LIMIT_BYTES) : body,
      status: reply.status,
      responseHeaders: headers,
      responseBody: reply.stream === undefined ? payload : undefined,
      ...(fault !== undefined ? { fault } : {}),
    };
    exchanges.push(exchange);
    if (exchanges.length > keep) exchanges.splice(0, exchanges.length - keep);
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

function createSecrets(store: Store): ServerSecrets {
  const secrets: ServerSecrets = { id: 'secrets', jwtKey: randomBytes(32).toString('hex'), linkKey: randomBytes(32).toString('hex') };
  store.put('secrets', secrets);
  return secrets;
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
