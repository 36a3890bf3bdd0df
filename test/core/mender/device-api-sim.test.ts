// The device API against the simulator's Mender-compatible server (simulator/server), over the
// simulated board's Http (simulator/board/node-http.ts).
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServerOptions } from '../../../simulator/server/server.ts';
import { createDeviceApi, type DeviceApiOptions, type DeviceState } from '../../../core/mender/device-api.ts';
import { OtaError } from '../../../base/errors.ts';
import { fixture } from '../../vectors.ts';
import { NodeHttp } from '../../../simulator/board/node-http.ts';
import { memoryKeyValue, recording, testSystem, virtualScheduler } from './harness.ts';

const MANAGEMENT = '/api/management/v1/deployments';
const ARTIFACT = fixture('rootfs-none-unsigned.mender');
const STATE: DeviceState = { artifactName: 'fw-1.0.0', deviceType: 'fx-device', provides: { 'rootfs-image.version': 'fw-1.0.0' } };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function server(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ota-sim-server-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const running = await startServer({ dataDir, http: true, autoAccept: true, port: 0, ...options });
  cleanups.push(() => running.close());
  return running;
}

function device(running: RunningServer, extra: Partial<DeviceApiOptions> = {}) {
  const http = recording(new NodeHttp()); // the simulated board's Http
  const scheduler = virtualScheduler();
  const keyValue = memoryKeyValue();
  const api = createDeviceApi({
    http, scheduler, keyValue, system: testSystem(), serverUrl: running.url, allowHttp: running.url.startsWith('http:'),
    ca: running.caPem, identity: { mac: '02:00:00:00:00:01' }, ...extra,
  });
  return { api, http, scheduler, keyValue };
}

async function manage(running: RunningServer, method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(running.url + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

/** Uploads the fixture artifact and deploys it to the (one) known device; returns the deployment id. */
async function deploy(running: RunningServer): Promise<{ id: string; artifactName: string }> {
  const form = new FormData();
  form.append('artifact', new Blob([ARTIFACT]), 'a.mender');
  const upload = await fetch(`${running.url}${MANAGEMENT}/artifacts`, { method: 'POST', body: form });
  expect(upload.status).toBe(201);
  const artifacts = (await (await manage(running, 'GET', `${MANAGEMENT}/artifacts`)).json()) as { name: string }[];
  const artifactName = artifacts[0]!.name;
  const deviceId = running.store.list('device')[0]!.id;
  const created = await manage(running, 'POST', `${MANAGEMENT}/deployments`, { name: 'rollout', artifact_name: artifactName, devices: [deviceId] });
  return { id: created.headers.get('location')!.split('/').pop()!, artifactName };
}

async function deviceStatuses(running: RunningServer, deploymentId: string): Promise<string[]> {
  const devices = (await (await manage(running, 'GET', `${MANAGEMENT}/deployments/${deploymentId}/devices`)).json()) as { status: string }[];
  return devices.map((d) => d.status);
}

async function readAll(response: { read(): Promise<Uint8Array | undefined>; close(): unknown }): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let chunk = await response.read(); chunk !== undefined; chunk = await response.read()) parts.push(chunk);
  await response.close();
  return new Uint8Array(Buffer.concat(parts));
}

