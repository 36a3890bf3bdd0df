// Fault injection at runtime: 5xx/429 with Retry-After for the next K matching requests, a download
// cut after N bytes, throttling, corrupted bytes at an artifact offset, and early JWT expiry.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { request } from 'node:http';
import { fixture } from '../vectors.ts';
import { call } from './http-client.ts';
import { M_DEVICES, TestDevice, createDeployment, testServer, uploadArtifact } from './harness.ts';
import { Faults } from '../../simulator/server/faults.ts';

const ARTIFACT = Buffer.from(fixture('rootfs-none-unsigned.mender'));
type Server = Awaited<ReturnType<typeof testServer>>;

/** Reads a download to its end or until the connection breaks; says which. */
function rawGet(uri: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(uri, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, bytes: Buffer.concat(chunks), complete: true }));
      res.on('error', () => resolve({ status: res.statusCode!, bytes: Buffer.concat(chunks), complete: false }));
      res.on('aborted', () => resolve({ status: res.statusCode!, bytes: Buffer.concat(chunks), complete: false }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('fault injection', () => {
  let server: Server;
  let device: TestDevice;
  let deploymentId: string;
  let uri: string;

  beforeAll(async () => {
    server = await testServer();
    await uploadArtifact(server, ARTIFACT);
    device = new TestDevice({ mac: '02:00:00:00:50:01' });
    await device.authorize(server);
    const id = (await call(server, 'GET', M_DEVICES)).json<{ id: string }[]>()[0]!.id;
    deploymentId = await createDeployment(server, { artifact_name: 'fx-rootfs-none', devices: [id] });
    uri = (await device.next(server, 'r1', 'fx-device')).json().artifact.source.uri;
  });
  afterAll(() => server.stop());

  it('answers 503 to the next K matching requests, then serves again', async () => {
    server.faults.failRequests({ path: '/status', status: 503, count: 2 });
    expect((await device.next(server, 'r1', 'fx-device')).status).toBe(200); // not matching
    expect((await device.report(server, deploymentId, 'downloading')).status).toBe(503);
    expect((await device.report(server, deploymentId, 'downloading')).status).toBe(503);
    expect((await device.report(server, deploymentId, 'downloading')).status).toBe(204);
  });

  it('answers 429 with Retry-After, only for the given method and pattern', async () => {
    server.faults.failRequests({ path: /\/next$/, status: 429, retryAfterSec: 7, method: 'GET' });
    expect((await device.next(server, 'r1', 'fx-device')).status).toBe(200); // POST: not matching
    const limited = await call(server, 'GET', '/api/devices/v1/deployments/device/deployments/next?artifact_name=r1&device_type=fx-device', { token: device.token });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('7');
    expect(limited.json().error).toContain('429');
  });

  it('cuts the next download after N body bytes; the one after is whole', async () => {
    server.faults.cutDownload({ afterBytes: 5000 });
    const cut = await rawGet(uri);
    expect(cut.status).toBe(200);
    expect(cut.complete).toBe(false);
    expect(cut.bytes.length).toBe(5000);
    expect(cut.bytes.equals(ARTIFACT.subarray(0, 5000))).toBe(true);
    const whole = await rawGet(uri);
    expect(whole.complete).toBe(true);
    expect(whole.bytes.equals(ARTIFACT)).toBe(true);
    expect(server.exchanges.filter((e) => e.url.startsWith('/download/')).map((e) => e.fault)).toEqual(['download cut', undefined]);
  });

  it('corrupts bytes at an artifact offset, in whole and ranged downloads, until cleared', async () => {
    server.faults.corruptDownload({ offset: 8168, xor: 0x01 });
    const whole = await rawGet(uri);
    expect(whole.bytes[8168]).toBe(ARTIFACT[8168]! ^ 0x01);
    expect(whole.bytes.subarray(0, 8168).equals(ARTIFACT.subarray(0, 8168))).toBe(true);
    expect(whole.bytes.subarray(8169).equals(ARTIFACT.subarray(8169))).toBe(true);
    const ranged = await rawGet(uri, { Range: 'bytes=8000-' });
    expect(ranged.status).toBe(206);
    expect(ranged.bytes[168]).toBe(ARTIFACT[8168]! ^ 0x01);
    server.faults.clear();
    expect((await rawGet(uri)).bytes.equals(ARTIFACT)).toBe(true);
  });

  it('throttles downloads to the given rate', async () => {
    server.faults.throttleDownload(64 * 1024); // 25600 bytes: the last one no earlier than 0.39 s
    const started = Date.now();
    const slow = await rawGet(uri);
    const elapsed = Date.now() - started;
    server.faults.throttleDownload(undefined);
    expect(slow.bytes.equals(ARTIFACT)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(380);
  });

  it('expires every issued JWT early; a fresh auth works again', async () => {
    expect((await device.next(server, 'r1', 'fx-device')).status).toBe(200);
    server.faults.expireTokens();
    const refused = await device.next(server, 'r1', 'fx-device');
    expect(refused.status).toBe(401);
    expect(refused.json().error).toBe('token expired');
    expect((await device.authorize(server)).status).toBe(200);
    expect((await device.next(server, 'r1', 'fx-device')).status).toBe(200);
  });

  it('rejects nonsense fault settings with RangeError', () => {
    const faults = new Faults();
    expect(() => faults.failRequests({ path: '/x', status: 200 })).toThrow(RangeError);
    expect(() => faults.failRequests({ path: '/x', status: 503, count: 0 })).toThrow(RangeError);
    expect(() => faults.cutDownload({ afterBytes: -1 })).toThrow(RangeError);
    expect(() => faults.throttleDownload(0)).toThrow(RangeError);
    expect(() => faults.corruptDownload({ offset: 1.5 })).toThrow(RangeError);
  });
});
