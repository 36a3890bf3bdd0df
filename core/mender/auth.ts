// Device identity: the key pair created on first use and kept in KeyValue, and the signed
// auth request body (research/mender-protocol.md §2.1).
import { utf8 } from '../../base/bytes.ts';
import { badArgument, isOtaError, unexpected } from '../../base/errors.ts';
import { isString } from '../../base/json.ts';
import type { KeyValue } from '../../platform/key-value.ts';
import type { IdentityKeyType, Signer, SignerFactory } from '../../platform/verifier.ts';

export type { IdentityKeyType };

/** KeyValue key of the identity key record: one type byte, then the key the signer factory made. */
export const IDENTITY_KEY = 'id-key';
const NOBLE_SECRET_BYTES = 32;
const TYPE_TAGS: Readonly<Record<IdentityKeyType, number>> = { ed25519: 1, 'ecdsa-p256': 2 };

export interface IdentityKeyOptions {
  /** The board's signer factory (Board.signers: a key in hardware); noble's, with a 32-byte secret, when absent. */
  readonly signers?: SignerFactory;
  /** Told when a stored key could not be read and a new one replaced it (the server will see a new device). */
  readonly onUnreadable?: (problem: string) => void;
}

/**
 * The stored identity key, or a new one of `type` (stored before it is first used, so the device
 * keeps one identity across resets). A stored key of another type is kept: changing it would make
 * the server see a new, pending device. An unreadable key is replaced, and onUnreadable says so.
 */
export async function loadIdentityKey(
  keyValue: KeyValue,
  randomBytes: (length: number) => Uint8Array,
  type: IdentityKeyType,
  options: IdentityKeyOptions = {},
): Promise<Signer> {
  const { signers, onUnreadable } = options;
  // noble is loaded when first needed, not imported: on a board it lives in a module that is not
  // preloaded (scripts/build-board.mjs), because preloaded, its module-level state (scratch
  // buffers, caches, BigInt constants) is read-only or compares wrongly on XS 17.9.1.
  const factory = signers ?? (await import('../../platform/signer-noble.ts')).nobleSigners;
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
    const fits = signers === undefined ? stored.length === 1 + NOBLE_SECRET_BYTES : stored.length > 1;
    if (fits && storedType !== undefined) return factory.createSigner(storedType, stored.subarray(1));
    const expected = `type 1 or 2 + ${signers === undefined ? `${NOBLE_SECRET_BYTES} bytes` : 'a key'}`;
    problem = unexpected('storage-corrupt', `key-value "${IDENTITY_KEY}"`, expected, `type ${stored[0]} + ${stored.length - 1} bytes`).message;
  }
  // An unreadable key can never heal: kept, it would stop every authorization for good. A new one
  // makes the server see a new device (pending until accepted again), so the caller reports it.
  if (problem !== undefined) onUnreadable?.(problem);
  const key = await factory.generateKey(type, randomBytes);
  const record = new Uint8Array(1 + key.length); // type tag + key
  record[0] = TYPE_TAGS[type];
  record.set(key, 1);
  await keyValue.set(IDENTITY_KEY, record);
  return factory.createSigner(type, key);
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
