// Verifier and Signer: signature checks for artifacts (manifest.sig) and MCUboot images, and the
// device identity key that signs auth requests.
import type { MaybePromise } from './maybe-async.ts';

/** A parsed public key. Parse PEM/SPKI with platform/public-key.ts. */
export type PublicKey =
  | { readonly type: 'ed25519'; readonly raw: Uint8Array } // 32 bytes
  | { readonly type: 'ecdsa-p256'; readonly raw: Uint8Array } // SEC1 point, 65 bytes (04‖x‖y) or 33 compressed
  | { readonly type: 'rsa'; readonly modulus: Uint8Array; readonly exponent: Uint8Array; readonly bits: number };

/**
 * How the signed bytes are hashed and padded:
 * - 'ed25519': pure Ed25519 over `signed` (the message itself).
 * - 'ecdsa-p256-sha256': `signed` is the 32-byte SHA-256 digest; signature raw r‖s (64 bytes) or DER.
 * - 'rsa-pkcs1-sha256': `signed` is the 32-byte digest; PKCS#1 v1.5 padding (Mender artifacts).
 * - 'rsa-pss-sha256': `signed` is the 32-byte digest; PSS, MGF1-SHA256, salt length 32 (MCUboot).
 */
export type SignatureScheme = 'ed25519' | 'ecdsa-p256-sha256' | 'rsa-pkcs1-sha256' | 'rsa-pss-sha256';

export interface Verifier {
  /**
   * True when `signature` is valid for `signed` under `key` and `scheme`; false for any invalid or
   * malformed signature (never throws for bad signatures). TypeError when the key type does not
   * fit the scheme.
   */
  verify(scheme: SignatureScheme, key: PublicKey, signed: Uint8Array, signature: Uint8Array): MaybePromise<boolean>;
}

/** The device identity key. The private half never leaves the board. */
export interface Signer {
  readonly type: 'ed25519' | 'ecdsa-p256' | 'rsa';
  /** The public key as a PEM "PUBLIC KEY" (SPKI) block, as Mender's auth request wants it. */
  readonly publicKeyPem: string;
  /**
   * Signs a message as Mender's X-MEN-Signature expects: Ed25519 over the message; ECDSA P-256
   * over SHA-256(message), DER-encoded; RSA PKCS#1 v1.5 over SHA-256(message).
   */
  sign(message: Uint8Array): MaybePromise<Uint8Array>;
}

/** The kinds of identity key a device signs its auth requests with. */
export type IdentityKeyType = 'ed25519' | 'ecdsa-p256';

/**
 * Makes the device's identity signer, wherever its key lives: noble in RAM by default
 * (platform/signer-noble.ts), or a secure element, a crypto cell, a hardware key store a board
 * supplies (Board.signers). The client keeps what generateKey returns in KeyValue: the secret
 * itself, or a handle to a key that never leaves the hardware.
 */
export interface SignerFactory {
  /** A new identity key of `type`, as the bytes the client stores (a secret, or a handle). */
  generateKey(type: IdentityKeyType, randomBytes: (length: number) => Uint8Array): MaybePromise<Uint8Array>;
  /** The signer for `key`, bytes generateKey returned; throws for bytes it cannot use. */
  createSigner(type: IdentityKeyType, key: Uint8Array): MaybePromise<Signer>;
}
