// PEM public keys → PublicKey, and back to SPKI PEM. SPKI is RFC 5280 §4.1.2.7, PKCS#1 RSAPublicKey
// is RFC 8017 §A.1.1, EC points are SEC1 §2.3.3, Ed25519 SPKI is RFC 8410. A small DER reader, no
// dependency: keys are tiny, so simplicity beats speed here.
import { concatBytes, fromBase64, toBase64 } from '../base/bytes.ts';
import type { PublicKey } from './verifier.ts';

const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_P256 = '1.2.840.10045.3.1.7';
const OID_RSA = '1.2.840.113549.1.1.1';
const OID_RSA_PSS = '1.2.840.113549.1.1.10';
const OID_ED25519 = '1.3.101.112';

// Names for the OIDs people are likely to feed us by mistake, so the error says what was found.
const KNOWN_OIDS: Readonly<Record<string, string>> = Object.freeze({
  '1.3.132.0.34': 'EC P-384 (secp384r1)',
  '1.3.132.0.35': 'EC P-521 (secp521r1)',
  '1.3.132.0.10': 'EC secp256k1',
  '1.3.101.113': 'Ed448',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
  '1.2.840.10040.4.1': 'DSA',
  '1.2.840.10045.3.1.1': 'EC P-192 (prime192v1)',
  '1.3.132.0.33': 'EC P-224 (secp224r1)',
});

const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_NULL = 0x05;
const TAG_OID = 0x06;
const TAG_SEQUENCE = 0x30;

/** One DER element: its tag and the bounds of its contents within the input. */
export interface DerElement {
  readonly tag: number;
  readonly start: number; // first content byte
  readonly end: number; // one past the last content byte (= start of the next element)
}

/** Reads the DER element at `at` (single-byte tags, definite lengths only); TypeError if malformed. */
export function readDer(der: Uint8Array, at: number, limit: number = der.length): DerElement {
  if (at + 2 > limit) throw new TypeError(`DER at byte ${at}: expected a tag and length, got end of input`);
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw new TypeError(`DER at byte ${at}: multi-byte tags are not supported`);
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new TypeError(`DER at byte ${at}: expected a definite length of 1-4 bytes, got ${count}`);
    if (start + count > limit) throw new TypeError(`DER at byte ${at}: length runs past the end`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    if (length < 0x80 || der[start] === 0) throw new TypeError(`DER at byte ${at}: length ${length} is not minimally encoded`);
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new TypeError(`DER at byte ${at}: length ${length} runs past the end (${limit - start} bytes left)`);
  return { tag, start, end };
}

function expectDer(der: Uint8Array, at: number, tag: number, what: string, limit?: number): DerElement {
  const element = readDer(der, at, limit);
  if (element.tag !== tag) {
    throw new TypeError(`${what} at byte ${at}: expected DER tag 0x${tag.toString(16)}, got 0x${element.tag.toString(16)}`);
  }
  return element;
}

function decodeOid(bytes: Uint8Array): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    value = value * 128 + (bytes[i]! & 0x7f);
    if (!(bytes[i]! & 0x80)) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

function encodeOid(oid: string): Uint8Array {
  const parts = oid.split('.').map(Number);
  const out: number[] = [];
  const arcs = [parts[0]! * 40 + parts[1]!, ...parts.slice(2)];
  for (const arc of arcs) {
    const groups = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) groups.unshift((rest & 0x7f) | 0x80);
    out.push(...groups);
  }
  return Uint8Array.from(out);
}

function describeOid(oid: string): string {
  return KNOWN_OIDS[oid] ? `${KNOWN_OIDS[oid]} (OID ${oid})` : `OID ${oid}`;
}

/** Strips the sign byte of a DER INTEGER; rejects negative values. */
function unsignedInteger(der: Uint8Array, element: DerElement, what: string): Uint8Array {
  let start = element.start;
  if (start === element.end) throw new TypeError(`${what}: empty INTEGER`);
  if (der[start]! & 0x80) throw new TypeError(`${what}: expected a positive INTEGER, got a negative one`);
  while (start < element.end - 1 && der[start] === 0) start++;
  return der.slice(start, element.end);
}

function bitLength(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  return (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!));
}

/** PKCS#1 RSAPublicKey: SEQUENCE { modulus INTEGER, publicExponent INTEGER }. */
function parseRsaPublicKey(der: Uint8Array, at: number, limit: number): PublicKey {
  const seq = expectDer(der, at, TAG_SEQUENCE, 'RSAPublicKey', limit);
  const n = expectDer(der, seq.start, TAG_INTEGER, 'RSAPublicKey modulus', seq.end);
  const e = expectDer(der, n.end, TAG_INTEGER, 'RSAPublicKey exponent', seq.end);
  const modulus = unsignedInteger(der, n, 'RSAPublicKey modulus');
  const exponent = unsignedInteger(der, e, 'RSAPublicKey exponent');
  const bits = bitLength(modulus);
  if (bits < 1024) throw new TypeError(`RSA public key: expected a modulus of at least 1024 bits, got ${bits}`);
  if (bitLength(exponent) < 2 || !(exponent[exponent.length - 1]! & 1)) {
    throw new TypeError(`RSA public key: expected an odd exponent ≥ 3`);
  }
  return { type: 'rsa', modulus, exponent, bits };
}

