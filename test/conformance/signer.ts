// The identity signer conformance suite, a function of a SignerFactory: each key type it makes signs
// auth requests that the server's own check accepts (the dev server verifies X-MEN-Signature as
// Mender's deviceauth does: simulator/server/device-auth.ts), rejects for another body, and a key
// record made once gives the same public key every time it is loaded (one device, one identity).
import { describe, expect, it } from 'vitest';
import type { IdentityKeyType, SignerFactory } from '../../platform/verifier.ts';
import { parseDevicePublicKey, verifyAuthSignature } from '../../simulator/server/device-auth.ts';

const TYPES: readonly IdentityKeyType[] = ['ed25519', 'ecdsa-p256'];

function randomSource(seed: number): (length: number) => Uint8Array {
  let x = seed;
  return (length) => Uint8Array.from({ length }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
}

export function signerConformance(name: string, makeFactory: () => SignerFactory | Promise<SignerFactory>): void {
  describe(`${name}: identity signer`, () => {
    it.each(TYPES)('%s: a signed auth request passes the server check, another body does not', async (type) => {
      const factory = await makeFactory();
      const signer = await factory.createSigner(type, await factory.generateKey(type, randomSource(7)));
      expect(signer.type).toBe(type);
      const body = new TextEncoder().encode('{"id_data":"{\\"mac\\":\\"02:00:00:00:00:01\\"}","pubkey":"…"}');
      const signature = await signer.sign(body);
      const key = parseDevicePublicKey(signer.publicKeyPem);
      expect(verifyAuthSignature(key, body, Buffer.from(signature).toString('base64'))).toBe(true);
      expect(verifyAuthSignature(key, body.subarray(1), Buffer.from(signature).toString('base64'))).toBe(false);
    });

    it.each(TYPES)('%s: the same key record gives the same public key on every load; new keys differ', async (type) => {
      const factory = await makeFactory();
      const key = await factory.generateKey(type, randomSource(11));
      const first = await factory.createSigner(type, key);
      const again = await factory.createSigner(type, key.slice());
      expect(again.publicKeyPem).toBe(first.publicKeyPem);
      const other = await factory.createSigner(type, await factory.generateKey(type, randomSource(12)));
      expect(other.publicKeyPem).not.toBe(first.publicKeyPem);
    });
  });
}
