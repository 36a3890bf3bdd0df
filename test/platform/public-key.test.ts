import { describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parsePublicKeyPem, publicKeyToPem, readDer } from '../../platform/public-key.ts';
import { fromBase64 } from '../../base/bytes.ts';
import { MENDER_FIXTURES } from '../vectors.ts';

const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string;
const fixturePem = (name: string) => readFileSync(resolve(MENDER_FIXTURES, name), 'utf8');

describe('parsePublicKeyPem', () => {
  it('reads the EC P-256 fixture as an uncompressed SEC1 point', () => {
    const key = parsePublicKeyPem(fixturePem('ecdsa-p256-public.pem'));
    expect(key.type).toBe('ecdsa-p256');
    if (key.type !== 'ecdsa-p256') return;
    expect(key.raw.length).toBe(65);
    expect(key.raw[0]).toBe(4);
  });

  it('reads the RSA-3072 fixture', () => {
    const key = parsePublicKeyPem(fixturePem('rsa3072-public.pem'));
    expect(key.type).toBe('rsa');
    if (key.type !== 'rsa') return;
    expect(key.bits).toBe(3072);
    expect(key.modulus.length).toBe(384);
    expect(Array.from(key.exponent)).toEqual([1, 0, 1]);
    const jwk = createPublicKey(fixturePem('rsa3072-public.pem')).export({ format: 'jwk' });
    expect(Buffer.from(key.modulus).toString('base64url')).toBe(jwk.n);
  });

  it('reads RSA 2048 and 4096 as SPKI and as PKCS#1 "RSA PUBLIC KEY"', () => {
    for (const modulusLength of [2048, 4096]) {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength });
      const spki = parsePublicKeyPem(pem(publicKey));
      const pkcs1 = parsePublicKeyPem(publicKey.export({ type: 'pkcs1', format: 'pem' }) as string);
      expect(spki).toEqual(pkcs1);
      expect(spki.type === 'rsa' && spki.bits).toBe(modulusLength);
    }
  });

  it('reads Ed25519 SPKI', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const key = parsePublicKeyPem(pem(publicKey));
    expect(key.type).toBe('ed25519');
    const jwk = publicKey.export({ format: 'jwk' });
    expect(key.type === 'ed25519' && Buffer.from(key.raw).toString('base64url')).toBe(jwk.x);
  });

  it('reads compressed P-256 points', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const uncompressed = parsePublicKeyPem(pem(publicKey));
    if (uncompressed.type !== 'ecdsa-p256') throw new Error('expected EC');
    const compressed = Uint8Array.of(2 | (uncompressed.raw[64]! & 1), ...uncompressed.raw.subarray(1, 33));
    const text = publicKeyToPem({ type: 'ecdsa-p256', raw: compressed });
    expect(parsePublicKeyPem(text)).toEqual({ type: 'ecdsa-p256', raw: compressed });
    // OpenSSL reads the same key back and it equals the original.
    expect(createPublicKey(text).export({ format: 'jwk' })).toEqual(publicKey.export({ format: 'jwk' }));
  });

  it('names other curves and key types in a TypeError', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    expect(() => parsePublicKeyPem(pem(p384))).toThrow(/P-384/);
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
    expect(() => parsePublicKeyPem(pem(k1))).toThrow(/secp256k1/);
    const ed448 = generateKeyPairSync('ed448').publicKey;
    expect(() => parsePublicKeyPem(pem(ed448))).toThrow(TypeError);
    expect(() => parsePublicKeyPem(pem(ed448))).toThrow(/Ed448/);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => parsePublicKeyPem(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)).toThrow(/"PRIVATE KEY"/);
    expect(() => parsePublicKeyPem('hello')).toThrow(/BEGIN PUBLIC KEY/);
    expect(() => parsePublicKeyPem(42 as unknown as string)).toThrow(TypeError);
  });

  it('rejects malformed DER with a TypeError', () => {
    const good = fixturePem('ecdsa-p256-public.pem');
    const der = fromBase64(good.replace(/-----[^-]+-----|\s/g, ''));
    for (const cut of [1, 10, 30, der.length - 1]) {
      const text = publicKeyToPemBody(der.subarray(0, cut));
      expect(() => parsePublicKeyPem(text)).toThrow(TypeError);
    }
    const trailing = publicKeyToPemBody(Uint8Array.of(...der, 0));
    expect(() => parsePublicKeyPem(trailing)).toThrow(/trailing/);
  });
});

function publicKeyToPemBody(der: Uint8Array): string {
  return `-----BEGIN PUBLIC KEY-----\n${Buffer.from(der).toString('base64')}\n-----END PUBLIC KEY-----\n`;
}

describe('publicKeyToPem', () => {
  it('writes the same SPKI PEM as OpenSSL for every key type', () => {
    const keys = [
      generateKeyPairSync('ed25519').publicKey,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
    ];
    for (const key of keys) expect(publicKeyToPem(parsePublicKeyPem(pem(key)))).toBe(pem(key));
    expect(publicKeyToPem(parsePublicKeyPem(fixturePem('rsa3072-public.pem')))).toBe(fixturePem('rsa3072-public.pem'));
  });

  it('throws a TypeError for an unknown key type', () => {
    expect(() => publicKeyToPem({ type: 'dsa' } as never)).toThrow(TypeError);
  });
});

describe('readDer', () => {
  it('reads long-form lengths and refuses non-minimal or overlong ones', () => {
    expect(readDer(Uint8Array.of(0x04, 0x81, 0x80, ...new Uint8Array(128)), 0)).toEqual({ tag: 4, start: 3, end: 131 });
    expect(() => readDer(Uint8Array.of(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), 0)).toThrow(/minimally/);
    expect(() => readDer(Uint8Array.of(0x04, 0x05, 1), 0)).toThrow(/past the end/);
    expect(() => readDer(Uint8Array.of(0x04, 0x80), 0)).toThrow(/definite/);
  });
});
