// The one place for byte helpers used by core/ and platform/. Runs on XS: no Buffer, no atob.
import { badArgument, describe } from './errors.ts';

// Made on first use, not at module load: Moddable provides TextEncoder/TextDecoder as modules
// ("text/encoder", "text/decoder") that a board installs as globals in main before starting the
// client, and a preloaded module must not construct objects at load time.
let encoder: InstanceType<typeof TextEncoder> | undefined;
let decoder: InstanceType<typeof TextDecoder> | undefined;

export function utf8(text: string): Uint8Array {
  return (encoder ??= new TextEncoder()).encode(text);
}

/** Decodes UTF-8; throws TypeError on invalid sequences (fatal decoder). */
export function fromUtf8(bytes: Uint8Array): string {
  return (decoder ??= new TextDecoder('utf-8', { fatal: true })).decode(bytes);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return joinBytes(parts);
}

/**
 * The bytes of `parts` in one array (the only part itself when there is just one). Takes a list,
 * because spreading a long list into concatBytes overflows the XS stack (4,000 arguments killed
 * xsnap, measured).
 */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!; // constant-time; only used on digests
  return diff === 0;
}

const HEX = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]! >> 4]! + HEX[bytes[i]! & 15]!;
  return out;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw badArgument('"hex"', 'an even number of hex digits', describe(hex.slice(0, 16)));
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 (RFC 4648 §4) with padding. Small inputs only (signatures): a bit accumulator. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) {
    acc = ((acc << 8) | bytes[i]!) & 0xffff; // at most 14 bits are ever pending
    for (bits += 8; bits >= 6; ) out += B64[(acc >> (bits -= 6)) & 63]!;
  }
  if (bits > 0) out += B64[(acc << (6 - bits)) & 63]!;
  return out + '='.repeat((4 - (out.length % 4)) % 4);
}

/** Standard base64 (RFC 4648 §4), padding required; ASCII whitespace is ignored, as Go's decoder does. */
export function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/[\r\n\t ]/g, '');
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) {
    throw badArgument('"base64"', 'RFC 4648 base64', `${describe(clean.slice(0, 16))}…`);
  }
  const digits = clean.replace(/=+$/, '');
  const out = new Uint8Array((digits.length * 3) >> 2); // whole bytes only: padding bits are dropped
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < digits.length; i++) {
    acc = ((acc << 6) | B64.indexOf(digits[i]!)) & 0xfff;
    bits += 6;
    if (bits >= 8) out[o++] = acc >> (bits -= 8);
  }
  return out;
}

/** Little-endian / big-endian reads without allocating a DataView per call site. */
export function readU16LE(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
export function readU32LE(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
export function writeU32LE(b: Uint8Array, at: number, value: number): void {
  b[at] = value & 255;
  b[at + 1] = (value >>> 8) & 255;
  b[at + 2] = (value >>> 16) & 255;
  b[at + 3] = (value >>> 24) & 255;
}
