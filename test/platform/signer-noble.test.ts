import { describe, expect, it } from 'vitest';
import { createPublicKey, createHash, randomBytes, verify } from 'node:crypto';
import { createSigner, generateSecretKey } from '../../platform/signer-noble.ts';
import { verifierNoble } from '../../platform/verifier-noble.ts';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import { fromHex, utf8 } from '../../base/bytes.ts';

const random = (n: number) => new Uint8Array(randomBytes(n));

describe('createSigner', () => {
  it('ed25519: derives the RFC 8032 public key and signs the message itself', async () => {
    const secret = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const signer = createSigner('ed25519', secret);
    expect(signer.type).toBe('ed25519');
    const key = parsePublicKeyPem(signer.publicKeyPem);
    expect(key.type === 'ed25519' && Buffer.from(key.raw).toString('hex')).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const signature = await signer.sign(new Uint8Array(0));
    expect(Buffer.from(signature).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    const message = utf8('{"id_data":"{\\"mac\\":\\"00:11\\"}"}');
    expect(verify(null, message, createPublicKey(signer.publicKeyPem), await signer.sign(message))).toBe(true);
  });

  it('ecdsa-p256: DER over SHA-256(message), as OpenSSL and Go verify it', async () => {
    const signer = createSigner('ecdsa-p256', generateSecretKey('ecdsa-p256', random));
    const message = utf8('auth request body');
    const signature = await signer.sign(message);
    expect(signature[0]).toBe(0x30); // DER SEQUENCE
    expect(verify('sha256', message, createPublicKey(signer.publicKeyPem), signature)).toBe(true);
    const digest = new Uint8Array(createHash('sha256').update(message).digest());
    expect(verifierNoble.verify('ecdsa-p256-sha256', parsePublicKeyPem(signer.publicKeyPem), digest, signature)).toBe(true);
    expect(verify('sha256', utf8('other'), createPublicKey(signer.publicKeyPem), signature)).toBe(false);
  });

  it('does not keep a reference to the caller\'s secret', async () => {
    const secret = generateSecretKey('ed25519', random);
    const signer = createSigner('ed25519', secret);
    const before = await signer.sign(utf8('m'));
    secret.fill(0);
    expect(await signer.sign(utf8('m'))).toEqual(before);
  });

  it('rejects bad arguments', () => {
    expect(() => createSigner('rsa' as never, new Uint8Array(32))).toThrow(TypeError);
    expect(() => createSigner('ed25519', new Uint8Array(31))).toThrow(RangeError);
    expect(() => createSigner('ecdsa-p256', new Uint8Array(32))).toThrow(RangeError); // scalar 0
    expect(() => createSigner('ecdsa-p256', new Uint8Array(32).fill(0xff))).toThrow(RangeError); // ≥ n
  });
});

describe('generateSecretKey', () => {
  it('uses the given random source (deterministic in, deterministic out)', () => {
    const fixed = (n: number) => new Uint8Array(n).fill(7);
    expect(generateSecretKey('ed25519', fixed)).toEqual(new Uint8Array(32).fill(7));
    const a = generateSecretKey('ecdsa-p256', fixed);
    expect(a.length).toBe(32);
    expect(generateSecretKey('ecdsa-p256', fixed)).toEqual(a);
    expect(generateSecretKey('ecdsa-p256', random)).not.toEqual(a);
  });

  it('throws when the random source returns the wrong size', () => {
    expect(() => generateSecretKey('ed25519', () => new Uint8Array(16))).toThrow(RangeError);
    expect(() => generateSecretKey('ecdsa-p256', () => new Uint8Array(32))).toThrow(RangeError);
    expect(() => generateSecretKey('x' as never, random)).toThrow(TypeError);
  });
});
