// A subset of Mender's management API with its paths and shapes (deployments v1/v2, devauth v2,
// inventory v1, deviceconfig v1). The dev server needs no management token: any request is served,
// with or without `Authorization: Bearer …` (loopback only).
import { randomUUID } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerContext } from './server-context.ts';
import type { ArtifactRecord, AuthSetStatus, DeploymentRecord, DeviceDeploymentRecord, DeviceRecord } from './model.ts';
import { HttpError, jsonBody, nowIso, type Reply, type RequestContext, type Route } from './http-kit.ts';
import { isObject } from '../../base/json.ts';
import { PayloadTooLargeError, readArtifactFactsFrom } from './artifact-facts.ts';
import { fsyncDirectory } from './durable-file.ts';
import { validConfiguration } from './device-routes.ts';
import { receiveMultipart } from './multipart.ts';
import { escapeText } from './text-escape.ts';

const DEPLOYMENTS_V1 = '/api/management/v1/deployments';
const DEVAUTH_V2 = '/api/management/v2/devauth';

/** JSON bodies of the management API (deployments, auth set status, configuration). */
const JSON_BODY_LIMIT_BYTES = 1024 * 1024;

export function managementRoutes(ctx: ServerContext): Route[] {
  const json = JSON_BODY_LIMIT_BYTES;
  const uploads = { active: 0 };
  return [
    { method: 'POST', template: `${DEPLOYMENTS_V1}/artifacts`, handler: (rc) => uploadArtifact(ctx, rc, uploads), bodyLimitBytes: 'stream' },
    { method: 'GET', template: `${DEPLOYMENTS_V1}/artifacts`, handler: (rc) => listArtifacts(ctx, rc) },
    { method: 'GET', template: `${DEPLOYMENTS_V1}/artifacts/:id`, handler: (rc) => ({ status: 200, body: artifactJson(findArtifact(ctx, rc.params.id!)) }) },
    { method: 'POST', template: `${DEPLOYMENTS_V1}/deployments`, handler: (rc) => createDeployment(ctx, rc), bodyLimitBytes: json },
    { method: 'GET', template: `${DEPLOYMENTS_V1}/deployments`, handler: () => ({ status: 200, body: ctx.store.list('deployment').map((d) => deploymentJson(ctx, d)) }) },
    { method: 'GET', template: '/api/management/v2/deployments/deployments', handler: () => ({ status: 200, body: ctx.store.list('deployment').map((d) => deploymentJson(ctx, d)) }) },
    { method: 'GET', template: `${DEPLOYMENTS_V1}/deployments/:id`, handler: (rc) => ({ status: 200, body: deploymentJson(ctx, findDeployment(ctx, rc.params.id!)) }) },
    { method: 'PUT', template: `${DEPLOYMENTS_V1}/deployments/:deployment_id/status`, handler: (rc) => abortDeployment(ctx, rc), bodyLimitBytes: json },
    {
      method: 'GET',
      template: `${DEPLOYMENTS_V1}/deployments/:deployment_id/statistics`,
      handler: (rc) => ({ status: 200, body: statistics(ctx.deployments.deviceDeployments(findDeployment(ctx, rc.params.deployment_id!).id)) }),
    },
    {
      method: 'GET',
      template: `${DEPLOYMENTS_V1}/deployments/:deployment_id/devices`,
      handler: (rc) => ({ status: 200, body: ctx.deployments.deviceDeployments(findDeployment(ctx, rc.params.deployment_id!).id).map((dd) => deviceWithImage(ctx, dd)) }),
    },
    { method: 'GET', template: `${DEPLOYMENTS_V1}/deployments/:deployment_id/devices/:device_id/log`, handler: (rc) => deploymentLog(ctx, rc) },
    { method: 'GET', template: `${DEVAUTH_V2}/devices`, handler: (rc) => listDevauthDevices(ctx, rc) },
    { method: 'GET', template: `${DEVAUTH_V2}/devices/:id`, handler: (rc) => ({ status: 200, body: devauthDevice(findDevice(ctx, rc.params.id!)) }) },
    { method: 'PUT', template: `${DEVAUTH_V2}/devices/:id/auth/:aid/status`, handler: (rc) => setAuthStatus(ctx, rc), bodyLimitBytes: json },
    { method: 'GET', template: '/api/management/v1/inventory/devices', handler: () => ({ status: 200, body: ctx.store.list('device').map(inventoryDevice) }) },
    { method: 'GET', template: '/api/management/v1/inventory/devices/:id', handler: (rc) => ({ status: 200, body: inventoryDevice(findDevice(ctx, rc.params.id!)) }) },
    { method: 'PUT', template: '/api/management/v1/deviceconfig/configurations/device/:deviceId', handler: (rc) => setConfiguration(ctx, rc), bodyLimitBytes: json },
    { method: 'GET', template: '/api/management/v1/deviceconfig/configurations/device/:deviceId', handler: (rc) => getConfiguration(ctx, rc) },
  ];
}

