// inflateNode (simulator/inflate-node.ts), the CLI's gunzip: node:zlib under the shared gzip
// framing; the same cases as test/platform/inflate-fflate.test.ts, plus pushes split anywhere
// around the end of the DEFLATE body.
import { describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { inflateNode, inflateNodeIsNative } from '../../simulator/inflate-node.ts';
import { OtaError } from '../../base/errors.ts';
import { concatBytes } from '../../base/bytes.ts';
import { crc32 } from '../../base/crc32.ts';
import { formatError, gunzipInChunks, le32, sample } from '../platform/gunzip-helpers.ts';

/** Byte equality without vitest's element-wise toEqual (slow on hundreds of KiB). */
const same = (a: Uint8Array, b: Uint8Array) => expect(Buffer.compare(a, b)).toBe(0);

describe('inflateNode.gunzip', () => {
  const data = sample(600_000);
  const gz = new Uint8Array(gzipSync(data));

  it('is node:zlib wherever Node has zlib.crc32', () => {
    expect(inflateNodeIsNative).toBe(typeof (zlib as { crc32?: unknown }).crc32 === 'function'); // zlib.crc32: Node >= 20.15
  });

  it('inflates the same for every chunk size, and an empty member', () => {
    const small = new Uint8Array(gzipSync(data.subarray(0, 20_000)));
    for (const chunk of [1, 7, 8, 9]) same(gunzipInChunks(inflateNode, small, chunk), data.subarray(0, 20_000));
    for (const chunk of [512, 4096, 65536, gz.length]) same(gunzipInChunks(inflateNode, gz, chunk), data);
    expect(gunzipInChunks(inflateNode, new Uint8Array(gzipSync(new Uint8Array(0))), 1)).toEqual(new Uint8Array(0));
  });

  it('finds the end of the body wherever a push boundary falls around it', () => {
    const small = new Uint8Array(gzipSync(data.subarray(0, 3000)));
    for (let split = 1; split < small.length; split++) {
      const stream = inflateNode.gunzip();
      const out = concatBytes(stream.push(small.subarray(0, split)).slice(), stream.push(small.subarray(split)).slice(), stream.end());
      same(out, data.subarray(0, 3000));
    }
  });

  it('skips the optional header fields', () => {
    const body = data.subarray(0, 5000);
    const member = Uint8Array.of(0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 255, 2, 0, 1, 2, ...Buffer.from('a.tar\0c\0'), 0xaa, 0xbb, ...deflateRawSync(body), ...le32(crc32(body)), ...le32(body.length));
    for (const chunk of [1, 3, 300]) same(gunzipInChunks(inflateNode, member, chunk), body);
  });

  it('keeps one push\'s output bounded by what that push produced', () => {
    const stream = inflateNode.gunzip();
    let total = 0;
    for (let at = 0; at < gz.length; at += inflateNode.pushBytes) total += stream.push(gz.subarray(at, at + inflateNode.pushBytes)).length;
    total += stream.end().length;
    expect(total).toBe(data.length);
  });

  it('refuses a wrong CRC-32, a wrong ISIZE, every truncation, corruption and trailing bytes', () => {
    const edit = (change: (b: Uint8Array) => void) => {
      const copy = gz.slice();
      change(copy);
      return copy;
    };
    expect(formatError(() => gunzipInChunks(inflateNode, edit((b) => (b[gz.length - 8]! ^= 1)), 4096)).message).toMatch(/CRC-32 expected/);
    expect(formatError(() => gunzipInChunks(inflateNode, edit((b) => (b[gz.length - 1]! ^= 1)), 4096)).message).toMatch(/ISIZE expected/);
    const small = new Uint8Array(gzipSync(sample(3000)));
    for (let cut = 0; cut < small.length; cut++) expect(formatError(() => gunzipInChunks(inflateNode, small.subarray(0, cut), 100)).message).toMatch(/truncated|invalid/);
    expect(formatError(() => gunzipInChunks(inflateNode, edit((b) => (b[0] = 0)), 4096)).message).toMatch(/magic/);
    expect(formatError(() => gunzipInChunks(inflateNode, edit((b) => b.fill(0xff, 10, 40)), 4096)).message).toMatch(/deflate|CRC|ISIZE/);
    expect(formatError(() => gunzipInChunks(inflateNode, Uint8Array.of(...gz, 0), 4096)).message).toMatch(/after the gzip member/);
  });
});
