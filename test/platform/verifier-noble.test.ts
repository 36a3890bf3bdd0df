import { beforeAll, describe, expect, it } from 'vitest';
import { constants, createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { verifierNoble } from '../../platform/verifier-noble.ts';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import type { PublicKey } from '../../platform/verifier.ts';
import { fromBase64, fromHex, fromUtf8, utf8 } from '../../base/bytes.ts';
import { MENDER_FIXTURES, fixture } from '../vectors.ts';
import { tarSplit } from '../core/artifact/tar-build.ts';

const sha256 = (bytes: Uint8Array) => new Uint8Array(createHash('sha256').update(bytes).digest());
const spki = (key: KeyObject) => parsePublicKeyPem(key.export({ type: 'spki', format: 'pem' }) as string);
const flip = (bytes: Uint8Array, at: number) => {
  const copy = bytes.slice();
  copy[at]! ^= 1;
  return copy;
};
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

describe('verifierNoble: manifest.sig of the real fixtures', () => {
  for (const [file, pem] of [
    ['rootfs-gzip-signed-ecdsa-p256.mender', 'ecdsa-p256-public.pem'],
    ['rootfs-none-signed-ecdsa-p256.mender', 'ecdsa-p256-public.pem'],
    ['module-gzip-augmented-signed-ecdsa-p256.mender', 'ecdsa-p256-public.pem'],
    ['rootfs-gzip-signed-rsa3072.mender', 'rsa3072-public.pem'],
  ] as const) {
    it(`${file} verifies with ${pem} and fails when the manifest changes`, () => {
      const entries = tarSplit(fixture(file));
      const entry = (name: string) => entries.find((e) => e.name === name)?.data ?? expect.unreachable(`no tar entry ${name}`);
      const manifest = entry('manifest');
      const signature = fromBase64(fromUtf8(entry('manifest.sig')));
      const key = parsePublicKeyPem(readFileSync(resolve(MENDER_FIXTURES, pem), 'utf8'));
      const scheme = key.type === 'rsa' ? 'rsa-pkcs1-sha256' : 'ecdsa-p256-sha256';
      expect(verifierNoble.verify(scheme, key, sha256(manifest), signature)).toBe(true);
      expect(verifierNoble.verify(scheme, key, sha256(flip(manifest, 3)), signature)).toBe(false);
      expect(verifierNoble.verify(scheme, key, sha256(manifest), flip(signature, 10))).toBe(false);
    });
  }
});

describe('verifierNoble: ECDSA P-256', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = spki(publicKey);
  const message = utf8('manifest bytes');
  const digest = sha256(message);
  const der = new Uint8Array(sign('sha256', message, privateKey));
  const raw = new Uint8Array(sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }));

  it('accepts raw r‖s and DER', () => {
    expect(raw.length).toBe(64);
    expect(verifierNoble.verify('ecdsa-p256-sha256', key, digest, raw)).toBe(true);
    expect(verifierNoble.verify('ecdsa-p256-sha256', key, digest, der)).toBe(true);
  });

  it('accepts high-S signatures, as Go ecdsa.Verify (mender-artifact) does', () => {
    const s = BigInt('0x' + Buffer.from(raw.subarray(32)).toString('hex'));
    const highS = raw.slice();
    highS.set(fromHex((P256_N - s).toString(16).padStart(64, '0')), 32);
    expect(verifierNoble.verify('ecdsa-p256-sha256', key, digest, highS)).toBe(true);
  });

  it('works with a compressed public key', () => {
    if (key.type !== 'ecdsa-p256') throw new Error('expected EC');
    const compressed = Uint8Array.of(2 | (key.raw[64]! & 1), ...key.raw.subarray(1, 33));
    expect(verifierNoble.verify('ecdsa-p256-sha256', { type: 'ecdsa-p256', raw: compressed }, digest, raw)).toBe(true);
  });

  it('returns false, never throws, for bad signatures', () => {
    const n = fromHex(P256_N.toString(16));
    const bad = [
      flip(raw, 0),
      flip(raw, 63),
      flip(der, der.length - 1),
      flip(der, 0), // not a SEQUENCE
      der.subarray(0, der.length - 1),
      new Uint8Array(64), // r = s = 0
      Uint8Array.of(...n, ...raw.subarray(32)), // r = n
      new Uint8Array(0),
      new Uint8Array(63),
      new Uint8Array(73),
      new Uint8Array(100).fill(0x30),
    ];
    for (const signature of bad) expect(verifierNoble.verify('ecdsa-p256-sha256', key, digest, signature)).toBe(false);
    expect(verifierNoble.verify('ecdsa-p256-sha256', key, sha256(utf8('other')), raw)).toBe(false);
    const notOnCurve: PublicKey = { type: 'ecdsa-p256', raw: Uint8Array.of(4, ...new Uint8Array(64).fill(7)) };
    expect(verifierNoble.verify('ecdsa-p256-sha256', notOnCurve, digest, raw)).toBe(false);
  });

  it('throws a TypeError when the key does not fit the scheme, RangeError for a non-digest', () => {
    expect(() => verifierNoble.verify('rsa-pkcs1-sha256', key, digest, raw)).toThrow(TypeError);
    expect(() => verifierNoble.verify('ed25519', key, digest, raw)).toThrow(TypeError);
    expect(() => verifierNoble.verify('ecdsa-p256-sha256', key, message, raw)).toThrow(RangeError);
    expect(() => verifierNoble.verify('nope' as never, key, digest, raw)).toThrow(TypeError);
  });
});

