// Device authentication as deviceauth does it: X-MEN-Signature over the exact request body with the
// device's own key (RSA PKCS#1 v1.5 SHA-256, ECDSA SHA-256 with a DER signature, or Ed25519 over
// the body), and device JWTs. Our JWTs are HS256 with a key kept in DATA (Mender signs RS256 with
// its server key; devices treat the token as opaque, so only the claims matter).
import { createHmac, createPublicKey, randomUUID, timingSafeEqual, verify, constants, type KeyObject } from 'node:crypto';

/** Parses the auth request's pubkey: it must be one SPKI `PUBLIC KEY` PEM block, as deviceauth requires. */
export function parseDevicePublicKey(pem: string): KeyObject {
  const blocks = pem.match(/-----BEGIN ([A-Z0-9 ]+)-----/g) ?? [];
  if (blocks.length !== 1 || blocks[0] !== '-----BEGIN PUBLIC KEY-----') {
    throw new TypeError(`pubkey: expected one "PUBLIC KEY" PEM block, got ${blocks.length === 0 ? 'no PEM block' : blocks.join(', ')}`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new TypeError(`pubkey: cannot parse the PEM block (${(error as Error).message})`);
  }
  const type = key.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec' && type !== 'ed25519') {
    throw new TypeError(`pubkey: expected an RSA, ECDSA or Ed25519 key, got ${type}`);
  }
  return key;
}

/** True when `signatureBase64` is the device key's signature over exactly `body`. */
export function verifyAuthSignature(key: KeyObject, body: Uint8Array, signatureBase64: string): boolean {
  const signature = Buffer.from(signatureBase64, 'base64');
  if (signature.length === 0) return false;
  try {
    switch (key.asymmetricKeyType) {
      case 'rsa':
        return verify('sha256', body, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'ec':
        return verify('sha256', body, { key, dsaEncoding: 'der' }, signature);
      case 'ed25519':
        return verify(null, body, key, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

export interface DeviceClaims {
  jti: string;
  sub: string;
  iat: number;
  exp: number;
  iss: string;
  'mender.device': true;
  'mender.tenant'?: string;
  /** The auth set the token was issued for: revoked when that auth set stops being accepted. */
  'ota-mcu.auth_set': string;
  /** Faults.tokenEpoch when issued: expireTokens() raises the epoch and refuses older tokens. */
  'ota-mcu.epoch': number;
}

const ISSUER = 'ota-mcu dev server';

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export function issueDeviceJwt(key: Buffer, deviceId: string, authSetId: string, ttlSec: number, epoch: number, tenant?: string): string {
  const iat = Math.floor(Date.now() / 1000);
  const claims: DeviceClaims = {
    jti: randomUUID(),
    sub: deviceId,
    iat,
    exp: iat + ttlSec,
    iss: ISSUER,
    'mender.device': true,
    ...(tenant !== undefined ? { 'mender.tenant': tenant } : {}),
    'ota-mcu.auth_set': authSetId,
    'ota-mcu.epoch': epoch,
  };
  const head = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = base64url(JSON.stringify(claims));
  const mac = createHmac('sha256', key).update(`${head}.${body}`).digest();
  return `${head}.${body}.${base64url(mac)}`;
}

/** The claims of a valid, unexpired device token; a reason string otherwise. */
export function verifyDeviceJwt(key: Buffer, token: string): DeviceClaims | string {
  const parts = token.split('.');
  if (parts.length !== 3) return 'malformed token';
  const expected = createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest();
  const actual = Buffer.from(parts[2]!, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return 'token signature invalid';
  let claims: DeviceClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as DeviceClaims;
  } catch {
    return 'malformed token claims';
  }
  if (claims['mender.device'] !== true) return 'not a device token';
  if (!(claims.exp > Date.now() / 1000)) return 'token expired';
  return claims;
}

/** Mender's utils.JsonSort: the identity as JSON with keys sorted, so key order does not matter. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
