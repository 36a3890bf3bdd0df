// The device API of the dev server, request by request: auth with each key type, pending/accept/
// reject, JWT expiry, next (v1 GET/POST, v2 404 or on), the identical-data rule, already-installed,
// noartifact, status/log rules, Range downloads, inventory and configuration. Every exchange is
// checked against Mender's OpenAPI when each server stops.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { fixture } from '../vectors.ts';
import { call } from './http-client.ts';
import { AUTH, DEPLOYMENTS, M_DEVICES, NEXT, TestDevice, createDeployment, testServer, uploadArtifact } from './harness.ts';

const ROOTFS = fixture('rootfs-none-unsigned.mender'); // fx-rootfs-none, device type fx-device
type Server = Awaited<ReturnType<typeof testServer>>;

async function deviceId(server: Server, device: TestDevice): Promise<string> {
  const list = (await call(server, 'GET', M_DEVICES)).json<{ id: string; identity_data: Record<string, string> }[]>();
  const found = list.find((d) => JSON.stringify(d.identity_data) === JSON.stringify(device.identity));
  if (found === undefined) throw new Error('device not known to the server');
  return found.id;
}

async function deployTo(server: Server, device: TestDevice, artifactName = 'fx-rootfs-none'): Promise<string> {
  return createDeployment(server, { artifact_name: artifactName, devices: [await deviceId(server, device)] });
}

describe('authentication', () => {
  let server: Server;
  beforeAll(async () => {
    server = await testServer({ autoAccept: true });
  });
  afterAll(() => server.stop());

  it.each(['rsa', 'ecdsa', 'ed25519'] as const)('accepts a %s device key signing the exact body and answers a raw JWT', async (type) => {
    const device = new TestDevice({ mac: `02:00:00:00:01:${type.length}` }, type);
    const res = await device.authorize(server);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/jwt');
    const claims = JSON.parse(Buffer.from(res.text().split('.')[1]!, 'base64url').toString());
    expect(claims['mender.device']).toBe(true);
    expect(claims.sub).toBe(await deviceId(server, device));
    expect(claims.exp - claims.iat).toBe(7 * 24 * 3600);
  });

  it('refuses a signature over other bytes (the body without its trailing newline) with 401', async () => {
    const device = new TestDevice({ mac: '02:00:00:00:02:01' }, 'ecdsa');
    const body = device.authBody();
    const res = await call(server, 'POST', AUTH, { body, headers: { 'Content-Type': 'application/json', 'X-MEN-Signature': device.signature(body.trimEnd()) } });
    expect(res.status).toBe(401);
    expect(res.json().error).toBe('signature verification failed');
  });

  it('answers 400 for a missing signature, a PKCS#1 "RSA PUBLIC KEY", a non-string id_data, and non-JSON', async () => {
    const device = new TestDevice({ mac: '02:00:00:00:02:02' }, 'rsa');
    const body = device.authBody();
    const noSig = await call(server, 'POST', AUTH, { body, headers: { 'Content-Type': 'application/json' } });
    expect(noSig.status).toBe(400);
    const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const badKey = JSON.stringify({ id_data: '{"mac":"x"}', pubkey: pkcs1 });
    const r1 = await call(server, 'POST', AUTH, { body: badKey, headers: { 'Content-Type': 'application/json', 'X-MEN-Signature': device.signature(badKey) } });
    expect(r1.status).toBe(400);
    expect(r1.json().error).toContain('RSA PUBLIC KEY');
    const objectId = JSON.stringify({ id_data: { mac: 'x' }, pubkey: device.pubkeyPem });
    const r2 = await call(server, 'POST', AUTH, { body: objectId, headers: { 'Content-Type': 'application/json', 'X-MEN-Signature': device.signature(objectId) } });
    expect(r2.status).toBe(400);
    expect(r2.json().error).toContain('id_data');
    const r3 = await call(server, 'POST', AUTH, { body: '{', headers: { 'Content-Type': 'application/json', 'X-MEN-Signature': 'AA==' } });
    expect(r3.status).toBe(400);
  });

  it('knows a device by its identity whatever the key order', async () => {
    const a = new TestDevice({ mac: '02:00:00:00:03:01', serial: 'S1' });
    expect((await a.authorize(server)).status).toBe(200);
    const b = Object.assign(new TestDevice({ serial: 'S1', mac: '02:00:00:00:03:01' }), {});
    // Same key, identity keys in the other order: the same device and auth set.
    Object.defineProperty(b, 'privateKey', { value: a.privateKey });
    Object.defineProperty(b, 'pubkeyPem', { value: a.pubkeyPem });
    expect((await b.authorize(server)).status).toBe(200);
    const devices = (await call(server, 'GET', M_DEVICES)).json<{ identity_data: Record<string, string>; auth_sets: unknown[] }[]>();
    const matching = devices.filter((d) => d.identity_data.serial === 'S1');
    expect(matching).toHaveLength(1);
    expect(matching[0]!.auth_sets).toHaveLength(1);
  });
});

