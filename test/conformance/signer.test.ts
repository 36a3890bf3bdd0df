// The identity signer suite against noble's (the default on every board), and the client's use of
// a board-supplied factory: loadIdentityKey stores what the board's generateKey returns (a handle to
// a key in hardware, say) and hands it back to the board's createSigner on every later boot.
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IDENTITY_KEY, loadIdentityKey } from '../../core/mender/auth.ts';
import { nobleSigners } from '../../platform/signer-noble.ts';
import type { IdentityKeyType, Signer, SignerFactory } from '../../platform/verifier.ts';
import { memoryKeyValue } from '../core/mender/harness.ts';
import { signerConformance } from './signer.ts';

signerConformance('noble (platform/signer-noble.ts)', () => nobleSigners);

/** A stand-in for a secure element: keys stay inside it, the client only ever holds a 1-byte slot handle. */
class KeyStoreSigners implements SignerFactory {
  readonly slots: ReturnType<typeof generateKeyPairSync>[] = [];
  readonly calls: string[] = [];
  generateKey(type: IdentityKeyType): Uint8Array {
    this.calls.push(`generate ${type}`);
    this.slots.push(type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
    return Uint8Array.of(this.slots.length - 1);
  }
  createSigner(type: IdentityKeyType, key: Uint8Array): Signer {
    this.calls.push(`create ${type} slot ${key[0]}`);
    const pair = this.slots[key[0]!];
    if (key.length !== 1 || pair === undefined) throw new RangeError(`"key" expected a slot handle, got ${key.length} bytes`);
    return {
      type,
      publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      sign: (message) => new Uint8Array(nodeSign(type === 'ed25519' ? null : 'sha256', message, { key: pair.privateKey, dsaEncoding: 'der' })),
    };
  }
}

signerConformance('a board key store (SignerFactory)', () => new KeyStoreSigners());

describe('the client with a board-supplied signer factory', () => {
  it('stores the handle the board returns and hands it back on every load; noble is not used', async () => {
    const store = memoryKeyValue();
    const board = new KeyStoreSigners();
    const random = () => new Uint8Array(0);
    const first = await loadIdentityKey(store, random, 'ecdsa-p256', { signers: board });
    expect(Array.from((await store.get(IDENTITY_KEY))!)).toEqual([2, 0]); // type tag, slot handle
    const again = await loadIdentityKey(store, random, 'ed25519', { signers: board }); // the stored key wins
    expect(again.publicKeyPem).toBe(first.publicKeyPem);
    expect(board.calls).toEqual(['generate ecdsa-p256', 'create ecdsa-p256 slot 0', 'create ecdsa-p256 slot 0']);
  });
});
