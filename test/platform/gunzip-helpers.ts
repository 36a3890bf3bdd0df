// Helpers every gunzip suite shares (test/platform/inflate-fflate, gzip-member, and the Node CLI's
// test/simulator/inflate-node): sample data, chunked gunzip through an Inflate, little-endian
// trailer words, and the artifact-format failure the streams must raise.
import { expect } from 'vitest';
import { concatBytes } from '../../base/bytes.ts';
import { OtaError } from '../../base/errors.ts';
import type { Inflate } from '../../platform/inflate.ts';

/** Half text-like (compressible), half pseudo-random, so both match and literal paths run. */
export function sample(size: number): Uint8Array {
  let x = 12345;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 4096 < 2048 ? 97 + (i % 13) : x >>> 24;
  }
  return out;
}

/** `gz` pushed through `inflate`'s gunzip in pieces of `chunk` bytes, then ended. */
export function gunzipInChunks(inflate: Inflate, gz: Uint8Array, chunk: number): Uint8Array {
  const stream = inflate.gunzip();
  const parts: Uint8Array[] = [];
  for (let at = 0; at < gz.length; at += chunk) parts.push(stream.push(gz.subarray(at, at + chunk)).slice());
  parts.push(stream.end());
  return concatBytes(...parts);
}

/** A 32-bit value as the 4 little-endian bytes of a gzip trailer word. */
export const le32 = (value: number): number[] => [value & 255, (value >>> 8) & 255, (value >>> 16) & 255, value >>> 24];

/** Runs `fn`, expects an OtaError('artifact-format') and returns it. */
export function formatError(fn: () => unknown): OtaError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OtaError);
    expect((error as OtaError).code).toBe('artifact-format');
    return error as OtaError;
  }
  throw new Error('expected an artifact-format error');
}
