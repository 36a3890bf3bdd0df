// The management subset: artifact upload/list (read and checked by the core reader), deployments
// (create for devices or all, list v1/v2, statistics, per-device statuses, abort), devauth lists.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { fixture } from '../vectors.ts';
import { call } from './http-client.ts';
import { M_ARTIFACTS, M_DEPLOYMENTS, M_DEVICES, TestDevice, createDeployment, multipartArtifact, testServer, uploadArtifact } from './harness.ts';

type Server = Awaited<ReturnType<typeof testServer>>;

describe('artifacts', () => {
  let server: Server;
  beforeAll(async () => {
    server = await testServer();
  });
  afterAll(() => server.stop());

  it('stores an upload (201 + Location) and lists Mender\'s artifact facts', async () => {
    const module = fixture('module-gzip-meta-depends-script.mender');
    const res = await uploadArtifact(server, module, { description: 'module fixture' });
    expect(res.status).toBe(201);
    const id = String(res.headers.location).split('/').pop()!;
    expect(res.headers.location).toBe(`${M_ARTIFACTS}/${id}`);
    const list = (await call(server, 'GET', M_ARTIFACTS)).json<any[]>();
    const a = list.find((x) => x.id === id);
    expect(a).toMatchObject({
      name: 'fx-module-1',
      description: 'module fixture',
      device_types_compatible: ['fx-device', 'fx-device-b'],
      info: { format: 'mender', version: 3 },
      signed: false,
      size: module.length,
      artifact_provides: { artifact_name: 'fx-module-1', artifact_group: 'fx-group' },
      artifact_depends: { artifact_name: ['fx-prev-1', 'fx-prev-2'], artifact_group: ['fx-dep-group'], device_type: ['fx-device', 'fx-device-b'] },
    });
    expect(a.updates[0].type_info).toEqual({ type: 'single-file' });
    const app = Buffer.alloc(6000);
    for (let i = 0; i < app.length; i++) app[i] = (13 * i + 5) % 253;
    expect(a.updates[0].files).toEqual([{ name: 'app.bin', size: 6000, checksum: createHash('sha256').update(app).digest('hex'), date: a.modified }]);
    expect((await call(server, 'GET', `${M_ARTIFACTS}/${id}`)).json().name).toBe('fx-module-1');
    expect((await call(server, 'GET', `${M_ARTIFACTS}?name=nothing`)).json()).toEqual([]);
  });

  it('reports a signed artifact as signed', async () => {
    const res = await uploadArtifact(server, fixture('rootfs-gzip-signed-ecdsa-p256.mender'));
    expect(res.status).toBe(201);
    const artifact = (await call(server, 'GET', String(res.headers.location))).json();
    expect(artifact.signed).toBe(true);
    expect(artifact.updates[0].type_info).toEqual({ type: 'rootfs-image' });
  });

  it('answers 409 for the same name and device type again', async () => {
    await uploadArtifact(server, fixture('rootfs-none-unsigned.mender'));
    const again = await uploadArtifact(server, fixture('rootfs-none-unsigned.mender'));
    expect(again.status).toBe(409);
    expect(again.json().error).toBe('Artifact not unique');
  });

  it('refuses broken uploads with 400 naming the problem', async () => {
    const corrupt = await uploadArtifact(server, fixture('rootfs-none-unsigned-CORRUPT-payload.mender'));
    expect(corrupt.status).toBe(400);
    expect(corrupt.json().error).toMatch(/rootfs\.ext4/);
    const lzma = await uploadArtifact(server, fixture('rootfs-lzma-unsigned.mender'));
    expect(lzma.status).toBe(400);
    expect(lzma.json().error).toMatch(/xz/);
    const { body, contentType } = multipartArtifact(fixture('rootfs-none-unsigned.mender'));
    const renamed = Buffer.from(body.toString('latin1').replace('name="artifact"', 'name="file"'), 'latin1');
    expect((await call(server, 'POST', M_ARTIFACTS, { body: renamed, headers: { 'Content-Type': contentType } })).status).toBe(400);
    expect((await call(server, 'POST', M_ARTIFACTS, { body: 'x', headers: { 'Content-Type': 'application/octet-stream' } })).status).toBe(400);
    const wrongSize = await uploadArtifact(server, fixture('bootstrap-empty-payload.mender'), { size: '12' });
    expect(wrongSize.status).toBe(400);
  });
});

