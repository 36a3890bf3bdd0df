// Portable signature verification: ECDSA P-256 and Ed25519 (@noble/curves), and RSA
// PKCS#1 v1.5 / PSS with SHA-256 (RFC 8017 §8.2.2, §9.1.2) by BigInt modular exponentiation.
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, fromHex, toHex } from '../base/bytes.ts';
import { ed25519, p256 } from './noble-curves.ts';
import type { PublicKey, SignatureScheme, Verifier } from './verifier.ts';

const DIGEST_BYTES = 32;
const PSS_SALT_BYTES = 32;
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 4096;
// DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1): what mender-artifact's Go signer writes.
const SHA256_DIGEST_INFO = fromHex('3031300d060960864801650304020105000420');

function expectKey(scheme: SignatureScheme, key: PublicKey, type: PublicKey['type']): void {
  if (!key || key.type !== type) {
    throw new TypeError(`"key" for scheme ${scheme} expected a ${type} key, got ${key ? key.type : String(key)}`);
  }
}

function expectDigest(scheme: SignatureScheme, signed: Uint8Array): void {
  if (!(signed instanceof Uint8Array) || signed.length !== DIGEST_BYTES) {
    throw new RangeError(`"signed" for scheme ${scheme} expected a ${DIGEST_BYTES}-byte SHA-256 digest, got ${signed instanceof Uint8Array ? `${signed.length} bytes` : typeof signed}`);
  }
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + toHex(bytes));
}