describe('admission: pending, accept, reject, tenant token, expiry', () => {
  it('keeps a new device pending (401) until accepted; rejecting revokes its token', async () => {
    const server = await testServer({ autoAccept: false });
    try {
      const device = new TestDevice({ mac: '02:00:00:00:04:01' }, 'ed25519');
      expect((await device.authorize(server)).status).toBe(401);
      expect((await device.authorize(server)).status).toBe(401); // still pending, still one auth set
      const [pending] = (await call(server, 'GET', `${M_DEVICES}?status=pending`)).json<{ id: string; auth_sets: { id: string }[] }[]>();
      expect(pending!.auth_sets).toHaveLength(1);
      const aid = pending!.auth_sets[0]!.id;
      expect((await call(server, 'PUT', `${M_DEVICES}/${pending!.id}/auth/${aid}/status`, { json: { status: 'accepted' } })).status).toBe(204);
      expect((await device.authorize(server)).status).toBe(200);
      expect((await device.next(server, 'r1', 'fx-device')).status).toBe(204);
      expect((await call(server, 'PUT', `${M_DEVICES}/${pending!.id}/auth/${aid}/status`, { json: { status: 'rejected' } })).status).toBe(204);
      expect((await device.next(server, 'r1', 'fx-device')).status).toBe(401);
      expect((await device.authorize(server)).status).toBe(401);
      expect((await call(server, 'PUT', `${M_DEVICES}/${pending!.id}/auth/nope/status`, { json: { status: 'accepted' } })).status).toBe(404);
      expect((await call(server, 'PUT', `${M_DEVICES}/${pending!.id}/auth/${aid}/status`, { json: { status: 'bogus' } })).status).toBe(400);
    } finally {
      await server.stop();
    }
  });

  it('requires the configured tenant token and puts it in the JWT', async () => {
    const server = await testServer({ tenantToken: 'tenant-A' });
    try {
      const device = new TestDevice({ mac: '02:00:00:00:05:01' });
      expect((await device.authorize(server, 'tenant-B')).status).toBe(401);
      const res = await device.authorize(server, 'tenant-A');
      expect(res.status).toBe(200);
      expect(JSON.parse(Buffer.from(res.text().split('.')[1]!, 'base64url').toString())['mender.tenant']).toBe('tenant-A');
    } finally {
      await server.stop();
    }
  });

  it('issues JWTs that expire (jwtTtlSec) and refuses a missing or forged token', async () => {
    const server = await testServer({ jwtTtlSec: 1 });
    try {
      const device = new TestDevice({ mac: '02:00:00:00:06:01' });
      await device.authorize(server);
      expect((await device.next(server, 'r1', 'fx-device')).status).toBe(204);
      await new Promise((r) => setTimeout(r, 2100));
      const expired = await device.next(server, 'r1', 'fx-device');
      expect(expired.status).toBe(401);
      expect(expired.json().error).toBe('token expired');
      expect((await call(server, 'GET', `${NEXT}?artifact_name=a&device_type=b`)).status).toBe(401);
      const [h, p] = device.token.split('.');
      expect((await call(server, 'GET', `${NEXT}?artifact_name=a&device_type=b`, { token: `${h}.${p}.AAAA` })).status).toBe(401);
    } finally {
      await server.stop();
    }
  });
});

