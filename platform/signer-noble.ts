// Portable device identity key: Ed25519 or ECDSA P-256 (@noble/curves), signing
// as Mender's X-MEN-Signature expects (see Signer in verifier.ts).
import { ed25519, p256 } from './noble-curves.ts';
import { publicKeyToPem } from './public-key.ts';
import type { Signer, SignerFactory } from './verifier.ts';

export type SignerKeyType = 'ed25519' | 'ecdsa-p256';

const SECRET_KEY_BYTES = 32;
// A P-256 scalar is drawn from 48 random bytes reduced mod n (FIPS 186-5 A.2.1), so the bias is negligible.
const P256_SEED_BYTES = 48;

function expectType(type: unknown): asserts type is SignerKeyType {
  if (type !== 'ed25519' && type !== 'ecdsa-p256') throw new TypeError(`"type" expected ed25519 or ecdsa-p256, got ${String(type)}`);
}

/** A new 32-byte secret key for `type`, from the board's random source. */
export function generateSecretKey(type: SignerKeyType, randomBytes: (n: number) => Uint8Array): Uint8Array {
  expectType(type);
  if (type === 'ed25519') return drawRandom(randomBytes, SECRET_KEY_BYTES).slice();
  return p256.utils.randomSecretKey(drawRandom(randomBytes, P256_SEED_BYTES));
}

function drawRandom(randomBytes: (n: number) => Uint8Array, n: number): Uint8Array {
  const bytes = randomBytes(n);
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw new RangeError(`randomBytes(${n}) returned ${bytes instanceof Uint8Array ? bytes.length : typeof bytes} bytes`);
  }
  return bytes;
}

/** A Signer over `secretKey` (32 bytes: the Ed25519 seed or the P-256 scalar). */
export function createSigner(type: SignerKeyType, secretKey: Uint8Array): Signer {
  expectType(type);
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_BYTES) {
    throw new RangeError(`"secretKey" expected ${SECRET_KEY_BYTES} bytes, got ${secretKey instanceof Uint8Array ? secretKey.length : typeof secretKey}`);
  }
  const secret = secretKey.slice(); // the caller may wipe or reuse its array
  if (type === 'ed25519') {
    const publicKeyPem = publicKeyToPem({ type: 'ed25519', raw: ed25519.getPublicKey(secret) });
    return {
      type,
      publicKeyPem,
      sign: (message: Uint8Array): Uint8Array => ed25519.sign(message, secret),
    };
  }
  if (!p256.utils.isValidSecretKey(secret)) throw new RangeError('"secretKey" is not a valid P-256 scalar (0 or ≥ n)');
  const publicKeyPem = publicKeyToPem({ type: 'ecdsa-p256', raw: p256.getPublicKey(secret, false) });
  return {
    type,
    publicKeyPem,
    // prehash: SHA-256(message); DER as Mender's server (Go x509/ecdsa.VerifyASN1) expects.
    sign: (message: Uint8Array): Uint8Array => p256.sign(message, secret, { prehash: true, format: 'der' }),
  };
}

/** The noble signer as a SignerFactory (the default identity signer): the key is the 32-byte secret. */
export const nobleSigners: SignerFactory = Object.freeze({ generateKey: generateSecretKey, createSigner });
