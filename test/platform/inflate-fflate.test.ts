import { describe, expect, it } from 'vitest';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { inflateFflate } from '../../platform/inflate-fflate.ts';
import { OtaError } from '../../base/errors.ts';
import { crc32 } from '../../base/crc32.ts';
import { gunzipInChunks, le32, sample } from './gunzip-helpers.ts';

/** A gzip member with every optional header field (FEXTRA, FNAME, FCOMMENT, FHCRC). */
function gzipWithAllFields(data: Uint8Array): Uint8Array {
  const header = [0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 255];
  const extra = [5, 1, 1, 2, 3, 4, 5]; // XLEN 261 (low byte 5, high 1), then 261 bytes
  const extraBody = new Array(261).fill(0x41);
  const name = [...Buffer.from('payload.tar'), 0];
  const comment = [...Buffer.from('a comment'), 0];
  const hcrc = [0xaa, 0xbb];
  return Uint8Array.of(
    ...header,
    extra[0]!,
    extra[1]!,
    ...extraBody,
    ...name,
    ...comment,
    ...hcrc,
    ...deflateRawSync(data),
    ...le32(crc32(data)),
    ...le32(data.length),
  );
}

const expectFormatError = (fn: () => unknown, pattern: RegExp) => {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(OtaError);
  expect((error as OtaError).code).toBe('artifact-format');
  expect((error as OtaError).message).toMatch(pattern);
};

describe('inflateFflate.gunzip', () => {
  const data = sample(200_000);
  const gz = new Uint8Array(gzipSync(data));

  it('inflates the same for every chunk size', () => {
    const small = new Uint8Array(gzipSync(data.subarray(0, 20_000)));
    for (const chunk of [1, 7]) expect(gunzipInChunks(inflateFflate, small, chunk)).toEqual(data.subarray(0, 20_000));
    for (const chunk of [512, 4096, gz.length]) expect(gunzipInChunks(inflateFflate, gz, chunk)).toEqual(data);
  });

  it('inflates empty content', () => {
    expect(gunzipInChunks(inflateFflate, new Uint8Array(gzipSync(new Uint8Array(0))), 1)).toEqual(new Uint8Array(0));
  });

  it('skips FEXTRA, FNAME, FCOMMENT and FHCRC header fields, split anywhere', () => {
    const member = gzipWithAllFields(data.subarray(0, 5000));
    for (const chunk of [1, 2, 3, 300]) expect(gunzipInChunks(inflateFflate, member, chunk)).toEqual(data.subarray(0, 5000));
  });

  it('keeps output bounded by what each push produced', () => {
    const stream = inflateFflate.gunzip();
    let largest = 0;
    for (let at = 0; at < gz.length; at += 4096) largest = Math.max(largest, stream.push(gz.subarray(at, at + 4096)).length);
    stream.end();
    expect(largest).toBeLessThan(4096 * 64);
  });

  it('refuses a wrong CRC-32 and a wrong ISIZE', () => {
    const badCrc = gz.slice();
    badCrc[gz.length - 8]! ^= 1;
    expectFormatError(() => gunzipInChunks(inflateFflate, badCrc, 4096), /CRC-32 expected/);
    const badSize = gz.slice();
    badSize[gz.length - 1]! ^= 1;
    expectFormatError(() => gunzipInChunks(inflateFflate, badSize, 4096), /ISIZE expected/);
  });

  it('refuses every truncation with an OtaError', () => {
    const small = new Uint8Array(gzipSync(sample(3000)));
    for (let cut = 0; cut < small.length; cut++) {
      expectFormatError(() => gunzipInChunks(inflateFflate, small.subarray(0, cut), 100), /truncated|invalid/);
    }
  });

  it('refuses bad magic, a bad method, reserved flags, corrupt deflate data and trailing bytes', () => {
    const bad = (edit: (b: Uint8Array) => void) => {
      const copy = gz.slice();
      edit(copy);
      return copy;
    };
    expectFormatError(() => gunzipInChunks(inflateFflate, bad((b) => (b[0] = 0)), 4096), /magic/);
    expectFormatError(() => gunzipInChunks(inflateFflate, bad((b) => (b[2] = 7)), 4096), /method/);
    expectFormatError(() => gunzipInChunks(inflateFflate, bad((b) => (b[3] = 0x80)), 4096), /reserved/);
    expectFormatError(() => gunzipInChunks(inflateFflate, bad((b) => b.fill(0xff, 10, 40)), 4096), /deflate|CRC|ISIZE/);
    expectFormatError(() => gunzipInChunks(inflateFflate, Uint8Array.of(...gz, 0), 4096), /after the gzip member/);
  });

  it('throws an Error when used after end()', () => {
    const stream = inflateFflate.gunzip();
    stream.push(gz);
    stream.end();
    expect(() => stream.push(gz)).toThrow(Error);
    expect(() => stream.end()).toThrow(Error);
  });
});
