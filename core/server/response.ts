// Reading small server answers: a bounded body read, status text for messages, and defensive JSON.
import { fromUtf8 } from '../bytes.ts';
import { OtaError } from '../errors.ts';
import type { HttpResponse } from '../../platform/http.ts';

/** Largest JSON/JWT answer we accept from the device API; deployments answers are < 2 KiB. */
export const MAX_ANSWER_BYTES = 16 * 1024;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 206: 'Partial Content',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable',
  429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusLine(status: number): string {
  const text = STATUS_TEXT[status];
  return text === undefined ? String(status) : `${status} ${text}`;
}

/** Reads the whole body (at most `limit` bytes) and closes the response either way. */
export async function readAnswer(response: HttpResponse, endpoint: string, limit = MAX_ANSWER_BYTES): Promise<Uint8Array> {
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = await response.read();
      if (chunk === undefined) break;
      total += chunk.length;
      if (total > limit) {
        throw new OtaError('http-status', `${endpoint}: ${statusLine(response.status)} body larger than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
    if (chunks.length === 1) return chunks[0]!;
    const out = new Uint8Array(total); // the whole answer, <= limit bytes
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  } finally {
    await response.close();
  }
}

/** Text of a body; a non-UTF-8 answer is a protocol error naming the endpoint. */
export function answerText(bytes: Uint8Array, endpoint: string, status: number): string {
  try {
    return fromUtf8(bytes);
  } catch (error) {
    throw new OtaError('http-status', `${endpoint}: ${statusLine(status)} body is not UTF-8`, { cause: error });
  }
}

/** Parses a JSON body; malformed JSON is OtaError('http-status') naming the endpoint. */
export function parseAnswer(bytes: Uint8Array, endpoint: string, status: number): unknown {
  const text = answerText(bytes, endpoint, status);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new OtaError('http-status', `${endpoint}: ${statusLine(status)} body is not JSON: ${JSON.stringify(text.slice(0, 60))}`, {
      cause: error,
    });
  }
}

/** The server's own explanation (`{"error": "…"}`), for error messages; '' when there is none. */
export function serverError(bytes: Uint8Array): string {
  try {
    const body = JSON.parse(fromUtf8(bytes)) as unknown;
    if (isObject(body) && typeof body['error'] === 'string') return body['error'].slice(0, 200);
  } catch {
    // not JSON: nothing to add
  }
  return '';
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string field of an answer object, or OtaError('http-status') naming the field and what came. */
export function stringField(object: Record<string, unknown>, path: string, key: string, endpoint: string): string {
  const value = object[key];
  if (typeof value !== 'string' || value === '') {
    throw new OtaError('http-status', `${endpoint}: "${path}${key}" expected a non-empty string, got ${describe(value)}`);
  }
  return value;
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