describe('deployments', () => {
  let server: Server;
  const devices: Record<string, string> = {};
  beforeAll(async () => {
    server = await testServer({ autoAccept: false });
    await uploadArtifact(server, fixture('rootfs-none-unsigned.mender'));
    for (const name of ['a', 'b', 'c']) {
      const device = new TestDevice({ mac: `02:00:00:00:30:0${name.charCodeAt(0) - 96}` });
      await device.authorize(server);
      const [d] = (await call(server, 'GET', M_DEVICES)).json<{ id: string; identity_data: { mac: string }; auth_sets: { id: string }[] }[]>().filter((x) => x.identity_data.mac === device.identity.mac);
      devices[name] = d!.id;
      if (name !== 'c') await call(server, 'PUT', `${M_DEVICES}/${d!.id}/auth/${d!.auth_sets[0]!.id}/status`, { json: { status: 'accepted' } });
    }
  });
  afterAll(() => server.stop());

  it('lists devices by admission status', async () => {
    const accepted = (await call(server, 'GET', `${M_DEVICES}?status=accepted`)).json<{ id: string }[]>().map((d) => d.id);
    expect(accepted.sort()).toEqual([devices.a, devices.b].sort());
    expect((await call(server, 'GET', `${M_DEVICES}?status=pending`)).json<{ id: string }[]>().map((d) => d.id)).toEqual([devices.c]);
    expect((await call(server, 'GET', `${M_DEVICES}/nope`)).status).toBe(404);
  });

  it('creates a deployment for all accepted devices and shows it in v1, v2 and by id', async () => {
    const id = await createDeployment(server, { name: 'everyone', artifact_name: 'fx-rootfs-none', all_devices: true });
    const one = (await call(server, 'GET', `${M_DEPLOYMENTS}/${id}`)).json();
    expect(one).toMatchObject({ id, name: 'everyone', artifact_name: 'fx-rootfs-none', status: 'pending', device_count: 2, type: 'software' });
    expect(one.statistics.status.pending).toBe(2);
    const v1 = (await call(server, 'GET', M_DEPLOYMENTS)).json<{ id: string }[]>();
    const v2 = (await call(server, 'GET', '/api/management/v2/deployments/deployments')).json<{ id: string }[]>();
    expect(v1.map((d) => d.id)).toContain(id);
    expect(v2.map((d) => d.id)).toContain(id);
    expect((await call(server, 'GET', `${M_DEPLOYMENTS}/${id}/statistics`)).json().pending).toBe(0); // no device asked yet
    expect((await call(server, 'PUT', `${M_DEPLOYMENTS}/${id}/status`, { json: { status: 'aborted' } })).status).toBe(204);
    expect((await call(server, 'GET', `${M_DEPLOYMENTS}/${id}`)).json().status).toBe('finished');
    expect((await call(server, 'PUT', `${M_DEPLOYMENTS}/${id}/status`, { json: { status: 'aborted' } })).status).toBe(422);
    expect((await call(server, 'PUT', `${M_DEPLOYMENTS}/${id}/status`, { json: { status: 'paused' } })).status).toBe(400);
  });

  it('answers 422 for an unknown artifact, 400 without devices, 404 for unknown deployments', async () => {
    const noArtifact = await call(server, 'POST', M_DEPLOYMENTS, { json: { name: 'x', artifact_name: 'nope', devices: [devices.a] } });
    expect(noArtifact.status).toBe(422);
    expect((await call(server, 'POST', M_DEPLOYMENTS, { json: { name: 'x', artifact_name: 'fx-rootfs-none' } })).status).toBe(400);
    expect((await call(server, 'POST', M_DEPLOYMENTS, { json: { artifact_name: 'fx-rootfs-none', devices: [devices.a] } })).status).toBe(400);
    expect((await call(server, 'GET', `${M_DEPLOYMENTS}/nope`)).status).toBe(404);
    expect((await call(server, 'GET', `${M_DEPLOYMENTS}/nope/devices`)).status).toBe(404);
    expect((await call(server, 'PUT', `${M_DEPLOYMENTS}/nope/status`, { json: { status: 'aborted' } })).status).toBe(404);
    expect((await call(server, 'GET', `${M_DEPLOYMENTS}/nope/devices/${devices.a}/log`)).status).toBe(404);
  });
});
