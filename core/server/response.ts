// Reading small server answers: a bounded body read, status text for messages, and defensive JSON.
import { concatBytes, fromUtf8 } from '../bytes.ts';
import { OtaError, describe, unexpected } from '../errors.ts';
import { isObject } from '../json.ts';

export { describe };
import type { HttpResponse } from '../../platform/http.ts';

/** Largest JSON/JWT answer we accept from the device API; deployments answers are < 2 KiB. */
export const MAX_ANSWER_BYTES = 16 * 1024;

/** A status in messages: the code is the fact (no reason-phrase table on the device). */
export function statusLine(status: number): string {
  return `HTTP ${status}`;
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
      if (total > limit) throw new OtaError('http-status', `${endpoint}: ${statusLine(response.status)} body over ${limit} bytes`);
      chunks.push(chunk);
    }
    return chunks.length === 1 ? chunks[0]! : concatBytes(...chunks); // the whole answer, <= limit bytes
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

/** A string field of an answer object (non-empty unless `empty`), or OtaError('http-status') naming the field and what came. */
export function stringField(object: Record<string, unknown>, path: string, key: string, endpoint: string, empty = false): string {
  const value = object[key];
  if (typeof value !== 'string' || (value === '' && !empty)) {
    throw unexpected('http-status', `${endpoint}: "${path}${key}"`, empty ? 'a string' : 'a non-empty string', describe(value));
  }
  return value;
}

/** A JSON object answer, or OtaError('http-status'). */
export function objectAnswer(body: unknown, endpoint: string): Record<string, unknown> {
  if (!isObject(body)) throw unexpected('http-status', `${endpoint}: HTTP 200 body`, 'an object', describe(body));
  return body;
}