/** SubjectPublicKeyInfo DER → PublicKey (Ed25519, EC P-256, RSA); TypeError naming anything else. */
export function parseSpki(der: Uint8Array): PublicKey {
  const spki = expectDer(der, 0, TAG_SEQUENCE, 'SubjectPublicKeyInfo');
  const algorithm = expectDer(der, spki.start, TAG_SEQUENCE, 'SPKI algorithm', spki.end);
  const oidElement = expectDer(der, algorithm.start, TAG_OID, 'SPKI algorithm OID', algorithm.end);
  const oid = decodeOid(der.subarray(oidElement.start, oidElement.end));
  const bits = expectDer(der, algorithm.end, TAG_BIT_STRING, 'SPKI subjectPublicKey', spki.end);
  if (bits.end === bits.start || der[bits.start] !== 0) throw new TypeError('SPKI subjectPublicKey: expected a BIT STRING with 0 unused bits');
  const keyStart = bits.start + 1;
  const key = der.slice(keyStart, bits.end);

  if (oid === OID_ED25519) {
    if (key.length !== 32) throw new TypeError(`Ed25519 public key: expected 32 bytes, got ${key.length}`);
    return { type: 'ed25519', raw: key };
  }
  if (oid === OID_EC_PUBLIC_KEY) {
    if (algorithm.end === oidElement.end) throw new TypeError('EC public key: missing curve parameters');
    const curveElement = readDer(der, oidElement.end, algorithm.end);
    if (curveElement.tag !== TAG_OID) throw new TypeError('EC public key: expected a named curve OID, got explicit parameters');
    const curve = decodeOid(der.subarray(curveElement.start, curveElement.end));
    if (curve !== OID_P256) throw new TypeError(`EC public key: expected curve P-256 (OID ${OID_P256}), got ${describeOid(curve)}`);
    const point = key;
    const ok = (point.length === 65 && point[0] === 4) || (point.length === 33 && (point[0] === 2 || point[0] === 3));
    if (!ok) throw new TypeError(`EC P-256 public key: expected a SEC1 point of 65 bytes (04…) or 33 bytes (02/03…), got ${point.length} bytes starting 0x${(point[0] ?? 0).toString(16)}`);
    return { type: 'ecdsa-p256', raw: point };
  }
  if (oid === OID_RSA || oid === OID_RSA_PSS) return parseRsaPublicKey(der, keyStart, bits.end);
  throw new TypeError(`public key: expected Ed25519, EC P-256 or RSA, got ${describeOid(oid)}`);
}

/**
 * Parses the first PEM block of `pem`: "PUBLIC KEY" (SPKI: Ed25519, EC P-256, RSA) or
 * "RSA PUBLIC KEY" (PKCS#1). TypeError naming what was found for anything else.
 */
export function parsePublicKeyPem(pem: string): PublicKey {
  if (typeof pem !== 'string') throw new TypeError(`"pem" expected a string, got ${typeof pem}`);
  const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!match) throw new TypeError('PEM: expected a "-----BEGIN PUBLIC KEY-----" block, found none');
  const label = match[1]!;
  const body = match[2]!;
  if (label !== 'PUBLIC KEY' && label !== 'RSA PUBLIC KEY') {
    throw new TypeError(`PEM: expected "PUBLIC KEY" or "RSA PUBLIC KEY", got "${label}"`);
  }
  if (/^[A-Za-z-]+:/m.test(body)) throw new TypeError(`PEM "${label}": encrypted or annotated PEM (headers) is not supported`);
  const der = fromBase64(body.replace(/\s+/g, ''));
  if (label === 'RSA PUBLIC KEY') {
    const key = parseRsaPublicKey(der, 0, der.length);
    if (readDer(der, 0).end !== der.length) throw new TypeError('RSA PUBLIC KEY: trailing bytes after the key');
    return key;
  }
  if (readDer(der, 0).end !== der.length) throw new TypeError('PUBLIC KEY: trailing bytes after SubjectPublicKeyInfo');
  return parseSpki(der);
}

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function der(tag: number, ...contents: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of contents) size += part.length;
  return concatBytes(Uint8Array.from([tag, ...derLength(size)]), ...contents);
}

function derUnsigned(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return trimmed[0]! & 0x80 ? der(TAG_INTEGER, Uint8Array.of(0), trimmed) : der(TAG_INTEGER, trimmed);
}

function bitString(bytes: Uint8Array): Uint8Array {
  return der(TAG_BIT_STRING, Uint8Array.of(0), bytes);
}

/** The SubjectPublicKeyInfo DER of `key`. */
export function publicKeyToSpki(key: PublicKey): Uint8Array {
  switch (key.type) {
    case 'ed25519':
      return der(TAG_SEQUENCE, der(TAG_SEQUENCE, der(TAG_OID, encodeOid(OID_ED25519))), bitString(key.raw));
    case 'ecdsa-p256':
      return der(
        TAG_SEQUENCE,
        der(TAG_SEQUENCE, der(TAG_OID, encodeOid(OID_EC_PUBLIC_KEY)), der(TAG_OID, encodeOid(OID_P256))),
        bitString(key.raw),
      );
    case 'rsa':
      return der(
        TAG_SEQUENCE,
        der(TAG_SEQUENCE, der(TAG_OID, encodeOid(OID_RSA)), der(TAG_NULL)),
        bitString(der(TAG_SEQUENCE, derUnsigned(key.modulus), derUnsigned(key.exponent))),
      );
    default:
      throw new TypeError(`"key.type" expected ed25519, ecdsa-p256 or rsa, got ${String((key as { type: unknown }).type)}`);
  }
}

/** `key` as a PEM "PUBLIC KEY" (SPKI) block with 64-character lines and a final newline. */
export function publicKeyToPem(key: PublicKey): string {
  const base64 = toBase64(publicKeyToSpki(key));
  let out = '-----BEGIN PUBLIC KEY-----\n';
  for (let i = 0; i < base64.length; i += 64) out += base64.slice(i, i + 64) + '\n';
  return out + '-----END PUBLIC KEY-----\n';
}
