// The device identity signature (Mender's X-MEN-Signature) computed inside XS with the portable
// noble signer verifies with node:crypto, and what it leaves on the XS heap is measured.
import { createPublicKey, verify } from 'node:crypto';
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

  // The base-point tables stay for the engine's life. Measured with 4-bit windows: Ed25519 82 KiB,
  // P-256 66 KiB; with @noble/ed25519's fixed 8-bit window 660 KiB and noble-curves' default P-256
  // window 177 KiB, which an ESP32 heap cannot spare.
  for (const [type, limitKiB] of [['ed25519', 128], ['ecdsa-p256', 96]] as const) {
    it(`${type}: one signature keeps at most ${limitKiB} KiB of XS heap (64-bit slots; half on a device)`, async () => {
      const fresh = await XsHarness.start({ name: `signer-heap-${type}` });
      try {
        const before = await fresh.heapAfterGc();
        await fresh.job('signOnce', { type, seed: new Uint8Array(64).fill(3) });
        const after = await fresh.heapAfterGc();
        expect(after.slots - before.slots).toBeGreaterThan(1000); // really measuring the table
        expect(after.bytes - before.bytes).toBeLessThanOrEqual(limitKiB * 1024);
      } finally {
        await fresh.close();
      }
    });
  }
});