function findDevice(ctx: ServerContext, id: string): DeviceRecord {
  const device = ctx.store.get('device', id);
  if (device === undefined) throw new HttpError(404, `no device ${id}`);
  return device;
}

function findDeployment(ctx: ServerContext, id: string): DeploymentRecord {
  const deployment = ctx.store.get('deployment', id);
  if (deployment === undefined) throw new HttpError(404, `no deployment ${id}`);
  return deployment;
}

function findArtifact(ctx: ServerContext, id: string): ArtifactRecord {
  const artifact = ctx.store.get('artifact', id);
  if (artifact === undefined) throw new HttpError(404, `no artifact ${id}`);
  return artifact;
}

// ---- artifacts ----

async function uploadArtifact(ctx: ServerContext, rc: RequestContext, uploads: { active: number }): Promise<Reply> {
  const { maxConcurrentUploads, maxUploadBytes, maxArtifactPayloadBytes } = ctx.options;
  if (uploads.active >= maxConcurrentUploads) {
    // Refused before a byte of the body is read (Node discards it): the client may retry.
    return {
      status: 429,
      headers: { 'Retry-After': '1' },
      body: { error: `too many artifact uploads at once (at most ${maxConcurrentUploads}); retry later`, request_id: rc.requestId },
    };
  }
  uploads.active++;
  const id = randomUUID();
  const artifacts = join(ctx.store.dataDir, 'artifacts');
  // Received under a temporary name, renamed into place once checked; removed on any failure.
  const temp = join(artifacts, `${id}.upload`);
  try {
    const upload = await receiveMultipart(rc.req.headers['content-type'], rc.req as AsyncIterable<Buffer>, 'artifact', temp, { maxBodyBytes: maxUploadBytes });
    rc.bodyBytes = upload.bodyBytes;
    const file = upload.file;
    if (file === undefined) throw new HttpError(400, 'upload: multipart field "artifact" is missing');
    const sizeField = upload.fields.get('size');
    if (sizeField !== undefined && Number(sizeField) !== file.size) {
      throw new HttpError(400, `upload: "size" says ${sizeField} bytes, the artifact has ${file.size}`);
    }
    let facts;
    try {
      facts = await readArtifactFactsFrom(createReadStream(temp, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>, { maxPayloadBytes: maxArtifactPayloadBytes });
    } catch (error) {
      if (error instanceof PayloadTooLargeError) throw new HttpError(413, `upload: ${error.message}`);
      throw new HttpError(400, `Cannot parse artifact file: ${(error as Error).message}`);
    }
    const final = join(artifacts, `${id}.mender`);
    await rename(temp, final);
    fsyncDirectory(artifacts);
    // Checked after the last await, so that two uploads of one name cannot both pass it.
    const clash = ctx.store.list('artifact').find((a) => a.name === facts.name && a.deviceTypes.some((t) => facts.deviceTypes.includes(t)));
    if (clash !== undefined) {
      rmSync(final, { force: true });
      return {
        status: 409,
        body: { error: 'Artifact not unique', request_id: rc.requestId, metadata: { artifact_name: facts.name, conflicting_artifact_id: clash.id } },
      };
    }
    const record: ArtifactRecord = {
      id,
      name: facts.name,
      description: upload.fields.get('description') ?? '',
      deviceTypes: facts.deviceTypes,
      provides: facts.provides,
      depends: facts.depends,
      payloads: facts.payloads,
      signed: facts.signed,
      version: facts.version,
      size: file.size,
      sha256: file.sha256,
      modified: nowIso(),
      file: `${id}.mender`,
    };
    ctx.store.put('artifact', record);
    ctx.deployments.attachArtifact(record);
    return { status: 201, headers: { Location: `${DEPLOYMENTS_V1}/artifacts/${id}` } };
  } finally {
    uploads.active--;
    await rm(temp, { force: true });
  }
}

function listArtifacts(ctx: ServerContext, rc: RequestContext): Reply {
  const name = rc.url.searchParams.get('name');
  const deviceType = rc.url.searchParams.get('device_type');
  const artifacts = ctx.store
    .list('artifact')
    .filter((a) => (name === null || a.name === name) && (deviceType === null || a.deviceTypes.includes(deviceType)));
  return { status: 200, body: artifacts.map(artifactJson) };
}

function artifactJson(a: ArtifactRecord): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    device_types_compatible: a.deviceTypes,
    info: { format: 'mender', version: a.version },
    signed: a.signed,
    updates: a.payloads.map((p) => ({
      type_info: p.type === null ? {} : { type: p.type },
      files: p.files.map((f) => ({ name: f.name, checksum: f.checksum, size: f.size, date: a.modified })),
      meta_data: p.metaData === null ? [] : [p.metaData],
    })),
    artifact_provides: a.provides,
    artifact_depends: Object.fromEntries(
      Object.entries({ ...a.depends, device_type: a.deviceTypes }).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]),
    ),
    clears_artifact_provides: a.payloads.flatMap((p) => p.clearsProvides),
    size: a.size,
    modified: a.modified,
  };
}

