// The device API (../shared/specs/mender/*-devices-v1.yaml, research/mender-protocol.md §2):
// authentication, deployments next/status/log, the pre-signed artifact download, inventory and
// device configuration.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { ServerContext } from './server-context.ts';
import type { DeviceRecord, DeviceDeploymentStatus, InventoryAttribute, LogMessage, NextRequest } from './model.ts';
import { DEVICE_REPORTED_STATUSES } from './model.ts';
import { HttpError, jsonBody, nowIso, type Reply, type RequestContext, type Route } from './http-kit.ts';
import { isObject } from '../../base/json.ts';
import { canonicalJson, issueDeviceJwt, parseDevicePublicKey, verifyAuthSignature, verifyDeviceJwt } from './device-auth.ts';

const DEPLOYMENTS = '/api/devices/v1/deployments/device/deployments';
export const DOWNLOAD_PREFIX = '/download/artifacts/';
/** DefaultUpdateDownloadLinkExpire in Mender's deployments service. */
const LINK_TTL_SEC = 24 * 3600;
/** Download chunk: 64 KiB, or ~1/10 s worth of bytes when throttled. */
const DOWNLOAD_CHUNK_BYTES = 64 * 1024;

/** Mender's deployments request limit; it bounds every authenticated device body. */
const DEVICE_BODY_LIMIT_BYTES = 1024 * 1024;
/**
 * Auth requests come from anyone: id_data, a public key (an RSA 4096 PEM is ~800 bytes) and a
 * tenant token fit easily; a stranger's megabyte is refused after this much.
 */
const AUTH_BODY_LIMIT_BYTES = 64 * 1024;

export function deviceRoutes(ctx: ServerContext): Route[] {
  // The guard checks the token before the body is read; the handler looks the device up again
  // after the body arrived, since a concurrent request may have changed the record meanwhile.
  const authenticated = (method: string, template: string, handler: (rc: RequestContext, device: DeviceRecord) => Reply, bodyLimitBytes?: number): Route => ({
    method,
    template,
    guard: (rc) => void authenticate(ctx, rc),
    handler: (rc) => handler(rc, authenticate(ctx, rc)),
    ...(bodyLimitBytes !== undefined ? { bodyLimitBytes } : {}),
  });
  const json = DEVICE_BODY_LIMIT_BYTES;
  return [
    { method: 'POST', template: '/api/devices/v1/authentication/auth_requests', handler: (rc) => authRequest(ctx, rc), bodyLimitBytes: AUTH_BODY_LIMIT_BYTES },
    {
      method: 'POST',
      template: '/api/devices/v2/deployments/device/deployments/next',
      guard: (rc) => {
        // Open-source Mender has no v2 device route: 404 (before auth, as an unknown route).
        if (!ctx.options.v2Next) throw new HttpError(404, 'no such endpoint: /api/devices/v2/deployments/device/deployments/next');
        authenticate(ctx, rc);
      },
      handler: (rc) => next(ctx, authenticate(ctx, rc), nextRequestV2(jsonBody(rc))),
      bodyLimitBytes: json,
    },
    authenticated('POST', `${DEPLOYMENTS}/next`, (rc, device) => next(ctx, device, nextRequestPost(jsonBody(rc))), json),
    authenticated('GET', `${DEPLOYMENTS}/next`, (rc, device) => next(ctx, device, nextRequestGet(rc.url))),
    authenticated('PUT', `${DEPLOYMENTS}/:id/status`, (rc, device) => status(ctx, rc, device), json),
    authenticated('PUT', `${DEPLOYMENTS}/:id/log`, (rc, device) => log(ctx, rc, device), json),
    authenticated('PUT', '/api/devices/v1/inventory/device/attributes', (rc, device) => inventory(ctx, rc, device, 'replace'), json),
    authenticated('PATCH', '/api/devices/v1/inventory/device/attributes', (rc, device) => inventory(ctx, rc, device, 'upsert'), json),
    authenticated('GET', '/api/devices/v1/deviceconfig/configuration', (_rc, device) => getConfiguration(device)),
    authenticated('PUT', '/api/devices/v1/deviceconfig/configuration', (rc, device) => putConfiguration(ctx, rc, device), json),
    { method: 'GET', template: `${DOWNLOAD_PREFIX}:file`, handler: (rc) => download(ctx, rc) },
  ];
}

