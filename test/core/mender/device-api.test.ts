import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpsServer } from 'node:https';
import type { ServerResponse } from 'node:http';
import { createDeviceApi, LOG_MAX_BYTES, MAX_THROTTLED_WAITS, type DeviceApiOptions, type DeviceState } from '../../../core/mender/device-api.ts';
import { IDENTITY_KEY, authRequestBody } from '../../../core/mender/auth.ts';
import { isOtaError, OtaError } from '../../../base/errors.ts';
import { utf8 } from '../../../base/bytes.ts';
import {
  empty, json, memoryKeyValue, nodeHttp, scriptedServer, testSystem, virtualScheduler, type Received, type Route,
} from './harness.ts';

const AUTH = '/api/devices/v1/authentication/auth_requests';
const NEXT_V2 = '/api/devices/v2/deployments/device/deployments/next';
const NEXT_V1 = '/api/devices/v1/deployments/device/deployments/next';
const STATUS = (id: string) => `/api/devices/v1/deployments/device/deployments/${id}/status`;
const INVENTORY = '/api/devices/v1/inventory/device/attributes';
const CONFIG = '/api/devices/v1/deviceconfig/configuration';

const IDENTITY = { serial: 'SN123', mac: '02:00:00:aa:bb:cc' };
const STATE: DeviceState = { artifactName: 'fw-1.0.0', deviceType: 'esp32', provides: { 'rootfs-image.version': 'fw-1.0.0', 'app.checksum': 'abc' } };
const INSTRUCTIONS = {
  id: 'dep-1',
  artifact: { id: 'img-1', artifact_name: 'fw-1.1.0', source: { uri: 'http://127.0.0.1:1/artifact?X-Amz-Signature=secret', expire: '2026-11-22T00:00:00Z' }, device_types_compatible: ['esp32'] },
};

type Server = Awaited<ReturnType<typeof scriptedServer>>;
const servers: Server[] = [];
afterEach(async () => {
  while (servers.length > 0) await servers.pop()!.close();
});

function jwtOf(req: Received): string | undefined {
  const header = req.headers['authorization'];
  return typeof header === 'string' ? header.replace(/^Bearer /, '') : undefined;
}

/** A device-API server: accepts auth with "jwt-N" (N counts auth requests) unless `pending`. */
function mender(handlers: Partial<Record<string, Route>>, options: { pending?: () => boolean } = {}): Route {
  let auths = 0;
  return (req, res) => {
    const path = req.path.replace(/\?.*$/, '');
    if (path === AUTH && !handlers[AUTH]) {
      if (options.pending?.()) return json(res, 401, { error: 'dev auth: unauthorized', request_id: 'r1' });
      auths++;
      res.writeHead(200, { 'Content-Type': 'application/jwt' });
      return void res.end(`jwt-${auths}`);
    }
    const handler = handlers[path] ?? handlers[`${req.method} ${path}`];
    if (handler) return handler(req, res);
    json(res, 404, { error: `no route ${req.method} ${path}` });
  };
}

async function start(route: Route): Promise<Server> {
  const server = await scriptedServer(route);
  servers.push(server);
  return server;
}

function device(serverUrl: string, extra: Partial<DeviceApiOptions> = {}) {
  const http = nodeHttp();
  const scheduler = virtualScheduler();
  const keyValue = memoryKeyValue();
  const system = testSystem();
  const api = createDeviceApi({ http, scheduler, system, keyValue, serverUrl, allowHttp: true, identity: IDENTITY, tenantToken: 'tenant-abc', ...extra });
  return { api, http, scheduler, keyValue, system };
}

