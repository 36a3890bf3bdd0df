// Reading small server answers: a bounded body read, status text for messages, and defensive JSON.
import { fromUtf8, joinBytes } from '../../base/bytes.ts';
import { OtaError, describe, unexpected } from '../../base/errors.ts';
import { isObject, isString } from '../../base/json.ts';

import type { HttpResponse } from '../../platform/http.ts';
import type { ExchangeDeadline } from './deadline.ts';

/** Largest JSON/JWT answer we accept from the device API; deployments answers are < 2 KiB. */
export const MAX_ANSWER_BYTES = 16 * 1024;

/** A status in messages: the code is the fact (no reason-phrase table on the device). */
export function statusLine(status: number): string {
  return `HTTP ${status}`;
}

/** Reads the whole body (at most `limit` bytes, within `deadline` when given) and closes the response either way. */
export async function readAnswer(response: HttpResponse, endpoint: string, limit = MAX_ANSWER_BYTES, deadline?: ExchangeDeadline): Promise<Uint8Array> {
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = await response.read();
      if (chunk === undefined) break;
      deadline?.check(chunk.length);
      total += chunk.length;
      if (total > limit) throw new OtaError('http-status', `${endpoint}: ${statusLine(response.status)} body over ${limit} bytes`);
      chunks.push(chunk);
    }
    return joinBytes(chunks); // the whole answer, <= limit bytes
  } finally {
    await response.close();
  }
}

/** Text of an HTTP 200 body; a non-UTF-8 answer is a protocol error naming the endpoint. */
export function answerText(bytes: Uint8Array, endpoint: string): string {
  try {
    return fromUtf8(bytes);
  } catch (error) {
    throw new OtaError('http-status', `${endpoint}: HTTP 200 body is not UTF-8`, { cause: error });
  }
}

/** A JSON object HTTP 200 body; anything else is OtaError('http-status') naming the endpoint. */
export function objectAnswer(bytes: Uint8Array, endpoint: string): Record<string, unknown> {
  const text = answerText(bytes, endpoint);
  const where = `${endpoint}: HTTP 200 body`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new OtaError('http-status', `${where} is not JSON: ${JSON.stringify(text.slice(0, 60))}`, { cause: error });
  }
  if (!isObject(body)) throw unexpected('http-status', where, 'an object', describe(body));
  return body;
}

/** The server's own explanation (`{"error": "…"}`), for error messages; '' when there is none. */
export function serverError(bytes: Uint8Array): string {
  try {
    const body = JSON.parse(fromUtf8(bytes)) as unknown;
    if (isObject(body) && isString(body['error'])) return body['error'].slice(0, 200);
  } catch {
    // not JSON: nothing to add
  }
  return '';
}

/** `object[key]` when `test` passes, else OtaError('http-status') naming `path + key`, what was expected and what came. */
export function answerField<T>(object: Record<string, unknown>, path: string, key: string, endpoint: string, expected: string, test: (value: unknown) => value is T): T {
  const value = object[key];
  if (!test(value)) throw unexpected('http-status', `${endpoint}: "${path}${key}"`, expected, describe(value));
  return value;
}
