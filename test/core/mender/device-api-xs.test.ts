// core/mender on the real Moddable XS engine (xsnap-worker): auth signature, next fallback, 429, Range.
import { describe, it, expect, beforeAll } from 'vitest';
import { build } from 'esbuild';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { XsWorker } from '../../../simulator/xs/worker.ts';

let bundle: string;
beforeAll(async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./xs/device-api-guest.ts', import.meta.url))],
    bundle: true, format: 'iife', platform: 'neutral', target: 'es2022', write: false, logLevel: 'silent',
    mainFields: ['module', 'main'], conditions: ['import', 'module', 'default'],
    // XS refuses a class's own name inside its static field initializers (noble-curves' Point.BASE):
    // lower static fields to assignments after the class.
    supported: { 'class-static-field': false },
  });
  bundle = result.outputFiles[0]!.text;
}, 60_000);

interface GuestResult {
  ok: boolean;
  error?: string;
  result: {
    instructions: unknown;
    sleeps: number[];
    restText: string;
    refused: string;
    seen: { method: string; url: string; headers: Record<string, string>; body: string }[];
    authorized: boolean;
  };
}

async function runInXs(keyType: 'ed25519' | 'ecdsa-p256'): Promise<GuestResult> {
  let message: GuestResult | undefined;
  const worker = XsWorker.start({
    handler: (bytes) => {
      message = JSON.parse(new TextDecoder().decode(bytes)) as GuestResult;
      return new Uint8Array(0);
    },
  });
  try {
    await worker.evaluate(`globalThis.keyType = ${JSON.stringify(keyType)};`);
    await worker.evaluate(bundle);
  } finally {
    await worker.close();
  }
  if (message === undefined) throw new Error('the XS guest sent nothing');
  if (!message.ok) throw new Error(`XS guest failed: ${message.error}`);
  return message;
}

describe('DeviceApi on XS', () => {
  for (const keyType of ['ed25519', 'ecdsa-p256'] as const) {
    it(`authorizes with ${keyType}, falls back to v1, waits out 429, checks Range`, async () => {
      const { result } = await runInXs(keyType);
      expect(result.authorized).toBe(true);
      expect(result.instructions).toEqual({ id: 'dep-xs', artifactName: 'fw-2', uri: 'https://s3.example/a?sig=1', deviceTypes: ['esp32'] });
      expect(result.sleeps).toEqual([4000]);
      expect(result.restText).toBe('rest');
      expect(result.refused).toBe('http-status: GET https://s3.example/a (Range: bytes=99-): Content-Range: expected "bytes 99-END/TOTAL", got "bytes 100-103/104"');
      expect(result.seen.map((s) => `${s.method} ${s.url.replace('https://ota.example', '')}`)).toEqual([
        'POST /api/devices/v1/authentication/auth_requests',
        'POST /api/devices/v2/deployments/device/deployments/next',
        'POST /api/devices/v1/deployments/device/deployments/next',
        'PUT /api/devices/v1/deployments/device/deployments/dep-xs/status',
        'PUT /api/devices/v1/deployments/device/deployments/dep-xs/status',
        'GET https://s3.example/a?sig=1',
        'GET https://s3.example/a?sig=1',
      ]);
      const auth = result.seen[0]!;
      const body = JSON.parse(auth.body) as { pubkey: string };
      const signature = Buffer.from(auth.headers['X-MEN-Signature']!, 'base64');
      const key = createPublicKey(body.pubkey);
      const ok = keyType === 'ed25519'
        ? cryptoVerify(null, Buffer.from(auth.body), key, signature)
        : cryptoVerify('sha256', Buffer.from(auth.body), { key, dsaEncoding: 'der' }, signature);
      expect(ok).toBe(true);
      expect(result.seen[1]!.headers['Authorization']).toBe('Bearer jwt-xs');
      expect(result.seen[5]!.headers['Authorization']).toBeUndefined();
    }, 60_000);
  }
});