describe('verifierNoble: Ed25519', () => {
  // RFC 8032 §7.1, TEST 1 and TEST 2.
  const vectors = [
    {
      pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      msg: '',
      sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    },
    {
      pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      msg: '72',
      sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    },
  ];
  it('verifies the RFC 8032 vectors and rejects altered ones', () => {
    for (const v of vectors) {
      const key: PublicKey = { type: 'ed25519', raw: fromHex(v.pub) };
      expect(verifierNoble.verify('ed25519', key, fromHex(v.msg), fromHex(v.sig))).toBe(true);
      expect(verifierNoble.verify('ed25519', key, utf8('x'), fromHex(v.sig))).toBe(false);
      expect(verifierNoble.verify('ed25519', key, fromHex(v.msg), flip(fromHex(v.sig), 5))).toBe(false);
      expect(verifierNoble.verify('ed25519', key, fromHex(v.msg), fromHex(v.sig).subarray(1))).toBe(false);
    }
  });

  it('verifies node:crypto signatures over long messages; garbage keys give false', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const message = new Uint8Array(5000).fill(9);
    const signature = new Uint8Array(sign(null, message, privateKey));
    expect(verifierNoble.verify('ed25519', spki(publicKey), message, signature)).toBe(true);
    const garbage: PublicKey = { type: 'ed25519', raw: new Uint8Array(32).fill(0xff) };
    expect(verifierNoble.verify('ed25519', garbage, message, signature)).toBe(false);
  });
});

describe('verifierNoble: RSA', () => {
  const keys = new Map<number, { publicKey: KeyObject; privateKey: KeyObject }>();
  beforeAll(() => {
    for (const bits of [2048, 3072, 4096]) keys.set(bits, generateKeyPairSync('rsa', { modulusLength: bits }));
  });
  const message = utf8('signed manifest\n');
  const digest = sha256(message);

  for (const bits of [2048, 3072, 4096]) {
    it(`RSA-${bits}: PKCS#1 v1.5 and PSS (salt 32) verify; tampering gives false`, () => {
      const { publicKey, privateKey } = keys.get(bits)!;
      const key = spki(publicKey);
      const pkcs1 = new Uint8Array(sign('sha256', message, privateKey));
      const pss = new Uint8Array(
        sign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
      );
      expect(verifierNoble.verify('rsa-pkcs1-sha256', key, digest, pkcs1)).toBe(true);
      expect(verifierNoble.verify('rsa-pss-sha256', key, digest, pss)).toBe(true);
      // Each padding is refused by the other scheme.
      expect(verifierNoble.verify('rsa-pkcs1-sha256', key, digest, pss)).toBe(false);
      expect(verifierNoble.verify('rsa-pss-sha256', key, digest, pkcs1)).toBe(false);
      for (const scheme of ['rsa-pkcs1-sha256', 'rsa-pss-sha256'] as const) {
        const signature = scheme === 'rsa-pkcs1-sha256' ? pkcs1 : pss;
        expect(verifierNoble.verify(scheme, key, sha256(utf8('other')), signature)).toBe(false);
        expect(verifierNoble.verify(scheme, key, digest, flip(signature, 17))).toBe(false);
        expect(verifierNoble.verify(scheme, key, digest, signature.subarray(1))).toBe(false);
        expect(verifierNoble.verify(scheme, key, digest, new Uint8Array(signature.length).fill(0xff))).toBe(false); // ≥ n
        expect(verifierNoble.verify(scheme, key, digest, new Uint8Array(signature.length))).toBe(false);
      }
    });
  }

  it('refuses PSS with a salt other than 32 bytes', () => {
    const { publicKey, privateKey } = keys.get(2048)!;
    const pss20 = new Uint8Array(sign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 }));
    expect(verifierNoble.verify('rsa-pss-sha256', spki(publicKey), digest, pss20)).toBe(false);
  });

  it('throws for keys outside 2048-4096 bits and for non-RSA keys', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => verifierNoble.verify('rsa-pkcs1-sha256', spki(small), digest, new Uint8Array(128))).toThrow(RangeError);
    const ed: PublicKey = { type: 'ed25519', raw: new Uint8Array(32) };
    expect(() => verifierNoble.verify('rsa-pss-sha256', ed, digest, new Uint8Array(256))).toThrow(TypeError);
  });
});
