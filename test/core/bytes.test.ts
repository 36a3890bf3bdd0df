// The byte helpers: base64 against Node's own (the device has no Buffer, the test does), and joining.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromBase64, joinBytes, toBase64 } from '../../base/bytes.ts';

describe('base64', () => {
  it('encodes and decodes every length as RFC 4648 with padding, ignoring ASCII whitespace', () => {
    for (let n = 0; n < 100; n++) {
      const bytes = new Uint8Array(randomBytes(n));
      const reference = Buffer.from(bytes).toString('base64');
      expect(toBase64(bytes)).toBe(reference);
      expect(fromBase64(reference)).toEqual(bytes);
      expect(fromBase64(reference.replace(/(.{7})/g, '$1\r\n\t '))).toEqual(bytes);
    }
  });

  it('refuses what is not padded base64', () => {
    for (const bad of ['abc', 'a===', '@@@@', 'ab=c']) expect(() => fromBase64(bad), bad).toThrow(TypeError);
  });
});

describe('joinBytes and concatBytes', () => {
  it('join lists of any length in order; one part comes back as itself, none as empty', () => {
    const parts = Array.from({ length: 10_000 }, (_, i) => Uint8Array.of(i & 255, i >> 8));
    const joined = joinBytes(parts);
    expect(joined.length).toBe(20_000);
    expect(Array.from(joined.subarray(19_998))).toEqual([9_999 & 255, 9_999 >> 8]);
    const only = Uint8Array.of(1, 2);
    expect(joinBytes([only])).toBe(only);
    expect(joinBytes([]).length).toBe(0);
    expect(concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3))).toEqual(Uint8Array.of(1, 2, 3));
  });
});
