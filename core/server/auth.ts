// Device identity: the key pair created on first use and kept in KeyValue, and the signed
// auth request body (research/mender-protocol.md §2.1).
import { utf8 } from '../bytes.ts';
import { badArgument, isOtaError, unexpected } from '../errors.ts';
import { isString } from '../json.ts';
import type { KeyValue } from '../../platform/key-value.ts';
import type { Signer } from '../../platform/verifier.ts';

export type IdentityKeyType = 'ed25519' | 'ecdsa-p256';

/** KeyValue key of the identity key record: one type byte, then the 32-byte secret. */
export const IDENTITY_KEY = 'id-key';
const SECRET_BYTES = 32;
const TYPE_TAGS: Readonly<Record<IdentityKeyType, number>> = { ed25519: 1, 'ecdsa-p256': 2 };

/**
 * The stored identity key, or a new one of `type` (stored before it is first used, so the device
 * keeps one identity across resets). A stored key of another type is kept: changing it would make
 * the server see a new, pending device.
 */
export async function loadIdentityKey(
  keyValue: KeyValue,
  randomBytes: (length: number) => Uint8Array,
  type: IdentityKeyType,
  onUnreadable?: (problem: string) => void,
): Promise<Signer> {
  // Loaded when first needed, not imported: on a board the noble curves live in a module that is
  // not preloaded (scripts/build-board.mjs), because preloaded, their module-level state (scratch
  // buffers, caches, BigInt constants) is read-only or compares wrongly on XS 17.9.1.
  const { createSigner, generateSecretKey } = await import('../../platform/signer-noble.ts');
  let stored: Uint8Array | undefined;
  let problem: string | undefined;
  try {
    stored = await keyValue.get(IDENTITY_KEY);
  } catch (error) {
    if (!isOtaError(error, 'storage-corrupt')) throw error;
    problem = error.message;
  }
  if (stored !== undefined) {
    const storedType = tagType(stored[0]);
    if (stored.length === 1 + SECRET_BYTES && storedType !== undefined) return createSigner(storedType, stored.subarray(1));
    problem = unexpected('storage-corrupt', `key-value "${IDENTITY_KEY}"`, `type 1 or 2 + ${SECRET_BYTES} bytes`, `type ${stored[0]} + ${stored.length - 1} bytes`).message;
  }
  // An unreadable key can never heal: kept, it would stop every authorization for good. A new one
  // makes the server see a new device (pending until accepted again), so the caller reports it.
  if (problem !== undefined) onUnreadable?.(problem);
  const secret = generateSecretKey(type, randomBytes);
  const record = new Uint8Array(1 + SECRET_BYTES); // type tag + secret
  record[0] = TYPE_TAGS[type];
  record.set(secret, 1);
  await keyValue.set(IDENTITY_KEY, record);
  return createSigner(type, secret);
}

function tagType(tag: number | undefined): IdentityKeyType | undefined {
  return (Object.keys(TYPE_TAGS) as IdentityKeyType[]).find((type) => TYPE_TAGS[type] === tag);
}

/**
 * The identity as `id_data`: a JSON string with the keys sorted (the same bytes whatever order the
 * board lists them in). TypeError unless it is an object of one or more string attributes.
 */
export function identityData(identity: Readonly<Record<string, string>>): string {
  const sorted: Record<string, string> = {};
  for (const name of Object.keys(typeof identity === 'object' && identity !== null ? identity : {}).sort()) {
    const value = identity[name];
    if (!isString(value)) throw badArgument(`"identity.${name}"`, 'a string', typeof value);
    sorted[name] = value;
  }
  if (Object.keys(sorted).length === 0) throw badArgument('"identity"', 'at least one attribute', 'none');
  return JSON.stringify(sorted);
}

/**
 * The exact auth request body: Go client field order, `id_data` as identityData() gives it,
 * `tenant_token` always present (empty when unset), as the Go client sends it.
 */
export function authRequestBody(identity: Readonly<Record<string, string>>, publicKeyPem: string, tenantToken = ''): Uint8Array {
  return utf8(JSON.stringify({ id_data: identityData(identity), tenant_token: tenantToken, pubkey: publicKeyPem }));
}
