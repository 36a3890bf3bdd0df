// The device identity signature (Mender's X-MEN-Signature) computed inside XS with the portable
// noble signer verifies with node:crypto, and what it leaves on the XS heap is measured.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XsHarness } from '../../simulator/xs/harness.ts';

let harness: XsHarness;
beforeAll(async () => {
  harness = await XsHarness.start({ name: 'signer-test' });
});
afterAll(async () => harness?.close());

describe('identity signer under XS', () => {
  for (const type of ['ed25519', 'ecdsa-p256'] as const) {
    it(`${type}: the signature made in XS verifies in Node`, async () => {
      const { value } = await harness.job<{ signature: Uint8Array; publicKeyPem: string }>('signOnce', { type, seed: new Uint8Array(64).fill(9) });
      const key = createPublicKey(value.publicKeyPem);
      const message = new Uint8Array([1, 2, 3]);
      // Ed25519 over the message; ECDSA P-256 over SHA-256(message), DER (the Signer contract).
      expect(verify(type === 'ed25519' ? null : 'sha256', message, key, value.signature)).toBe(true);
      expect(verify(type === 'ed25519' ? null : 'sha256', new Uint8Array([1, 2, 4]), key, value.signature)).toBe(false);
    });
  }

  // No base-point tables (platform/noble-curves.ts): a table built at first use stays in RAM for the
  // engine's life (4-bit window on 32-bit XS: Ed25519 2,600 slots + 70 KB, P-256 2,100 slots + 50 KB).
  // One signature and one check must leave next to nothing on the heap.
  for (const type of ['ed25519', 'ecdsa-p256'] as const) {
    it(`${type}: signing and verifying keep no table on the 32-bit XS heap`, async () => {
      const fresh = await XsHarness.start({ name: `signer-heap-${type}`, launch: { bits: 32 } });
      try {
        const before = await fresh.memory();
        const { value } = await fresh.job<{ signature: Uint8Array; publicKeyPem: string }>('signOnce', { type, seed: new Uint8Array(64).fill(3) });
        const message = new Uint8Array([1, 2, 3]);
        const signed = type === 'ed25519' ? message : new Uint8Array(createHash('sha256').update(message).digest());
        const checked = await fresh.job<{ ok: boolean }>('verifyOnce', { keyPem: value.publicKeyPem, signed, signature: value.signature });
        expect(checked.value.ok).toBe(true);
        const after = await fresh.memory();
        expect(after.slots - before.slots).toBeLessThan(100);
        expect(after.chunkBytes - before.chunkBytes).toBeLessThan(2048);
      } finally {
        await fresh.close();
      }
    });
  }
});
