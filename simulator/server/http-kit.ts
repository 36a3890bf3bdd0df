// Small HTTP pieces shared by the route modules: routes with :params, replies, Mender's error body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';

export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  /** Answer without a body where the spec declares none (e.g. 409 on a status report). */
  readonly bodyless: boolean;
  constructor(status: number, message: string, options?: { bodyless?: boolean }) {
    super(message);
    this.status = status;
    this.bodyless = options?.bodyless ?? false;
  }
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** JSON value (sent as application/json), a string (text/plain unless a Content-Type is given) or bytes. */
  body?: unknown;
  /** Writes the body itself (artifact downloads); `body` is then ignored. */
  stream?: (res: ServerResponse) => Promise<void>;
}

export interface RequestContext {
  req: IncomingMessage;
  method: string;
  url: URL;
  params: Record<string, string>;
  /** The body as read for the route (empty for routes that read none, or read it themselves). */
  body: Buffer;
  /** Body bytes received, for the exchange record; routes that stream the body count it here. */
  bodyBytes: number;
  requestId: string;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  /** Path template with :name segments, e.g. /api/devices/v1/deployments/device/deployments/:id/status */
  template: string;
  handler: Handler;
  /**
   * Runs before a single body byte is read (authentication): a caller the route refuses cannot
   * make the server read, let alone keep, what it sends. Throws HttpError to refuse.
   */
  guard?: (rc: RequestContext) => void;
  /**
   * The most body bytes the server reads into `rc.body` before calling the handler (413 past it).
   * Absent: the route takes no body and none is read. 'stream': the handler reads `rc.req` itself.
   */
  bodyLimitBytes?: number | 'stream';
}

export interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

export function compileRoutes(routes: Route[]): CompiledRoute[] {
  return routes.map((route) => {
    const names: string[] = [];
    const source = route.template
      .split('/')
      .map((segment) => {
        if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(segment.slice(1));
        return '([^/]+)';
      })
      .join('/');
    return { ...route, regex: new RegExp(`^${source}$`), names };
  });
}

/** The route for method + path; 404 for an unknown path, 405 when only the method is wrong. */
export function matchRoute(routes: CompiledRoute[], method: string, path: string): { route: CompiledRoute; params: Record<string, string> } {
  let pathMatched = false;
  for (const route of routes) {
    const m = route.regex.exec(path);
    if (m === null) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => (params[name] = decodePathSegment(m[i + 1]!)));
    return { route, params };
  }
  throw new HttpError(pathMatched ? 405 : 404, pathMatched ? `method ${method} not allowed on ${path}` : `no such endpoint: ${path}`);
}

/** A percent-decoded path segment; 400 (not a URIError, which would be a 500) for a bad escape. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed percent-escape in path segment ${JSON.stringify(segment)}`);
  }
}

export function newRequestId(): string {
  return randomBytes(8).toString('hex');
}

export function errorReply(status: number, message: string, requestId: string, headers?: Record<string, string>): Reply {
  return { status, headers, body: { error: message, request_id: requestId } };
}

/** Reads the whole request body (Node undoes chunked transfer coding); 413 past `limitBytes`. */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limitBytes) {
      req.resume();
      throw new HttpError(413, `request body larger than ${limitBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Mender's CheckJSON middleware: only when a body is present, a missing or unparsable Content-Type
 * is 400 and another media type 415; then the body must parse as JSON (400).
 */
export function jsonBody(ctx: RequestContext): unknown {
  if (ctx.body.length > 0) {
    const type = ctx.req.headers['content-type'];
    if (type === undefined || type.trim() === '') throw new HttpError(400, 'missing Content-Type header');
    const media = type.split(';')[0]!.trim().toLowerCase();
    if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(media)) throw new HttpError(400, `malformed Content-Type ${JSON.stringify(type)}`);
    if (media !== 'application/json') throw new HttpError(415, `Content-Type must be application/json, got ${media}`);
  }
  const text = ctx.body.toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'request body is empty; expected JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `request body is not JSON: ${(error as Error).message}`);
  }
}

export function nowIso(): string {
  return new Date().toISOString();
}
