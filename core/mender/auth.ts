// Device identity: the key pair created on first use and kept in KeyValue, and the signed
// auth request body (research/mender-protocol.md §2.1).
import { utf8 } from '../../base/bytes.ts';
import { badArgument, unexpected } from '../../base/errors.ts';
import { isString } from '../../base/json.ts';
import type { KeyValue } from '../../platform/key-value.ts';
import type { IdentityKeyType, Signer, SignerFactory } from '../../platform/verifier.ts';

export type { IdentityKeyType };

/** KeyValue key of the identity key record: one type byte, then the key the signer factory made. */
export const IDENTITY_KEY = 'id-key';
const NOBLE_SECRET_BYTES = 32;
const TYPE_TAGS: Readonly<Record<IdentityKeyType, number>> = { ed25519: 1, 'ecdsa-p256': 2 };

/**
 * The stored identity key, or a new one of `type` (stored before it is first used, so the device
 * keeps one identity across resets). A stored key of another type is kept: changing it would make
 * the server see a new, pending device. `signers` is the board's (Board.signers: a key in
 * hardware); without one, noble's, whose key is a 32-byte secret.
 */
export async function loadIdentityKey(
  keyValue: KeyValue,
  randomBytes: (length: number) => Uint8Array,
  type: IdentityKeyType,
  signers?: SignerFactory,
): Promise<Signer> {
  // noble is loaded when first needed, not imported: on a board it lives in a module that is not
  // preloaded (scripts/build-board.mjs), because preloaded, its module-level state (scratch
  // buffers, caches, BigInt constants) is read-only or compares wrongly on XS 17.9.1.
  const factory = signers ?? (await import('../../platform/signer-noble.ts')).nobleSigners;
  const keyBytes = signers === undefined ? `${NOBLE_SECRET_BYTES} bytes` : 'a key';
  const stored = await keyValue.get(IDENTITY_KEY);
  if (stored !== undefined) {
    const storedType = tagType(stored[0]);
    const fits = signers === undefined ? stored.length === 1 + NOBLE_SECRET_BYTES : stored.length > 1;
    if (!fits || storedType === undefined) {
      throw unexpected('storage-corrupt', `key-value "${IDENTITY_KEY}"`, `type 1 or 2 + ${keyBytes}`, `type ${stored[0]} + ${stored.length - 1} bytes`);
    }
    return factory.createSigner(storedType, stored.subarray(1));
  }
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
