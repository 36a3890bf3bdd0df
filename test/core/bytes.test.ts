// The byte helpers against Node's own base64 (the device has no Buffer, the test does).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../core/bytes.ts';

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