// ---- authentication ----

function authRequest(ctx: ServerContext, rc: RequestContext): Reply {
  const body = jsonBody(rc);
  if (!isObject(body)) throw new HttpError(400, 'auth request: expected a JSON object');
  const { id_data: idData, pubkey, tenant_token: tenantToken } = body;
  if (typeof idData !== 'string' || idData === '') throw new HttpError(400, 'auth request: "id_data" must be a non-empty string');
  if (typeof pubkey !== 'string' || pubkey === '') throw new HttpError(400, 'auth request: "pubkey" must be a non-empty string');
  if (tenantToken !== undefined && typeof tenantToken !== 'string') throw new HttpError(400, 'auth request: "tenant_token" must be a string');
  let identity: unknown;
  try {
    identity = JSON.parse(idData);
  } catch {
    throw new HttpError(400, 'auth request: "id_data" is not JSON');
  }
  if (!isObject(identity)) throw new HttpError(400, 'auth request: "id_data" must hold a JSON object');
  const signature = rc.req.headers['x-men-signature'];
  if (typeof signature !== 'string' || signature === '') throw new HttpError(400, 'missing X-MEN-Signature header');
  let key;
  try {
    key = parseDevicePublicKey(pubkey);
  } catch (error) {
    throw new HttpError(400, `auth request: ${(error as Error).message}`);
  }
  if (!verifyAuthSignature(key, rc.body, signature)) throw new HttpError(401, 'signature verification failed');
  if (ctx.options.tenantToken !== undefined && tenantToken !== ctx.options.tenantToken) {
    throw new HttpError(401, 'tenant token verification failed');
  }
  // Keys compare by their SPKI bytes, not by PEM text (line breaks may differ).
  const keyId = key.export({ type: 'spki', format: 'der' }).toString('base64');
  const identityKey = canonicalJson(identity);
  const now = nowIso();
  let device = ctx.store.list('device').find((d) => d.identityKey === identityKey);
  const known = device !== undefined;
  if (device === undefined) {
    device = { id: randomUUID(), identity, identityKey, created: now, updated: now, authSets: [], inventory: [] };
  }
  let authSet = device.authSets.find((s) => spkiOf(s.pubkey) === keyId);
  if (authSet === undefined) {
    // Auto-accept is for identities never seen. A new key for a known identity may be the device
    // after a reset or someone claiming its identity: it waits, pending, for a person (as in
    // Mender), and the accepted key keeps working meanwhile.
    const status = ctx.options.autoAccept && !known ? 'accepted' : 'pending';
    authSet = { id: randomUUID(), pubkey, status, ts: now };
    device = { ...device, authSets: [...device.authSets, authSet], updated: now };
  }
  device = { ...device, checkIn: now };
  ctx.store.put('device', device);
  if (authSet.status !== 'accepted') throw new HttpError(401, `device ${device.id} is ${authSet.status === 'pending' ? 'pending: accept it first' : authSet.status}`);
  const token = issueDeviceJwt(ctx.jwtKey, device.id, authSet.id, ctx.options.jwtTtlSec, ctx.faults.tokenEpoch, ctx.options.tenantToken);
  return { status: 200, headers: { 'Content-Type': 'application/jwt' }, body: token };
}

function spkiOf(pem: string): string {
  return parseDevicePublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
}

