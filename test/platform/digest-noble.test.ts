import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { sha256Noble } from '../../platform/digest-noble.ts';
import { toHex, utf8 } from '../../base/bytes.ts';

describe('sha256Noble', () => {
  it('gives the FIPS 180-2 known answers', () => {
    const empty = sha256Noble();
    expect(toHex(empty.digest())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const abc = sha256Noble();
    abc.update(utf8('abc'));
    expect(toHex(abc.digest())).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes the same in pieces as whole', () => {
    const data = new Uint8Array(10_000).map((_, i) => (i * 31) & 255);
    const hash = sha256Noble();
    for (let at = 0; at < data.length; at += 777) hash.update(data.subarray(at, at + 777));
    expect(toHex(hash.digest())).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('throws once the digest was taken', () => {
    const hash = sha256Noble();
    hash.digest();
    expect(() => hash.digest()).toThrow(Error);
    expect(() => hash.update(new Uint8Array(1))).toThrow(Error);
  });
});
