// A tiny HTTP(S) client for server tests: trusts the server's CA, returns status, headers and body.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text(): string;
  json<T = any>(): T;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** A JSON value (sent with Content-Type: application/json), or raw bytes/string as given. */
  json?: unknown;
  body?: Buffer | string;
  /** Bearer token for Authorization. */
  token?: string;
}

export function call(server: { url: string; caPem?: string }, method: string, path: string, options: CallOptions = {}): Promise<TestResponse> {
  const url = new URL(path, server.url);
  const headers: Record<string, string> = { ...options.headers };
  let body: Buffer | undefined;
  if (options.json !== undefined) {
    body = Buffer.from(JSON.stringify(options.json));
    headers['Content-Type'] ??= 'application/json';
  } else if (options.body !== undefined) {
    body = Buffer.from(options.body);
  }
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  if (body !== undefined) headers['Content-Length'] = String(body.length);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // No keep-alive agent: a pooled socket would outlive a server restart on the same port.
    const req = request(url, { method, headers, agent: false, ...(server.caPem !== undefined ? { ca: server.caPem } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: data,
          text: () => data.toString('utf8'),
          json: () => JSON.parse(data.toString('utf8')),
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