/** The device behind the request's Bearer JWT; 401 when it is missing, invalid, expired or revoked. */
function authenticate(ctx: ServerContext, rc: RequestContext): DeviceRecord {
  const header = rc.req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match === null) throw new HttpError(401, 'missing Authorization: Bearer token');
  const claims = verifyDeviceJwt(ctx.jwtKey, match[1]!);
  if (typeof claims === 'string') throw new HttpError(401, claims);
  if (claims['ota-mcu.epoch'] < ctx.faults.tokenEpoch) throw new HttpError(401, 'token expired');
  const device = ctx.store.get('device', claims.sub);
  const authSet = device?.authSets.find((s) => s.id === claims['ota-mcu.auth_set']);
  if (device === undefined || authSet?.status !== 'accepted') throw new HttpError(401, 'token revoked');
  return device;
}

// ---- deployments ----

function nextRequestPost(body: unknown): NextRequest {
  // Open-source deployments binds InstalledDeviceDeployment; other top-level keys (the Go client
  // sends its provides flattened) are ignored, as Go's JSON decoder does.
  if (!isObject(body)) throw new HttpError(400, 'next: expected a JSON object');
  return validNextRequest(body.artifact_name, body.device_type, body.artifact_provides ?? {});
}

function nextRequestV2(body: unknown): NextRequest {
  if (!isObject(body) || !isObject(body.device_provides)) throw new HttpError(400, 'next: expected {"device_provides": {...}}');
  const { artifact_name, device_type, ...provides } = body.device_provides;
  return validNextRequest(artifact_name, device_type, provides);
}

function nextRequestGet(url: URL): NextRequest {
  return validNextRequest(url.searchParams.get('artifact_name') ?? undefined, url.searchParams.get('device_type') ?? undefined, {});
}

function validNextRequest(artifactName: unknown, deviceType: unknown, provides: unknown): NextRequest {
  for (const [field, value] of [['artifact_name', artifactName], ['device_type', deviceType]] as const) {
    if (typeof value !== 'string' || value.length < 1 || value.length > 4096) {
      throw new HttpError(400, `next: "${field}" must be a string of 1..4096 characters, got ${JSON.stringify(value)}`);
    }
  }
  if (!isObject(provides)) throw new HttpError(400, 'next: "artifact_provides" must be an object');
  for (const [k, v] of Object.entries(provides)) {
    if (typeof v !== 'string' || v.length < 1 || v.length > 4096) throw new HttpError(400, `next: provides "${k}" must be a string of 1..4096 characters`);
  }
  return { artifact_name: artifactName as string, device_type: deviceType as string, artifact_provides: provides as Record<string, string> };
}

function next(ctx: ServerContext, device: DeviceRecord, request: NextRequest): Reply {
  const outcome = ctx.deployments.next(device.id, request);
  if (outcome.kind === 'none') return { status: 204 };
  const expire = new Date(Date.now() + LINK_TTL_SEC * 1000).toISOString();
  return {
    status: 200,
    body: {
      id: outcome.deployment.id,
      artifact: {
        id: outcome.artifact.id,
        artifact_name: outcome.artifact.name,
        source: { uri: signedDownloadUri(ctx, outcome.artifact.id, expire), expire },
        device_types_compatible: outcome.artifact.deviceTypes,
      },
    },
  };
}

function status(ctx: ServerContext, rc: RequestContext, device: DeviceRecord): Reply {
  const body = jsonBody(rc);
  if (!isObject(body)) throw new HttpError(400, 'status: expected a JSON object');
  const { status: value, substate } = body;
  if (typeof value !== 'string' || !(DEVICE_REPORTED_STATUSES as readonly string[]).includes(value)) {
    throw new HttpError(400, `status: "status" must be one of ${DEVICE_REPORTED_STATUSES.join(', ')}; got ${JSON.stringify(value)}`);
  }
  if (substate !== undefined && (typeof substate !== 'string' || substate.length > 200)) {
    throw new HttpError(400, 'status: "substate" must be a string of at most 200 characters');
  }
  ctx.deployments.report(device.id, rc.params.id!, value as DeviceDeploymentStatus, substate as string | undefined);
  return { status: 204 };
}