/** I2OSP: `value` as exactly `length` big-endian bytes, or undefined if it does not fit. */
function toBytes(value: bigint, length: number): Uint8Array | undefined {
  const hex = value.toString(16);
  if (hex.length > length * 2) return undefined;
  return fromHex(hex.padStart(length * 2, '0'));
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

/** RSAVP1 (RFC 8017 §5.2.2): the encoded message as `emLength` bytes, or undefined when out of range. */
function rsaOpen(key: Extract<PublicKey, { type: 'rsa' }>, signature: Uint8Array, emLength: number): Uint8Array | undefined {
  const k = Math.ceil(key.bits / 8);
  if (signature.length !== k) return undefined;
  const n = toBigInt(key.modulus);
  const s = toBigInt(signature);
  if (s >= n) return undefined;
  return toBytes(modPow(s, toBigInt(key.exponent), n), emLength);
}

function expectRsaSize(scheme: SignatureScheme, key: Extract<PublicKey, { type: 'rsa' }>): void {
  if (key.bits < RSA_MIN_BITS || key.bits > RSA_MAX_BITS) {
    throw new RangeError(`"key" for scheme ${scheme} expected an RSA modulus of ${RSA_MIN_BITS}-${RSA_MAX_BITS} bits, got ${key.bits}`);
  }
}

function verifyPkcs1(key: Extract<PublicKey, { type: 'rsa' }>, digest: Uint8Array, signature: Uint8Array): boolean {
  const k = Math.ceil(key.bits / 8);
  const em = rsaOpen(key, signature, k);
  if (!em) return false;
  // EMSA-PKCS1-v1_5: 00 01 FF…FF 00 DigestInfo H — rebuild it and compare whole (no parsing ambiguity).
  const expected = new Uint8Array(k).fill(0xff);
  expected[0] = 0;
  expected[1] = 1;
  const tLength = SHA256_DIGEST_INFO.length + DIGEST_BYTES;
  expected[k - tLength - 1] = 0;
  expected.set(SHA256_DIGEST_INFO, k - tLength);
  expected.set(digest, k - DIGEST_BYTES);
  return equalBytes(em, expected);
}

/** MGF1 with SHA-256 (RFC 8017 §B.2.1). */
function mgf1(seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const block = new Uint8Array(seed.length + 4);
  block.set(seed);
  for (let counter = 0, at = 0; at < length; counter++, at += DIGEST_BYTES) {
    block[seed.length] = counter >>> 24;
    block[seed.length + 1] = (counter >>> 16) & 255;
    block[seed.length + 2] = (counter >>> 8) & 255;
    block[seed.length + 3] = counter & 255;
    out.set(sha256(block).subarray(0, Math.min(DIGEST_BYTES, length - at)), at);
  }
  return out;
}

function verifyPss(key: Extract<PublicKey, { type: 'rsa' }>, digest: Uint8Array, signature: Uint8Array): boolean {
  const emBits = key.bits - 1;
  const emLength = Math.ceil(emBits / 8);
  const em = rsaOpen(key, signature, emLength);
  if (!em) return false;
  // EMSA-PSS-VERIFY (RFC 8017 §9.1.2), steps 3-14.
  if (emLength < DIGEST_BYTES + PSS_SALT_BYTES + 2) return false;
  if (em[emLength - 1] !== 0xbc) return false;
  const dbLength = emLength - DIGEST_BYTES - 1;
  const h = em.subarray(dbLength, dbLength + DIGEST_BYTES);
  const topMask = 0xff >>> (8 * emLength - emBits);
  if (em[0]! & ~topMask) return false;
  const db = mgf1(h, dbLength);
  for (let i = 0; i < dbLength; i++) db[i]! ^= em[i]!; // ~500 bytes once per signature, not a hot path
  db[0]! &= topMask;
  const psLength = dbLength - PSS_SALT_BYTES - 1;
  for (let i = 0; i < psLength; i++) if (db[i] !== 0) return false;
  if (db[psLength] !== 1) return false;
  const mPrime = new Uint8Array(8 + DIGEST_BYTES + PSS_SALT_BYTES);
  mPrime.set(digest, 8);
  mPrime.set(db.subarray(dbLength - PSS_SALT_BYTES), 8 + DIGEST_BYTES);
  return equalBytes(sha256(mPrime), h);
}

function verifyEcdsa(key: Extract<PublicKey, { type: 'ecdsa-p256' }>, digest: Uint8Array, signature: Uint8Array): boolean {
  // Raw r‖s is what mender-artifact writes; DER (any valid length, up to 72 bytes) is what HSM
  // signers and openssl write. High-S is accepted: Go's ecdsa.Verify, which mender-artifact
  // uses, does not require low-S, and neither does OpenSSL.
  const format = signature.length === 64 ? 'compact' : 'der';
  if (format === 'der' && (signature.length < 8 || signature.length > 72)) return false;
  return p256.verify(signature, digest, key.raw, { prehash: false, lowS: false, format });
}

export const verifierNoble: Verifier = Object.freeze({
  verify(scheme: SignatureScheme, key: PublicKey, signed: Uint8Array, signature: Uint8Array): boolean {
    if (!(signature instanceof Uint8Array)) throw new TypeError(`"signature" expected a Uint8Array, got ${typeof signature}`);
    switch (scheme) {
      case 'ed25519': {
        expectKey(scheme, key, 'ed25519');
        if (!(signed instanceof Uint8Array)) throw new TypeError(`"signed" expected a Uint8Array, got ${typeof signed}`);
        if (signature.length !== 64) return false;
        try {
          // RFC 8032 checks (no ZIP-215 leniency), as Go's crypto/ed25519 and OpenSSL do.
          return ed25519.verify(signature, signed, (key as Extract<PublicKey, { type: 'ed25519' }>).raw, { zip215: false });
        } catch {
          return false; // malformed point or scalar
        }
      }
      case 'ecdsa-p256-sha256':
        expectKey(scheme, key, 'ecdsa-p256');
        expectDigest(scheme, signed);
        try {
          return verifyEcdsa(key as Extract<PublicKey, { type: 'ecdsa-p256' }>, signed, signature);
        } catch {
          return false; // malformed DER, r or s out of range, or a point not on the curve
        }
      case 'rsa-pkcs1-sha256':
      case 'rsa-pss-sha256': {
        expectKey(scheme, key, 'rsa');
        expectDigest(scheme, signed);
        const rsaKey = key as Extract<PublicKey, { type: 'rsa' }>;
        expectRsaSize(scheme, rsaKey);
        return scheme === 'rsa-pkcs1-sha256' ? verifyPkcs1(rsaKey, signed, signature) : verifyPss(rsaKey, signed, signature);
      }
      default:
        throw new TypeError(`"scheme" expected ed25519, ecdsa-p256-sha256, rsa-pkcs1-sha256 or rsa-pss-sha256, got ${String(scheme)}`);
    }
  },
});