// ---- deployments ----

function createDeployment(ctx: ServerContext, rc: RequestContext): Reply {
  const body = jsonBody(rc);
  if (!isObject(body)) throw new HttpError(400, 'deployment: expected a JSON object');
  const { name, artifact_name: artifactName, devices, all_devices: allDevices, force_installation: force } = body;
  if (typeof name !== 'string' || name === '') throw new HttpError(400, 'deployment: "name" must be a non-empty string');
  if (typeof artifactName !== 'string' || artifactName === '') throw new HttpError(400, 'deployment: "artifact_name" must be a non-empty string');
  if (devices !== undefined && (!Array.isArray(devices) || !devices.every((d) => typeof d === 'string' && d !== ''))) {
    throw new HttpError(400, 'deployment: "devices" must be an array of device ids');
  }
  if (allDevices !== undefined && typeof allDevices !== 'boolean') throw new HttpError(400, 'deployment: "all_devices" must be a boolean');
  if (force !== undefined && typeof force !== 'boolean') throw new HttpError(400, 'deployment: "force_installation" must be a boolean');
  if (allDevices === true && devices !== undefined && devices.length > 0) throw new HttpError(400, 'deployment: give "devices" or "all_devices", not both');
  const deployment = ctx.deployments.create({
    name,
    artifactName,
    devices: (devices as string[] | undefined) ?? [],
    allDevices: allDevices === true,
    forceInstallation: force === true,
  });
  return { status: 201, headers: { Location: `${DEPLOYMENTS_V1}/deployments/${deployment.id}` } };
}

function abortDeployment(ctx: ServerContext, rc: RequestContext): Reply {
  const body = jsonBody(rc);
  if (!isObject(body) || body.status !== 'aborted') throw new HttpError(400, `deployment status: expected {"status":"aborted"}`);
  ctx.deployments.abort(rc.params.deployment_id!);
  return { status: 204 };
}

const STATISTICS_KEYS = [
  'success', 'pending', 'downloading', 'rebooting', 'installing', 'failure', 'noartifact', 'already-installed', 'aborted',
  'pause_before_installing', 'pause_before_rebooting', 'pause_before_committing',
] as const;

function statistics(dds: DeviceDeploymentRecord[]): Record<string, number> {
  const stats = Object.fromEntries(STATISTICS_KEYS.map((k) => [k, 0])) as Record<string, number>;
  for (const dd of dds) if (dd.status in stats) stats[dd.status]!++;
  return stats;
}

function deploymentJson(ctx: ServerContext, d: DeploymentRecord): Record<string, unknown> {
  const dds = ctx.deployments.deviceDeployments(d.id);
  const stats = statistics(dds);
  // Devices that have not asked yet have no device deployment; they count as pending.
  stats.pending! += d.devices.length - dds.length;
  return {
    id: d.id,
    name: d.name,
    artifact_name: d.artifactName,
    created: d.created,
    ...(d.finished !== undefined ? { finished: d.finished } : {}),
    status: ctx.deployments.statusOf(d),
    device_count: d.devices.length,
    artifacts: d.artifacts,
    type: 'software',
    statistics: { status: stats, total_size: d.artifacts.reduce((sum, id) => sum + (ctx.store.get('artifact', id)?.size ?? 0), 0) },
  };
}

function deviceWithImage(ctx: ServerContext, dd: DeviceDeploymentRecord): Record<string, unknown> {
  const artifact = dd.artifactId === undefined ? undefined : ctx.store.get('artifact', dd.artifactId);
  return {
    id: dd.deviceId,
    status: dd.status,
    created: dd.created,
    ...(dd.started !== undefined ? { started: dd.started } : {}),
    ...(dd.finished !== undefined ? { finished: dd.finished } : {}),
    ...(dd.deviceType !== undefined ? { device_type: dd.deviceType } : {}),
    log: dd.log !== undefined,
    ...(dd.substate !== undefined ? { substate: dd.substate } : {}),
    ...(artifact !== undefined
      ? {
          image: {
            id: artifact.id,
            meta: { description: artifact.description },
            meta_artifact: artifactJson(artifact),
            size: artifact.size,
            modified: artifact.modified,
          },
        }
      : {}),
  };
}