function log(ctx: ServerContext, rc: RequestContext, device: DeviceRecord): Reply {
  const body = jsonBody(rc);
  if (!isObject(body) || !Array.isArray(body.messages) || body.messages.length === 0) {
    throw new HttpError(400, 'log: expected {"messages": [...]} with at least one message');
  }
  const messages: LogMessage[] = body.messages.map((m: unknown, i: number) => {
    if (!isObject(m)) throw new HttpError(400, `log: messages[${i}] must be an object`);
    for (const field of ['timestamp', 'level', 'message'] as const) {
      if (typeof m[field] !== 'string' || m[field] === '') throw new HttpError(400, `log: messages[${i}].${field} must be a non-empty string`);
    }
    if (Number.isNaN(Date.parse(m.timestamp as string))) throw new HttpError(400, `log: messages[${i}].timestamp is not an RFC 3339 time: ${JSON.stringify(m.timestamp)}`);
    return { timestamp: m.timestamp as string, level: m.level as string, message: m.message as string };
  });
  ctx.deployments.saveLog(device.id, rc.params.id!, messages);
  return { status: 204 };
}

// ---- artifact download: our stand-in for the pre-signed object-storage URL (no JWT) ----

function linkSignature(ctx: ServerContext, artifactId: string, expire: string): string {
  return createHmac('sha256', ctx.linkKey).update(`${artifactId}\n${expire}`).digest('hex');
}

function signedDownloadUri(ctx: ServerContext, artifactId: string, expire: string): string {
  const query = new URLSearchParams({ 'x-men-expire': expire, 'x-men-signature': linkSignature(ctx, artifactId, expire) });
  return `${ctx.url()}${DOWNLOAD_PREFIX}${artifactId}.mender?${query}`;
}

function download(ctx: ServerContext, rc: RequestContext): Reply {
  const id = rc.params.file!.replace(/\.mender$/, '');
  const expire = rc.url.searchParams.get('x-men-expire') ?? '';
  const given = Buffer.from(rc.url.searchParams.get('x-men-signature') ?? '', 'hex');
  const expected = Buffer.from(linkSignature(ctx, id, expire), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new HttpError(403, 'download link signature invalid');
  if (!(Date.parse(expire) > Date.now())) throw new HttpError(403, `download link expired at ${expire}`);
  const artifact = ctx.store.get('artifact', id);
  if (artifact === undefined) throw new HttpError(404, `no artifact ${id}`);
  const path = join(ctx.store.dataDir, 'artifacts', artifact.file);
  const total = statSync(path).size;
  let start = 0;
  let end = total - 1;
  let partial = false;
  const range = rc.req.headers.range;
  if (range !== undefined) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (m === null || (m[1] === '' && m[2] === '')) throw new HttpError(416, `unsupported Range ${JSON.stringify(range)}`);
    if (m[1] === '') {
      start = Math.max(0, total - Number(m[2])); // suffix range: the last N bytes
    } else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(end, Number(m[2]));
    }
    if (start >= total || start > end) {
      return { status: 416, headers: { 'Content-Range': `bytes */${total}` }, body: { error: `Range ${range} outside 0..${total - 1}`, request_id: rc.requestId } };
    }
    partial = true;
  }
  const length = end - start + 1;
  const headers: Record<string, string> = {
    'Content-Type': 'application/vnd.mender-artifact',
    'Content-Length': String(length),
    'Accept-Ranges': 'bytes',
    ...(partial ? { 'Content-Range': `bytes ${start}-${end}/${total}` } : {}),
  };
  return { status: partial ? 206 : 200, headers, stream: (res) => streamArtifact(ctx, res, path, start, end) };
}