async function rejection(promise: Promise<unknown>): Promise<OtaError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OtaError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('authorization', () => {
  for (const keyType of ['ed25519', 'ecdsa-p256'] as const) {
    it(`signs the exact auth body with an ${keyType} key (verified by node:crypto)`, async () => {
      const server = await start(mender({ [INVENTORY]: (_req, res) => json(res, 200, {}) }));
      const { api } = device(server.url, { identityKeyType: keyType });
      await api.authorize();
      expect(api.isAuthorized).toBe(true);

      const auth = server.received[0]!;
      expect(auth.method).toBe('POST');
      expect(auth.headers['content-type']).toBe('application/json');
      expect(auth.headers['authorization']).toBe('Bearer tenant-abc');
      const body = JSON.parse(auth.body.toString('utf8')) as { id_data: string; pubkey: string; tenant_token: string };
      expect(Object.keys(body)).toEqual(['id_data', 'tenant_token', 'pubkey']);
      expect(body.id_data).toBe('{"mac":"02:00:00:aa:bb:cc","serial":"SN123"}');
      expect(body.tenant_token).toBe('tenant-abc');
      expect(body.pubkey).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n?$/);
      expect(new Uint8Array(auth.body)).toEqual(authRequestBody(IDENTITY, body.pubkey, 'tenant-abc'));

      const publicKey = createPublicKey(body.pubkey);
      expect(publicKey.asymmetricKeyType).toBe(keyType === 'ed25519' ? 'ed25519' : 'ec');
      const signature = Buffer.from(auth.headers['x-men-signature'] as string, 'base64');
      if (keyType === 'ed25519') {
        expect(signature.length).toBe(64);
        expect(cryptoVerify(null, auth.body, publicKey, signature)).toBe(true);
      } else {
        expect(signature[0]).toBe(0x30); // DER SEQUENCE, not raw r‖s
        expect(signature.length).toBeGreaterThanOrEqual(68);
        expect(signature.length).toBeLessThanOrEqual(72);
        expect(cryptoVerify('sha256', auth.body, { key: publicKey, dsaEncoding: 'der' }, signature)).toBe(true);
      }
      // A changed body must not verify: the signature covers these exact bytes.
      const tampered = Buffer.from(auth.body);
      tampered[tampered.length - 3] ^= 1;
      expect(cryptoVerify(keyType === 'ed25519' ? null : 'sha256', tampered, { key: publicKey, dsaEncoding: 'der' }, signature)).toBe(false);

      await api.patchInventory({ device_type: 'esp32' });
      expect(jwtOf(server.received[1]!)).toBe('jwt-1');
    });
  }

  it('omits the tenant Authorization header without a tenant token and sends tenant_token ""', async () => {
    const server = await start(mender({}));
    const { api } = device(server.url, { tenantToken: undefined });
    await api.authorize();
    expect(server.received[0]!.headers['authorization']).toBeUndefined();
    expect(JSON.parse(server.received[0]!.body.toString()).tenant_token).toBe('');
  });

  it('pending → OtaError unauthorized on every call until accepted; the key stays the same', async () => {
    let pending = true;
    const server = await start(mender({ [INVENTORY]: (_req, res) => json(res, 200, {}) }, { pending: () => pending }));
    const { api, keyValue } = device(server.url);
    const first = await rejection(api.authorize());
    expect(first.code).toBe('unauthorized');
    expect(first.message).toBe(`POST ${AUTH}: HTTP 401 (device pending or rejected): dev auth: unauthorized`);
    expect(api.isAuthorized).toBe(false);
    // A JWT-carrying call authorizes first, so it fails the same way (the caller backs off).
    expect((await rejection(api.patchInventory({ a: '1' }))).code).toBe('unauthorized');
    expect(server.received.filter((r) => r.path === INVENTORY)).toHaveLength(0);

    pending = false;
    await api.patchInventory({ a: '1' });
    expect(api.isAuthorized).toBe(true);
    const keys = server.received.filter((r) => r.path === AUTH).map((r) => JSON.parse(r.body.toString()).pubkey);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect([...keyValue.records.keys()]).toEqual([IDENTITY_KEY]);
  });

  it('keeps the JWT in memory only: KeyValue holds just the 33-byte key record', async () => {
    const server = await start(mender({}));
    const { api, keyValue, http, scheduler, system } = device(server.url);
    await api.authorize();
    expect([...keyValue.records.keys()]).toEqual([IDENTITY_KEY]);
    const record = keyValue.records.get(IDENTITY_KEY)!;
    expect(record.length).toBe(33);
    expect(Buffer.from(record).includes('jwt-1')).toBe(false);

    // After a "reset" (a new DeviceApi over the same KeyValue): no token, same key.
    const again = createDeviceApi({ http, scheduler, system, keyValue, serverUrl: server.url, allowHttp: true, identity: IDENTITY });
    expect(again.isAuthorized).toBe(false);
    await again.authorize();
    const keys = server.received.filter((r) => r.path === AUTH).map((r) => JSON.parse(r.body.toString()).pubkey);
    expect(keys[0]).toBe(keys[1]);
  });

  it('an unreadable identity key record is replaced by a new key, and the replacement is logged as an error', async () => {
    const server = await start(mender({}));
    const logs: string[] = [];
    const { api, keyValue } = device(server.url, { log: (level, message) => void logs.push(`${level}: ${message}`) });
    keyValue.records.set(IDENTITY_KEY, new Uint8Array([9, 1, 2]));
    await api.authorize();
    expect(api.isAuthorized).toBe(true);
    expect(logs).toContain(
      'error: identity key unreadable (key-value "id-key": expected type 1 or 2 + 32 bytes, got type 9 + 2 bytes); generated a new one: the server must accept this device again',
    );
    const record = keyValue.records.get(IDENTITY_KEY)!;
    expect([record.length, record[0]]).toEqual([33, 1]); // a new ed25519 key, stored
    expect(server.received.filter((r) => r.path === AUTH)).toHaveLength(1);
  });

  it('401 mid-session → authorizes again once and retries with the new JWT', async () => {
    const server = await start(
      mender({
        [INVENTORY]: (req, res) => (jwtOf(req) === 'jwt-1' ? json(res, 401, { error: 'token expired' }) : json(res, 200, {})),
      }),
    );
    const { api } = device(server.url);
    await api.authorize();
    await api.patchInventory({ artifact_name: 'fw-1.0.0' });
    expect(server.received.map((r) => `${r.path} ${jwtOf(r) ?? ''}`)).toEqual([
      `${AUTH} tenant-abc`,
      `${INVENTORY} jwt-1`,
      `${AUTH} tenant-abc`,
      `${INVENTORY} jwt-2`,
    ]);
  });

  it('a second 401 after authorizing again is unauthorized (no loop)', async () => {
    const server = await start(mender({ [INVENTORY]: (_req, res) => json(res, 401, { error: 'nope' }) }));
    const { api } = device(server.url);
    const error = await rejection(api.patchInventory({ a: 'b' }));
    expect(error.code).toBe('unauthorized');
    expect(error.message).toBe(`PATCH ${INVENTORY}: HTTP 401 (after 2 attempts): nope`);
    expect(server.received.filter((r) => r.path === AUTH)).toHaveLength(2);
    expect(server.received.filter((r) => r.path === INVENTORY)).toHaveLength(2);
  });

  it('concurrent calls share one auth request', async () => {
    const server = await start(mender({ [INVENTORY]: (_req, res) => json(res, 200, {}) }));
    const { api } = device(server.url);
    await Promise.all([api.authorize(), api.authorize(), api.patchInventory({ a: '1' })]);
    expect(server.received.filter((r) => r.path === AUTH)).toHaveLength(1);
  });

  it('a 200 whose body is not a token is a named http-status error', async () => {
    const server = await start((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/jwt' });
      res.end('not a token\n with spaces');
    });
    const { api } = device(server.url);
    const error = await rejection(api.authorize());
    expect(error.code).toBe('http-status');
    expect(error.message).toMatch(/^POST \/api\/devices\/v1\/authentication\/auth_requests: HTTP 200 body: expected a JWT/);
    expect(api.isAuthorized).toBe(false);
  });
});