describe('deployments: next, status, log, download', () => {
  let server: Server;
  beforeAll(async () => {
    server = await testServer({ autoAccept: true });
    expect((await uploadArtifact(server, ROOTFS)).status).toBe(201);
  });
  afterAll(() => server.stop());

  it('answers 204 when there is nothing, and v2 next 404 as open-source Mender', async () => {
    const device = new TestDevice({ mac: '02:00:00:00:10:01' });
    await device.authorize(server);
    expect((await device.next(server, 'r1', 'fx-device')).status).toBe(204);
    const v2 = await call(server, 'POST', '/api/devices/v2/deployments/device/deployments/next', { token: device.token, json: { device_provides: { artifact_name: 'r1', device_type: 'fx-device' } } });
    expect(v2.status).toBe(404);
  });

  it('gives the deployment with Mender\'s instruction shape on POST and on GET with the same data', async () => {
    const device = new TestDevice({ mac: '02:00:00:00:10:02' });
    await device.authorize(server);
    const id = await deployTo(server, device);
    const post = await device.next(server, 'r1', 'fx-device');
    expect(post.status).toBe(200);
    const body = post.json();
    expect(Object.keys(body).sort()).toEqual(['artifact', 'id']);
    expect(body.id).toBe(id);
    expect(body.artifact.artifact_name).toBe('fx-rootfs-none');
    expect(body.artifact.device_types_compatible).toEqual(['fx-device']);
    expect(Date.parse(body.artifact.source.expire) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
    const get = await call(server, 'GET', `${NEXT}?artifact_name=r1&device_type=fx-device`, { token: device.token });
    expect(get.status).toBe(200);
    expect(get.json().id).toBe(id);
  });

  it('fails the deployment and answers 409 when the device changes its data mid-deployment', async () => {
    const device = new TestDevice({ mac: '02:00:00:00:10:03' });
    await device.authorize(server);
    const id = await deployTo(server, device);
    expect((await device.next(server, 'r1', 'fx-device', { 'rootfs-image.version': 'r1' })).status).toBe(200);
    expect((await device.report(server, id, 'downloading')).status).toBe(204);
    const changed = await device.next(server, 'r1', 'fx-device', { 'rootfs-image.version': 'r2' });
    expect(changed.status).toBe(409);
    const dd = server.store.get('device-deployment', `${id}/${await deviceId(server, device)}`)!;
    expect(dd.status).toBe('failure');
    // Failed: the device now has nothing to do.
    expect((await device.next(server, 'r1', 'fx-device')).status).toBe(204);
  });

  it('marks already-installed when the device runs the deployment\'s artifact, noartifact for another device type', async () => {
    const a = new TestDevice({ mac: '02:00:00:00:10:04' });
    const b = new TestDevice({ mac: '02:00:00:00:10:05' });
    await a.authorize(server);
    await b.authorize(server);
    const id = await createDeployment(server, { artifact_name: 'fx-rootfs-none', devices: [await deviceId(server, a), await deviceId(server, b)] });
    expect((await a.next(server, 'fx-rootfs-none', 'fx-device')).status).toBe(204);
    expect((await b.next(server, 'r1', 'other-device')).status).toBe(204);
    const statuses = (await call(server, 'GET', `/api/management/v1/deployments/deployments/${id}/devices`)).json<{ id: string; status: string }[]>();
    expect(Object.fromEntries(statuses.map((s) => [s.id, s.status]))).toEqual({ [await deviceId(server, a)]: 'already-installed', [await deviceId(server, b)]: 'noartifact' });
    expect((await call(server, 'GET', `/api/management/v1/deployments/deployments/${id}`)).json().status).toBe('finished');
  });

  it('takes device statuses with substates, answers 400 for others, 404 for foreign deployments, 409 once aborted', async () => {
    const device = new TestDevice({ mac: '02:00:00:00:10:06' });
    const stranger = new TestDevice({ mac: '02:00:00:00:10:07' });
    await device.authorize(server);
    await stranger.authorize(server);
    const id = await deployTo(server, device);
    expect((await device.next(server, 'r1', 'fx-device')).status).toBe(200);
    expect((await device.report(server, id, 'downloading', 'fetching 10%')).status).toBe(204);
    expect((await device.report(server, id, 'downloading', 'fetching 10%')).status).toBe(204); // no-op repeat
    expect((await device.report(server, id, 'pending')).status).toBe(400);
    expect((await device.report(server, id, 'aborted')).status).toBe(400);
    expect((await device.report(server, id, 'installing', 'x'.repeat(201))).status).toBe(400);
    expect((await stranger.report(server, id, 'installing')).status).toBe(404);
    const dd = server.store.get('device-deployment', `${id}/${await deviceId(server, device)}`)!;
    expect(dd.substate).toBe('fetching 10%');
    expect(dd.history.map((h) => h.status)).toEqual(['downloading']);
    expect((await call(server, 'PUT', `/api/management/v1/deployments/deployments/${id}/status`, { json: { status: 'aborted' } })).status).toBe(204);
    expect((await device.report(server, id, 'installing')).status).toBe(409);
    expect((await device.report(server, id, 'failure')).status).toBe(409);
    expect((await device.next(server, 'r1', 'fx-device')).status).toBe(204);
  });

  it('stores the deployment log (status first, then log) and serves it as text to management', async () => {
    const device = new TestDevice({ mac: '02:00:00:00:10:08' });
    await device.authorize(server);
    const id = await deployTo(server, device);
    await device.next(server, 'r1', 'fx-device');
    expect((await device.report(server, id, 'failure')).status).toBe(204);
    const messages = [
      { timestamp: '2026-11-21T20:50:20Z', level: 'info', message: 'Running Mender client version: 3.4.0' },
      { timestamp: '2026-11-21T20:50:21Z', level: 'error', message: 'install failed' },
    ];
    expect((await call(server, 'PUT', `${DEPLOYMENTS}/${id}/log`, { token: device.token, json: { messages } })).status).toBe(204);
    const text = await call(server, 'GET', `/api/management/v1/deployments/deployments/${id}/devices/${await deviceId(server, device)}/log`);
    expect(text.status).toBe(200);
    expect(text.text()).toBe('2026-11-21T20:50:20Z info: Running Mender client version: 3.4.0\n2026-11-21T20:50:21Z error: install failed\n');
    expect((await call(server, 'PUT', `${DEPLOYMENTS}/${id}/log`, { token: device.token, json: { messages: [] } })).status).toBe(400);
    expect((await call(server, 'PUT', `${DEPLOYMENTS}/${id}/log`, { token: device.token, json: { messages: [{ timestamp: 'yesterday', level: 'info', message: 'm' }] } })).status).toBe(400);
    expect((await call(server, 'PUT', `${DEPLOYMENTS}/nope/log`, { token: device.token, json: { messages } })).status).toBe(404);
    const big = { messages: [{ timestamp: '2026-11-21T20:50:20Z', level: 'info', message: 'x'.repeat(1024 * 1024) }] };
    expect((await call(server, 'PUT', `${DEPLOYMENTS}/${id}/log`, { token: device.token, json: big })).status).toBe(413);
  });

  it('checks JSON content types like Mender: 415 for another type, 400 without one', async () => {
    const device = new TestDevice({ mac: '02:00:00:00:10:09' });
    await device.authorize(server);
    const body = JSON.stringify({ artifact_name: 'r1', device_type: 'fx-device' });
    expect((await call(server, 'POST', NEXT, { token: device.token, body, headers: { 'Content-Type': 'text/plain' } })).status).toBe(415);
    expect((await call(server, 'POST', NEXT, { token: device.token, body })).status).toBe(400);
    expect((await call(server, 'POST', NEXT, { token: device.token, json: { artifact_name: 'r1' } })).status).toBe(400);
    expect((await call(server, 'GET', `${NEXT}?artifact_name=r1`, { token: device.token })).status).toBe(400);
  });

  it('serves the artifact without a JWT, whole (200) or from a Range (206 + Content-Range); refuses bad links', async () => {
    const device = new TestDevice({ mac: '02:00:00:00:10:0a' });
    await device.authorize(server);
    await deployTo(server, device);
    const uri: string = (await device.next(server, 'r1', 'fx-device')).json().artifact.source.uri;
    const whole = await call(server, 'GET', uri);
    expect(whole.status).toBe(200);
    expect(whole.headers['content-length']).toBe(String(ROOTFS.length));
    expect(whole.body.equals(Buffer.from(ROOTFS))).toBe(true);
    const tail = await call(server, 'GET', uri, { headers: { Range: 'bytes=1000-' } });
    expect(tail.status).toBe(206);
    expect(tail.headers['content-range']).toBe(`bytes 1000-${ROOTFS.length - 1}/${ROOTFS.length}`);
    expect(tail.body.equals(Buffer.from(ROOTFS.subarray(1000)))).toBe(true);
    const slice = await call(server, 'GET', uri, { headers: { Range: 'bytes=10-19' } });
    expect(slice.status).toBe(206);
    expect(slice.body.equals(Buffer.from(ROOTFS.subarray(10, 20)))).toBe(true);
    const beyond = await call(server, 'GET', uri, { headers: { Range: `bytes=${ROOTFS.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${ROOTFS.length}`);
    const forged = uri.replace(/x-men-signature=[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith('0') ? '1' : '0'));
    expect((await call(server, 'GET', forged)).status).toBe(403);
    const otherExpiry = uri.replace(/x-men-expire=[^&]+/, 'x-men-expire=2099-01-01T00%3A00%3A00.000Z');
    expect((await call(server, 'GET', otherExpiry)).status).toBe(403);
  });

  it('serves v2 next when v2Next is on, with the device_provides shape', async () => {
    const v2server = await testServer({ v2Next: true });
    try {
      await uploadArtifact(v2server, ROOTFS);
      const device = new TestDevice({ mac: '02:00:00:00:10:0b' });
      await device.authorize(v2server);
      const id = await deployTo(v2server, device);
      const res = await call(v2server, 'POST', '/api/devices/v2/deployments/device/deployments/next', {
        token: device.token,
        json: { device_provides: { artifact_name: 'r1', device_type: 'fx-device', 'rootfs-image.version': 'r1' }, update_control_map: true },
      });
      expect(res.status).toBe(200);
      expect(res.json().id).toBe(id);
      // The same data through v1 POST (provides in artifact_provides) is identical data.
      expect((await device.next(v2server, 'r1', 'fx-device', { 'rootfs-image.version': 'r1' })).status).toBe(200);
    } finally {
      await v2server.stop();
    }
  });
});

describe('inventory and configuration', () => {
  let server: Server;
  let device: TestDevice;
  beforeAll(async () => {
    server = await testServer({ autoAccept: true });
    device = new TestDevice({ mac: '02:00:00:00:20:01' });
    await device.authorize(server);
  });
  afterAll(() => server.stop());

  const attributes = async () => {
    const inv = (await call(server, 'GET', `/api/management/v1/inventory/devices/${await deviceId(server, device)}`)).json<{ attributes: { name: string; value: unknown; scope: string }[] }>();
    return Object.fromEntries(inv.attributes.filter((a) => a.scope === 'inventory').map((a) => [a.name, a.value]));
  };

  it('replaces all attributes on PUT and upserts on PATCH (200 both)', async () => {
    const put = await call(server, 'PUT', '/api/devices/v1/inventory/device/attributes', { token: device.token, json: [{ name: 'a', value: '1' }, { name: 'ips', value: ['10.0.0.2/24', '10.0.0.3/24'] }] });
    expect(put.status).toBe(200);
    expect(await attributes()).toEqual({ a: '1', ips: ['10.0.0.2/24', '10.0.0.3/24'] });
    expect((await call(server, 'PATCH', '/api/devices/v1/inventory/device/attributes', { token: device.token, json: [{ name: 'b', value: 2 }] })).status).toBe(200);
    expect(await attributes()).toEqual({ a: '1', ips: ['10.0.0.2/24', '10.0.0.3/24'], b: 2 });
    expect((await call(server, 'PUT', '/api/devices/v1/inventory/device/attributes', { token: device.token, json: [{ name: 'c', value: 3 }] })).status).toBe(200);
    expect(await attributes()).toEqual({ c: 3 });
  });

  it('refuses mixed arrays, booleans and objects (400)', async () => {
    for (const value of [['a', 1], true, { x: 1 }, null]) {
      const res = await call(server, 'PATCH', '/api/devices/v1/inventory/device/attributes', { token: device.token, json: [{ name: 'bad', value }] });
      expect(res.status).toBe(400);
    }
    expect((await call(server, 'PUT', '/api/devices/v1/inventory/device/attributes', { token: device.token, json: { name: 'x', value: 1 } })).status).toBe(400);
  });

  it('serves the desired configuration set by management (404 before) and records the reported one', async () => {
    const path = '/api/devices/v1/deviceconfig/configuration';
    expect((await call(server, 'GET', path, { token: device.token })).status).toBe(404);
    const id = await deviceId(server, device);
    expect((await call(server, 'PUT', `/api/management/v1/deviceconfig/configurations/device/${id}`, { json: { timezone: 'UTC', ntp: 'pool.ntp.org' } })).status).toBe(204);
    const got = await call(server, 'GET', path, { token: device.token });
    expect(got.status).toBe(200);
    expect(got.json()).toEqual({ timezone: 'UTC', ntp: 'pool.ntp.org' });
    expect((await call(server, 'PUT', path, { token: device.token, json: { timezone: 'UTC' } })).status).toBe(204);
    expect((await call(server, 'PUT', path, { token: device.token, json: { timezone: 5 } })).status).toBe(400);
    const mgmt = (await call(server, 'GET', `/api/management/v1/deviceconfig/configurations/device/${id}`)).json();
    expect(mgmt.configured).toEqual({ timezone: 'UTC', ntp: 'pool.ntp.org' });
    expect(mgmt.reported).toEqual({ timezone: 'UTC' });
  });
});