async function streamArtifact(ctx: ServerContext, res: ServerResponse, path: string, start: number, end: number): Promise<void> {
  const cutAfter = ctx.faults.takeCut();
  const throttle = ctx.faults.throttle;
  const chunkBytes = throttle === undefined ? DOWNLOAD_CHUNK_BYTES : Math.max(512, Math.min(DOWNLOAD_CHUNK_BYTES, Math.floor(throttle / 10)));
  let offset = start;
  let sent = 0;
  const startedMs = Date.now();
  for await (const piece of createReadStream(path, { start, end, highWaterMark: chunkBytes }) as AsyncIterable<Buffer>) {
    if (res.destroyed) return;
    const chunk = ctx.faults.corrupt(piece, offset);
    const room = cutAfter === undefined ? chunk.length : Math.min(chunk.length, cutAfter - sent);
    if (throttle !== undefined) {
      // Pace by bytes: these bytes go out no earlier than (bytes so far) / rate after the start.
      const dueMs = startedMs + ((sent + room) / throttle) * 1000;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueMs - Date.now())));
    }
    if (room > 0) await writeAndFlush(res, chunk.subarray(0, room));
    sent += room;
    offset += chunk.length;
    if (cutAfter !== undefined && sent >= cutAfter) {
      res.socket?.destroy();
      return;
    }
  }
  res.end();
}

function writeAndFlush(res: ServerResponse, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => res.write(bytes, (error) => (error ? reject(error) : resolve())));
}

// ---- inventory ----

function inventory(ctx: ServerContext, rc: RequestContext, device: DeviceRecord, mode: 'replace' | 'upsert'): Reply {
  const body = jsonBody(rc);
  if (!Array.isArray(body)) throw new HttpError(400, 'inventory: expected a JSON array of attributes');
  const now = nowIso();
  const given: InventoryAttribute[] = body.map((a: unknown, i: number) => {
    if (!isObject(a)) throw new HttpError(400, `inventory: attribute ${i} must be an object`);
    if (typeof a.name !== 'string' || a.name.length < 1 || a.name.length > 1024) throw new HttpError(400, `inventory: attribute ${i}: "name" must be 1..1024 characters`);
    if (!isAttributeValue(a.value)) throw new HttpError(400, `inventory: attribute "${a.name}": value must be a string, a number or an array of only strings or only numbers`);
    if (a.description !== undefined && typeof a.description !== 'string') throw new HttpError(400, `inventory: attribute "${a.name}": "description" must be a string`);
    return { name: a.name, value: a.value, ...(a.description !== undefined ? { description: a.description as string } : {}), scope: 'inventory', timestamp: now };
  });
  const names = new Set(given.map((a) => a.name));
  const kept = mode === 'replace' ? [] : device.inventory.filter((a) => !names.has(a.name));
  ctx.store.put('device', { ...device, inventory: [...kept, ...given], inventoryUpdated: now });
  return { status: 200 };
}

function isAttributeValue(value: unknown): value is InventoryAttribute['value'] {
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return true;
  if (!Array.isArray(value)) return false;
  return value.every((v) => typeof v === 'string') || value.every((v) => typeof v === 'number' && Number.isFinite(v));
}

// ---- device configuration ----

function getConfiguration(device: DeviceRecord): Reply {
  if (device.configured === undefined) throw new HttpError(404, `no configuration for device ${device.id}`);
  return { status: 200, body: device.configured };
}

function putConfiguration(ctx: ServerContext, rc: RequestContext, device: DeviceRecord): Reply {
  const config = validConfiguration(jsonBody(rc));
  ctx.store.put('device', { ...device, reported: config, reportedTs: nowIso() });
  return { status: 204 };
}

/** deviceconfig's rule: a flat object, keys 1..4096 characters, string values up to 4096. */
export function validConfiguration(body: unknown): Record<string, string> {
  if (!isObject(body)) throw new HttpError(400, 'configuration: expected a JSON object of strings');
  for (const [k, v] of Object.entries(body)) {
    if (k.length < 1 || k.length > 4096) throw new HttpError(400, `configuration: key ${JSON.stringify(k.slice(0, 40))} must be 1..4096 characters`);
    if (typeof v !== 'string' || v.length > 4096) throw new HttpError(400, `configuration: "${k}" must be a string of at most 4096 characters`);
  }
  return body as Record<string, string>;
}