describe('DeviceApi against the simulator server', () => {
  it('a whole deployment: authorize, inventory, next (v2 404 → v1 POST), download with resume, statuses, success', async () => {
    const running = await server();
    const { api } = device(running);
    await api.patchInventory({ device_type: STATE.deviceType, artifact_name: STATE.artifactName, mender_client_version: 'ota-mcu 0.1.0' });
    expect(await api.checkUpdate(STATE)).toBeUndefined();

    const { id, artifactName } = await deploy(running);
    const instructions = (await api.checkUpdate(STATE))!;
    expect(instructions).toMatchObject({ id, artifactName, deviceTypes: ['fx-device'] });
    await api.reportStatus(id, 'downloading');

    // Cut the first download half-way, resume from where it stopped with Range.
    running.faults.cutDownload({ afterBytes: 5000 });
    const first = await api.download(instructions.uri);
    const head: Uint8Array[] = [];
    let got = 0;
    const cut = await (async () => {
      try {
        for (let chunk = await first.read(); chunk !== undefined; chunk = await first.read()) {
          head.push(chunk);
          got += chunk.length;
        }
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    await first.close();
    expect(cut).toBeInstanceOf(OtaError);
    expect((cut as OtaError).code).toBe('network');
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(ARTIFACT.length);
    const rest = await api.download(instructions.uri, { start: got, total: ARTIFACT.length });
    expect(rest.status).toBe(206);
    const whole = Buffer.concat([...head, await readAll(rest)]);
    expect(whole.equals(Buffer.from(ARTIFACT))).toBe(true);

    await api.reportStatus(id, 'installing');
    await api.reportStatus(id, 'rebooting');
    await api.reportStatus(id, 'success');
    expect(await deviceStatuses(running, id)).toEqual(['success']);
    // After success, the device reports its new artifact and gets nothing to do.
    expect(await api.checkUpdate({ ...STATE, artifactName })).toBeUndefined();

    const calls = running.exchanges.map((e) => `${e.method} ${e.url.replace(/\?.*$/, '')} ${e.status}`);
    expect(calls.filter((c) => c.includes('/next'))).toEqual([
      'POST /api/devices/v2/deployments/device/deployments/next 404',
      'POST /api/devices/v1/deployments/device/deployments/next 204',
      'POST /api/devices/v1/deployments/device/deployments/next 200',
      'POST /api/devices/v1/deployments/device/deployments/next 204',
    ]);
    expect(calls.filter((c) => c.startsWith('POST /api/devices/v1/authentication'))).toEqual(['POST /api/devices/v1/authentication/auth_requests 200']);
  });

  it('uses v2 next when the server offers it', async () => {
    const running = await server({ v2Next: true });
    const { api } = device(running);
    expect(await api.checkUpdate(STATE)).toBeUndefined();
    expect(running.exchanges.filter((e) => e.url.includes('/next')).map((e) => `${e.url} ${e.status}`)).toEqual([
      '/api/devices/v2/deployments/device/deployments/next 204',
    ]);
  });

  it('pending until accepted: unauthorized, then authorized once the device is accepted', async () => {
    const running = await server({ autoAccept: false });
    const { api } = device(running);
    await expect(api.authorize()).rejects.toMatchObject({ code: 'unauthorized' });
    const record = running.store.list('device')[0]!;
    const authSet = record.authSets[0]!;
    await manage(running, 'PUT', `/api/management/v2/devauth/devices/${record.id}/auth/${authSet.id}/status`, { status: 'accepted' });
    await api.authorize();
    expect(api.isAuthorized).toBe(true);
  });

  it('expired tokens mid-session: authorizes again and the call goes through', async () => {
    const running = await server();
    const { api } = device(running);
    await api.authorize();
    running.faults.expireTokens();
    await api.putConfiguration({ timezone: 'UTC' });
    const tail = running.exchanges.slice(-3).map((e) => `${e.method} ${e.url} ${e.status}`);
    expect(tail).toEqual([
      'PUT /api/devices/v1/deviceconfig/configuration 401',
      'POST /api/devices/v1/authentication/auth_requests 200',
      'PUT /api/devices/v1/deviceconfig/configuration 204',
    ]);
  });

  it('429 and 5xx on status are waited out in virtual time; an abort is deployment-aborted; the log is stored', async () => {
    const running = await server();
    const { api, scheduler } = device(running);
    await api.authorize();
    const { id } = await deploy(running);
    expect((await api.checkUpdate(STATE))?.id).toBe(id);
    running.faults.failRequests({ path: '/status', status: 429, retryAfterSec: 9 });
    running.faults.failRequests({ path: '/status', status: 503, count: 2 });
    await api.reportStatus(id, 'downloading', 'downloading 10%');
    expect(scheduler.sleeps).toEqual([9000, 60_000, 60_000]);
    expect(await deviceStatuses(running, id)).toEqual(['downloading']);

    await manage(running, 'PUT', `${MANAGEMENT}/deployments/${id}/status`, { status: 'aborted' });
    await expect(api.reportStatus(id, 'installing')).rejects.toMatchObject({ code: 'deployment-aborted' });
  });

  it('failure with a deployment log', async () => {
    const running = await server();
    const { api } = device(running);
    await api.authorize();
    const { id } = await deploy(running);
    expect((await api.checkUpdate(STATE))?.id).toBe(id);
    await api.reportStatus(id, 'failure');
    await api.uploadLog(id, [{ timestamp: '2026-11-21T20:50:20Z', level: 'error', message: 'checksum mismatch' }]);
    const deviceId = running.store.list('device')[0]!.id;
    const log = await (await manage(running, 'GET', `${MANAGEMENT}/deployments/${id}/devices/${deviceId}/log`)).text();
    expect(log).toContain('checksum mismatch');
    expect(await deviceStatuses(running, id)).toEqual(['failure']);
  });

  it('configuration: {} until set, then the desired values', async () => {
    const running = await server();
    const { api } = device(running);
    expect(await api.getConfiguration()).toEqual({});
    const deviceId = running.store.list('device')[0]!.id;
    await manage(running, 'PUT', `/api/management/v1/deviceconfig/configurations/device/${deviceId}`, { timezone: 'CET' });
    expect(await api.getConfiguration()).toEqual({ timezone: 'CET' });
  });

  it('HTTPS with the server CA is accepted; without it the server is refused', async () => {
    const running = await server({ http: false });
    expect(running.url.startsWith('https://')).toBe(true);
    expect(running.caPem).toContain('BEGIN CERTIFICATE');
    const trusted = device(running);
    await trusted.api.authorize();
    expect(trusted.http.sent.every((r) => r.tls?.ca === running.caPem)).toBe(true);
    const untrusted = device(running, { ca: undefined });
    await expect(untrusted.api.authorize()).rejects.toMatchObject({ code: 'network' });
  });
});