describe('checkUpdate', () => {
  it('v2 404 → v1 POST 404 → v1 GET 200, then remembers the GET', async () => {
    const server = await start(mender({ [`GET ${NEXT_V1}`]: (_req, res) => json(res, 200, INSTRUCTIONS) }));
    const { api } = device(server.url);
    const instructions = await api.checkUpdate(STATE);
    expect(instructions).toEqual({ id: 'dep-1', artifactName: 'fw-1.1.0', uri: INSTRUCTIONS.artifact.source.uri, deviceTypes: ['esp32'] });
    const calls = server.received.filter((r) => r.path !== AUTH);
    expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${NEXT_V2}`,
      `POST ${NEXT_V1}`,
      `GET ${NEXT_V1}?artifact_name=fw-1.0.0&device_type=esp32`,
    ]);
    expect(calls[0]!.body.toString()).toBe(
      '{"device_provides":{"artifact_name":"fw-1.0.0","device_type":"esp32","app.checksum":"abc","rootfs-image.version":"fw-1.0.0"}}',
    );
    expect(calls[0]!.headers['content-type']).toBe('application/json');
    expect(calls[1]!.body.toString()).toBe(
      '{"artifact_name":"fw-1.0.0","device_type":"esp32","artifact_provides":{"app.checksum":"abc","rootfs-image.version":"fw-1.0.0"}}',
    );
    await api.checkUpdate(STATE);
    expect(server.received.slice(-1)[0]!.method).toBe('GET');
    expect(server.received.filter((r) => r.path.startsWith(NEXT_V2))).toHaveLength(1);
  });

  it('uses v2 when the server has it, with identical bytes for the same state in any key order', async () => {
    const server = await start(mender({ [NEXT_V2]: (_req, res) => empty(res, 204) }));
    const { api } = device(server.url);
    expect(await api.checkUpdate(STATE)).toBeUndefined();
    const reordered: DeviceState = { deviceType: 'esp32', provides: { 'app.checksum': 'abc', 'rootfs-image.version': 'fw-1.0.0' }, artifactName: 'fw-1.0.0' };
    expect(await api.checkUpdate(reordered)).toBeUndefined();
    const bodies = server.received.filter((r) => r.path === NEXT_V2).map((r) => r.body.toString('hex'));
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toBe(bodies[1]);
  });

  it('v1 POST answering 204 is nothing to do (no GET)', async () => {
    const server = await start(mender({ [`POST ${NEXT_V1}`]: (_req, res) => empty(res, 204) }));
    const { api } = device(server.url);
    expect(await api.checkUpdate(STATE)).toBeUndefined();
    expect(server.received.some((r) => r.method === 'GET')).toBe(false);
  });

  it('409 on next (request data changed during a deployment) is deployment-aborted', async () => {
    const server = await start(mender({ [NEXT_V2]: (_req, res) => json(res, 409, { error: 'conflicting request data provided' }) }));
    const { api } = device(server.url);
    const error = await rejection(api.checkUpdate(STATE));
    expect(error.code).toBe('deployment-aborted');
    expect(error.message).toContain('conflicting request data provided');
  });

  it('a 404 from v1 GET too is a named error; a 500 is not retried here (the poll loop retries)', async () => {
    const server = await start(mender({}));
    const { api } = device(server.url);
    expect((await rejection(api.checkUpdate(STATE))).message).toBe(`GET ${NEXT_V1}: HTTP 404: no route GET ${NEXT_V1}`);
    server.setRoute(mender({ [NEXT_V2]: (_req, res) => json(res, 500, { error: 'db down' }) }));
    const other = device(server.url);
    const error = await rejection(other.api.checkUpdate(STATE));
    expect(error.code).toBe('http-status');
    expect(error.message).toBe(`POST ${NEXT_V2}: HTTP 500: db down`);
    expect(other.scheduler.sleeps).toEqual([]);
  });

  it('malformed answers are http-status errors naming the endpoint and the field', async () => {
    let answer: (res: ServerResponse) => void = (res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"id": "x", ');
    };
    const server = await start(mender({ [NEXT_V2]: (_req, res) => answer(res) }));
    const { api } = device(server.url);
    let error = await rejection(api.checkUpdate(STATE));
    expect(error.code).toBe('http-status');
    expect(error.message).toMatch(/^POST \/api\/devices\/v2\/deployments\/device\/deployments\/next: HTTP 200 body is not JSON/);

    answer = (res) => json(res, 200, { id: 'x', artifact: { artifact_name: 'a', source: { uri: 42 } } });
    error = await rejection(api.checkUpdate(STATE));
    expect(error.message).toBe(`POST ${NEXT_V2}: "artifact.source.uri": expected a non-empty string, got number 42`);

    answer = (res) => json(res, 200, { id: 'x', artifact: { artifact_name: 'a', source: { uri: 'https://x/y' }, device_types_compatible: 'esp32' } });
    error = await rejection(api.checkUpdate(STATE));
    expect(error.message).toContain('"artifact.device_types_compatible": expected an array of strings');

    answer = (res) => json(res, 200, [1, 2]);
    error = await rejection(api.checkUpdate(STATE));
    expect(error.message).toBe(`POST ${NEXT_V2}: HTTP 200 body: expected an object, got an array`);

    answer = (res) => json(res, 200, { id: 'x', artifact: { artifact_name: 'a', source: 'https://x/y' } });
    error = await rejection(api.checkUpdate(STATE));
    expect(error.message).toBe(`POST ${NEXT_V2}: "artifact.source": expected an object, got "https://x/y"`);

    // device_types_compatible absent or null: none listed.
    for (const types of [undefined, null]) {
      answer = (res) => json(res, 200, { id: 'x', artifact: { artifact_name: 'a', source: { uri: 'https://x/y' }, device_types_compatible: types } });
      expect(await api.checkUpdate(STATE)).toEqual({ id: 'x', artifactName: 'a', uri: 'https://x/y', deviceTypes: [] });
    }
  });
});

describe('reportStatus and uploadLog', () => {
  it('PUTs the status with a substate (bounded to 200 chars) and accepts 204', async () => {
    const server = await start(mender({ [STATUS('dep 1')]: (_req, res) => empty(res, 204), [STATUS('dep%201')]: (_req, res) => empty(res, 204) }));
    const { api } = device(server.url);
    await api.reportStatus('dep 1', 'downloading', `downloading 45% ${'x'.repeat(300)}`);
    const put = server.received.find((r) => r.method === 'PUT')!;
    expect(put.path).toBe(STATUS('dep%201'));
    const body = JSON.parse(put.body.toString());
    expect(body.status).toBe('downloading');
    expect(body.substate).toHaveLength(200);
    expect(body.substate.startsWith('downloading 45% ')).toBe(true);
    await api.reportStatus('dep 1', 'success');
    expect(server.received.slice(-1)[0]!.body.toString()).toBe('{"status":"success"}');
    await expect(api.reportStatus('dep 1', 'aborted' as 'success')).rejects.toThrow(TypeError);
  });

  it('409 on status → deployment-aborted, not retried', async () => {
    const server = await start(mender({ [STATUS('dep-1')]: (_req, res) => empty(res, 409) }));
    const { api, scheduler } = device(server.url);
    const error = await rejection(api.reportStatus('dep-1', 'installing'));
    expect(error.code).toBe('deployment-aborted');
    expect(error.message).toBe(`PUT ${STATUS('dep-1')} "installing": HTTP 409 (deployment aborted)`);
    expect(scheduler.sleeps).toEqual([]);
  });

  it('429 waits Retry-After (virtual time) and retries', async () => {
    let throttle = 2;
    const server = await start(
      mender({ [STATUS('dep-1')]: (_req, res) => (throttle-- > 0 ? json(res, 429, { error: 'slow down' }, { 'Retry-After': '7' }) : empty(res, 204)) }),
    );
    const { api, scheduler } = device(server.url);
    await api.reportStatus('dep-1', 'downloading');
    expect(scheduler.sleeps).toEqual([7000, 7000]);
    expect(scheduler.now()).toBe(14_000);
    expect(server.received.filter((r) => r.method === 'PUT')).toHaveLength(3);
  });

  it('429 forever gives up after a bounded number of waits', async () => {
    const server = await start(mender({ [STATUS('dep-1')]: (_req, res) => json(res, 429, {}, { 'Retry-After': '1' }) }));
    const { api, scheduler } = device(server.url);
    const error = await rejection(api.reportStatus('dep-1', 'downloading'));
    expect(error.code).toBe('http-status');
    expect(error.message).toMatch(/: HTTP 429/);
    expect(scheduler.sleeps).toEqual(Array(MAX_THROTTLED_WAITS).fill(1000));
  });

  it('5xx is retried with Mender backoff, then fails naming the endpoint, status and attempts', async () => {
    const server = await start(mender({ [STATUS('dep-1')]: (_req, res) => json(res, 500, { error: 'internal error' }) }));
    const { api, scheduler } = device(server.url);
    const error = await rejection(api.reportStatus('dep-1', 'failure'));
    expect(error.code).toBe('http-status');
    expect(error.message).toBe(`PUT ${STATUS('dep-1')} "failure": HTTP 500 (after 11 attempts): internal error`);
    expect(scheduler.sleeps.map((ms) => ms / 1000)).toEqual([60, 60, 60, 120, 120, 120, 240, 240, 240, 300]);
    expect(server.received.filter((r) => r.method === 'PUT')).toHaveLength(11);
  });

  it('the bound follows the poll settings (Update 5 s / Retry 5 s → 4 sends)', async () => {
    let failures = 2;
    const server = await start(mender({ [STATUS('dep-1')]: (_req, res) => (failures-- > 0 ? empty(res, 503) : empty(res, 204)) }));
    const { api, scheduler } = device(server.url, { pollIntervals: { UpdatePollIntervalSeconds: 5, RetryPollIntervalSeconds: 5 } });
    await api.reportStatus('dep-1', 'success');
    expect(scheduler.sleeps).toEqual([60_000, 60_000]);
    expect(api.pollIntervals.InventoryPollIntervalSeconds).toBe(28800);
  });

  it('network errors on a report are retried too', async () => {
    let cuts = 1;
    const server = await start(
      mender({ [STATUS('dep-1')]: (_req, res) => (cuts-- > 0 ? res.socket?.destroy() : empty(res, 204)) }),
    );
    const { api, scheduler } = device(server.url);
    await api.reportStatus('dep-1', 'rebooting');
    expect(scheduler.sleeps).toEqual([60_000]);
  });

  it('a network error while authorizing for a report is retried like one on the report', async () => {
    let cuts = 1;
    const server = await start((req, res) => {
      if (req.path === AUTH && cuts-- > 0) return void res.socket?.destroy();
      mender({ [STATUS('dep-1')]: (_req, r) => empty(r, 204) })(req, res);
    });
    const { api, scheduler } = device(server.url);
    await api.reportStatus('dep-1', 'success');
    expect(scheduler.sleeps).toEqual([60_000]);
    expect(server.received.map((r) => r.path)).toEqual([AUTH, AUTH, STATUS('dep-1')]);
  });

  it('cuts the substate by code points (no split surrogate pair)', async () => {
    const server = await start(mender({ [STATUS('dep-1')]: (_req, res) => empty(res, 204) }));
    const { api } = device(server.url);
    await api.reportStatus('dep-1', 'downloading', `${'x'.repeat(199)}😀😀`);
    const substate = JSON.parse(server.received.slice(-1)[0]!.body.toString()).substate as string;
    expect(substate).toBe(`${'x'.repeat(199)}😀`);
  });

  it('uploads the log as {"messages": [...]} and drops the oldest past the size limit, with a marker', async () => {
    const server = await start(mender({ [STATUS('dep-1').replace('status', 'log')]: (_req, res) => empty(res, 204) }));
    const { api } = device(server.url);
    const messages = [
      { timestamp: '2026-11-21T20:50:20Z', level: 'info', message: 'downloading' },
      { timestamp: '2026-11-21T20:50:21Z', level: 'error', message: 'checksum mismatch' },
    ];
    await api.uploadLog('dep-1', messages);
    expect(JSON.parse(server.received.slice(-1)[0]!.body.toString())).toEqual({ messages });

    const big = Array.from({ length: 3000 }, (_, i) => ({ timestamp: '2026-11-21T20:50:20Z', level: 'info', message: `${i} ${'y'.repeat(500)}` }));
    await api.uploadLog('dep-1', big);
    const sent = server.received.slice(-1)[0]!.body;
    expect(sent.length).toBeLessThanOrEqual(LOG_MAX_BYTES);
    const parsed = JSON.parse(sent.toString()) as { messages: { message: string }[] };
    expect(parsed.messages[0]!.message).toMatch(/^THE ORIGINAL LOGS WERE TOO BIG: \d+ oldest messages dropped$/);
    expect(parsed.messages.slice(-1)[0]!.message.startsWith('2999 ')).toBe(true);
    await expect(api.uploadLog('dep-1', [])).rejects.toThrow(RangeError);
  });
});

describe('download', () => {
  const ARTIFACT = Buffer.alloc(10_000, 7);
  ARTIFACT.write('head', 0);
  ARTIFACT.write('tail', 6000);

  async function read(response: { read(): Promise<Uint8Array | undefined> }): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    for (let chunk = await response.read(); chunk !== undefined; chunk = await response.read()) parts.push(chunk);
    return Buffer.concat(parts);
  }

  function artifactServer(answer: (range: string | undefined, res: ServerResponse) => void): Route {
    return (req, res) => answer(req.headers['range'] as string | undefined, res);
  }

  it('GETs the whole artifact without the JWT, and resumes with Range + a checked 206', async () => {
    const server = await start(
      artifactServer((range, res) => {
        if (range === undefined) return void res.writeHead(200, { 'Content-Length': ARTIFACT.length }).end(ARTIFACT);
        const start = Number(/^bytes=(\d+)-$/.exec(range)![1]);
        res.writeHead(206, { 'Content-Range': `bytes ${start}-${ARTIFACT.length - 1}/${ARTIFACT.length}`, 'Content-Length': ARTIFACT.length - start });
        res.end(ARTIFACT.subarray(start));
      }),
    );
    const { api } = device(server.url);
    const whole = await api.download(`${server.url}/artifact?sig=1`);
    expect(whole.status).toBe(200);
    expect((await read(whole)).equals(ARTIFACT)).toBe(true);
    await whole.close();
    const rest = await api.download(`${server.url}/artifact?sig=1`, { start: 6000, total: ARTIFACT.length });
    expect(rest.status).toBe(206);
    expect((await read(rest)).equals(ARTIFACT.subarray(6000))).toBe(true);
    await rest.close();
    expect(server.received.map((r) => [r.headers['authorization'], r.headers['range']])).toEqual([
      [undefined, undefined],
      [undefined, 'bytes=6000-'],
    ]);
  });

  it('a 200 answer to a ranged request is refused, not treated as resumed', async () => {
    const server = await start(artifactServer((_range, res) => void res.writeHead(200, { 'Content-Length': ARTIFACT.length }).end(ARTIFACT)));
    const { api } = device(server.url);
    const error = await rejection(api.download(`${server.url}/a?X-Amz-Signature=secret`, { start: 6000 }));
    expect(error.code).toBe('http-status');
    expect(error.message).toBe(`GET ${server.url}/a (Range: bytes=6000-): expected HTTP 206, got HTTP 200`);
    expect(error.message).not.toContain('secret');
  });

  it('checks the Content-Range start, format and total', async () => {
    let contentRange: string | undefined;
    const server = await start(
      artifactServer((_range, res) => {
        res.writeHead(206, contentRange === undefined ? {} : { 'Content-Range': contentRange });
        res.end(ARTIFACT.subarray(6000));
      }),
    );
    const { api } = device(server.url);
    const uri = `${server.url}/a`;
    contentRange = 'bytes 5000-9999/10000';
    expect((await rejection(api.download(uri, { start: 6000 }))).message).toContain('Content-Range: expected "bytes 6000-END/TOTAL", got "bytes 5000-9999/10000"');
    contentRange = undefined;
    expect((await rejection(api.download(uri, { start: 6000 }))).message).toContain('Content-Range: expected "bytes 6000-END/TOTAL", got nothing');
    contentRange = 'bytes=6000-9999';
    expect((await rejection(api.download(uri, { start: 6000 }))).code).toBe('http-status');
    contentRange = 'bytes 6000-9999/20000';
    expect((await rejection(api.download(uri, { start: 6000, total: 10_000 }))).message).toContain('Content-Range: expected "bytes 6000-END/10000", got "bytes 6000-9999/20000"');
    contentRange = 'bytes 6000-5999/10000';
    expect((await rejection(api.download(uri, { start: 6000, total: 10_000 }))).message).toContain('Content-Range: expected "bytes 6000-END/10000", got "bytes 6000-5999/10000"');
    contentRange = 'bytes 6000-9999/*';
    const ok = await api.download(uri, { start: 6000, total: 10_000 });
    await ok.close();
  });

  it('an error status names the URL without its query; 429 waits Retry-After', async () => {
    let throttle = 1;
    const server = await start(
      artifactServer((_range, res) => {
        if (throttle-- > 0) return void res.writeHead(429, { 'Retry-After': '3' }).end();
        res.writeHead(403).end('<Error>expired</Error>');
      }),
    );
    const { api, scheduler } = device(server.url);
    const error = await rejection(api.download(`${server.url}/a?X-Amz-Signature=secret`));
    expect(error.message).toBe(`GET ${server.url}/a: expected HTTP 200, got HTTP 403`);
    expect(scheduler.sleeps).toEqual([3000]);
  });

  it('refuses an http:// artifact URI unless allowHttp', async () => {
    const { api } = device('https://127.0.0.1:9', { allowHttp: false });
    const error = await rejection(api.download('http://127.0.0.1:9/a?sig=1'));
    expect(error.code).toBe('insecure-transport'); // not 'network': retrying cannot heal it
    expect(error.message).toBe('GET http://127.0.0.1:9/a: plain http:// refused (not encrypted); set allowHttp to allow it');
    await expect(api.download('ftp://x/y')).rejects.toThrow(/expected an http\(s\):\/\/ URL/);
  });
});

describe('inventory and configuration', () => {
  it('PATCHes the attributes as [{name, value}] and rejects other value types', async () => {
    const server = await start(mender({ [INVENTORY]: (_req, res) => json(res, 200, {}) }));
    const { api } = device(server.url);
    await api.patchInventory({ device_type: 'esp32', artifact_name: 'fw-1.0.0', flash_kib: 4096, ipv4: ['10.0.0.2/24'] });
    const patch = server.received.find((r) => r.path === INVENTORY)!;
    expect(patch.method).toBe('PATCH');
    expect(patch.body.toString()).toBe(
      '[{"name":"device_type","value":"esp32"},{"name":"artifact_name","value":"fw-1.0.0"},{"name":"flash_kib","value":4096},{"name":"ipv4","value":["10.0.0.2/24"]}]',
    );
    await expect(api.patchInventory({ bad: true as unknown as string })).rejects.toThrow(TypeError);
    await expect(api.patchInventory({ bad: NaN })).rejects.toThrow(TypeError);
    await expect(api.patchInventory({ bad: [1] as unknown as string[] })).rejects.toThrow(TypeError);
  });

  it('GETs the configuration ({} on 404), rejects non-string values, PUTs the applied one', async () => {
    let desired: unknown = { timezone: 'UTC', ntp: 'pool.ntp.org' };
    const server = await start(
      mender({
        [`GET ${CONFIG}`]: (_req, res) => (desired === undefined ? json(res, 404, { error: 'not found' }) : json(res, 200, desired)),
        [`PUT ${CONFIG}`]: (_req, res) => empty(res, 204),
      }),
    );
    const { api } = device(server.url);
    expect(await api.getConfiguration()).toEqual({ timezone: 'UTC', ntp: 'pool.ntp.org' });
    await api.putConfiguration({ timezone: 'UTC' });
    const put = server.received.find((r) => r.method === 'PUT')!;
    expect(put.body.toString()).toBe('{"timezone":"UTC"}');
    expect(put.headers['content-type']).toBe('application/json');
    desired = undefined;
    expect(await api.getConfiguration()).toEqual({});
    desired = { timezone: 3 };
    const error = await rejection(api.getConfiguration());
    expect(error.message).toBe(`GET ${CONFIG}: "timezone": expected a string, got number 3`);
    await expect(api.putConfiguration({ a: 1 as unknown as string })).rejects.toThrow(TypeError);
  });
});

describe('transport security', () => {
  let dir: string;
  let pki: { ca: string; cert: string; key: string; otherCa: string };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ota-device-api-'));
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    for (const name of ['ca', 'other']) {
      ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`,
        '-days', '2', '-subj', `/CN=ota-mcu test ${name} CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    }
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2',
      '-extfile', 'server.ext');
    pki = {
      ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
      otherCa: readFileSync(join(dir, 'other.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
      key: readFileSync(join(dir, 'server.key'), 'utf8'),
    };
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a plain http:// server unless allowHttp', () => {
    const make = (allowHttp?: boolean) =>
      createDeviceApi({ http: nodeHttp(), scheduler: virtualScheduler(), system: testSystem(), keyValue: memoryKeyValue(), serverUrl: 'http://127.0.0.1:1', allowHttp, identity: IDENTITY });
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(isOtaError(error, 'insecure-transport')).toBe(true);
    expect((error as Error).message).toBe('serverUrl http://127.0.0.1:1: plain http:// refused (not encrypted); set allowHttp to allow it');
    expect(() => make(false)).toThrow(OtaError);
    expect(make(true).isAuthorized).toBe(false); // made: allowHttp lets the plain URL through
    expect(() => device('127.0.0.1:1')).toThrow(TypeError);
    expect(() => device('https://127.0.0.1:1', { identity: {} })).toThrow(/"identity" expected at least one attribute/);
    expect(() => device('https://127.0.0.1:1', { identity: null as never })).toThrow('"identity" expected at least one attribute, got none');
    // A non-string attribute is refused when the API is made, not at the first authorization.
    expect(() => device('https://127.0.0.1:1', { identity: { mac: 1 } as never })).toThrow(new TypeError('"identity.mac" expected a string, got number'));
  });

  it('https: accepts the server signed by the configured CA (tls.ca on every request), refuses an unknown CA', async () => {
    const server = await scriptedServer(mender({ [NEXT_V2]: (_req, res) => empty(res, 204) }), () => createHttpsServer({ cert: pki.cert, key: pki.key }));
    servers.push(server);
    expect(server.url.startsWith('https://')).toBe(true);

    const good = device(server.url, { allowHttp: false, ca: pki.ca });
    expect(await good.api.checkUpdate(STATE)).toBeUndefined();
    expect(good.http.sent.map((r) => r.tls?.ca)).toEqual([pki.ca, pki.ca]);

    const wrong = device(server.url, { allowHttp: false, ca: pki.otherCa });
    const error = await rejection(wrong.api.authorize());
    expect(error.code).toBe('network');
    expect(error.message).toMatch(/^POST \/api\/devices\/v1\/authentication\/auth_requests: /);
    expect(wrong.api.isAuthorized).toBe(false);

    const none = device(server.url, { allowHttp: false });
    expect((await rejection(none.api.authorize())).code).toBe('network');
    expect(server.received.filter((r) => r.path === AUTH)).toHaveLength(1);
  });
});

describe('exchange deadlines', () => {
  /** An Http whose auth answers at once and whose other answers trickle one byte per 2 s of the scheduler's clock, forever. */
  function tricklingHttp(scheduler: ReturnType<typeof virtualScheduler>) {
    let reads = 0;
    const requests: string[] = [];
    const http = {
      async request(request: { method: string; url: string }) {
        requests.push(`${request.method} ${new URL(request.url).pathname}`);
        const auth = request.url.endsWith(AUTH);
        let sent = false;
        return {
          status: 200,
          headers: new Map([['content-type', auth ? 'application/jwt' : 'application/json']]),
          async read() {
            if (auth) {
              if (sent) return undefined;
              sent = true;
              return utf8('header.payload.signature');
            }
            if (++reads > 100_000) throw new Error('test: still reading after 100000 trickled bytes');
            await scheduler.sleep(2000);
            return utf8(' ');
          },
          close() {},
        };
      },
    };
    return { http, requests, reads: () => reads };
  }

  it('a server that trickles its answer (one byte every 2 s) fails the attempt at the deadline, not never', async () => {
    const scheduler = virtualScheduler();
    const trickle = tricklingHttp(scheduler);
    const api = createDeviceApi({ http: trickle.http, scheduler, system: testSystem(), keyValue: memoryKeyValue(), serverUrl: 'https://127.0.0.1:9', identity: IDENTITY });
    const error = await rejection(api.checkUpdate(STATE));
    expect(error.code).toBe('network');
    expect(error.message).toMatch(/^POST \/api\/devices\/v2\/deployments\/device\/deployments\/next: deadline passed \(\d+ bytes in \d+ s; \d+ s allowed for \d+ bytes expected\)/);
    // The floor (60 s) plus the answer's 16 KiB at 512 B/s: about 92 s of trickle, not forever.
    expect(scheduler.now()).toBeLessThan(200_000);
  });
});