function deploymentLog(ctx: ServerContext, rc: RequestContext): Reply {
  const dd = ctx.store.get('device-deployment', `${rc.params.deployment_id}/${rc.params.device_id}`);
  if (dd?.log === undefined) throw new HttpError(404, `no log for device ${rc.params.device_id} in deployment ${rc.params.deployment_id}`);
  // Mender's DeploymentLog text: one "<time> <level>: <message>" line per message. The fields come
  // from the device: escaped, so a message with a newline stays one line and cannot forge others.
  const text = dd.log.map((m) => `${escapeText(m.timestamp)} ${escapeText(m.level)}: ${escapeText(m.message)}\n`).join('');
  return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: text };
}

// ---- devauth ----

function deviceStatus(device: DeviceRecord): 'pending' | 'accepted' | 'rejected' | 'preauthorized' | 'noauth' {
  const statuses = device.authSets.map((s) => s.status);
  if (statuses.includes('accepted')) return 'accepted';
  if (statuses.includes('preauthorized')) return 'preauthorized';
  if (statuses.includes('pending')) return 'pending';
  return statuses.length === 0 ? 'noauth' : 'rejected';
}

function devauthDevice(device: DeviceRecord): Record<string, unknown> {
  return {
    id: device.id,
    identity_data: device.identity,
    status: deviceStatus(device),
    created_ts: device.created,
    updated_ts: device.updated,
    ...(device.checkIn !== undefined ? { check_in_time: device.checkIn } : {}),
    auth_sets: device.authSets.map((s) => ({ id: s.id, device_id: device.id, identity_data: device.identity, pubkey: s.pubkey, status: s.status, ts: s.ts })),
    decommissioning: false,
  };
}

function listDevauthDevices(ctx: ServerContext, rc: RequestContext): Reply {
  const status = rc.url.searchParams.get('status');
  const ids = rc.url.searchParams.getAll('id');
  const devices = ctx.store
    .list('device')
    .filter((d) => (status === null || deviceStatus(d) === status) && (ids.length === 0 || ids.includes(d.id)));
  return { status: 200, body: devices.map(devauthDevice) };
}

function setAuthStatus(ctx: ServerContext, rc: RequestContext): Reply {
  const body = jsonBody(rc);
  const given = isObject(body) ? body.status : undefined;
  if (given !== 'accepted' && given !== 'rejected' && given !== 'pending') {
    throw new HttpError(400, `auth set status: expected "accepted", "rejected" or "pending", got ${JSON.stringify(given)}`);
  }
  const status: AuthSetStatus = given;
  const device = findDevice(ctx, rc.params.id!);
  if (!device.authSets.some((s) => s.id === rc.params.aid)) throw new HttpError(404, `device ${device.id} has no auth set ${rc.params.aid}`);
  // One accepted key per device: accepting an auth set rejects the previously accepted one.
  const authSets = device.authSets.map((s) =>
    s.id === rc.params.aid ? { ...s, status, ts: nowIso() } : status === 'accepted' && s.status === 'accepted' ? { ...s, status: 'rejected' as const } : s,
  );
  ctx.store.put('device', { ...device, authSets, updated: nowIso() });
  return { status: 204 };
}

// ---- inventory ----

function inventoryDevice(device: DeviceRecord): Record<string, unknown> {
  const identity = Object.entries(device.identity).map(([name, value]) => ({ name, value: inventoryValue(value), scope: 'identity' }));
  return {
    id: device.id,
    updated_ts: device.inventoryUpdated ?? device.updated,
    attributes: [
      ...identity,
      { name: 'status', value: deviceStatus(device), scope: 'identity' },
      { name: 'created_ts', value: device.created, scope: 'system' },
      { name: 'updated_ts', value: device.inventoryUpdated ?? device.updated, scope: 'system' },
      ...device.inventory.map((a) => ({ name: a.name, value: a.value, ...(a.description !== undefined ? { description: a.description } : {}), scope: a.scope, timestamp: a.timestamp })),
    ],
  };
}

function inventoryValue(value: unknown): unknown {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : JSON.stringify(value);
}

// ---- deviceconfig ----

function setConfiguration(ctx: ServerContext, rc: RequestContext): Reply {
  const config = validConfiguration(jsonBody(rc));
  const device = findDevice(ctx, rc.params.deviceId!);
  ctx.store.put('device', { ...device, configured: config, configuredTs: nowIso() });
  return { status: 204 };
}

function getConfiguration(ctx: ServerContext, rc: RequestContext): Reply {
  const device = findDevice(ctx, rc.params.deviceId!);
  if (device.configured === undefined && device.reported === undefined) throw new HttpError(404, `no configuration for device ${device.id}`);
  return {
    status: 200,
    body: {
      id: device.id,
      configured: device.configured ?? {},
      reported: device.reported ?? {},
      ...(device.reportedTs !== undefined ? { reported_ts: device.reportedTs } : {}),
      ...(device.configuredTs !== undefined ? { updated_ts: device.configuredTs } : {}),
    },
  };
}
