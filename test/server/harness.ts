// Shared set-up for server tests: a server in a temp dir, test devices with RSA/ECDSA/Ed25519 keys,
// artifact upload (multipart, as the Mender UI sends it) and deployment creation.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServer, type RunningServer, type ServerOptions } from '../../simulator/server/server.ts';
import { call, type TestResponse } from './http-client.ts';
import { expectExchangesFollowSpec } from './openapi.ts';

export const AUTH = '/api/devices/v1/authentication/auth_requests';
export const NEXT = '/api/devices/v1/deployments/device/deployments/next';
export const DEPLOYMENTS = '/api/devices/v1/deployments/device/deployments';
export const M_DEPLOYMENTS = '/api/management/v1/deployments/deployments';
export const M_ARTIFACTS = '/api/management/v1/deployments/artifacts';
export const M_DEVICES = '/api/management/v2/devauth/devices';

export function tempDir(prefix = 'ota-mcu-server-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A server in a fresh temp dir; `stop()` checks every exchange against the OpenAPI, closes and cleans up. */
export async function testServer(options: Partial<ServerOptions> = {}): Promise<RunningServer & { dataDir: string; stop(): Promise<void> }> {
  const dir = options.dataDir === undefined ? tempDir() : undefined;
  const server = await startServer({ http: true, autoAccept: true, ...options, dataDir: options.dataDir ?? dir!.path });
  return Object.assign(server, {
    dataDir: options.dataDir ?? dir!.path,
    async stop() {
      await server.close();
      dir?.remove();
      expectExchangesFollowSpec(server.exchanges);
    },
  });
}

export type KeyType = 'rsa' | 'ecdsa' | 'ed25519';

export class TestDevice {
  readonly privateKey: KeyObject;
  readonly pubkeyPem: string;
  token = '';

  constructor(
    readonly identity: Record<string, string>,
    readonly keyType: KeyType = 'ed25519',
  ) {
    const pair =
      keyType === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : keyType === 'ecdsa'
          ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
          : generateKeyPairSync('ed25519');
    this.privateKey = pair.privateKey;
    this.pubkeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  /** The auth body exactly as the Go client writes it (json.Encoder: trailing newline). */
  authBody(tenantToken = ''): string {
    return JSON.stringify({ id_data: JSON.stringify(this.identity), tenant_token: tenantToken, pubkey: this.pubkeyPem }) + '\n';
  }

  signature(body: string | Buffer): string {
    const data = Buffer.from(body);
    const sig =
      this.keyType === 'ed25519'
        ? sign(null, data, this.privateKey)
        : this.keyType === 'ecdsa'
          ? sign('sha256', data, { key: this.privateKey, dsaEncoding: 'der' })
          : sign('sha256', data, this.privateKey);
    return sig.toString('base64');
  }

  async authorize(server: { url: string; caPem?: string }, tenantToken?: string): Promise<TestResponse> {
    const body = this.authBody(tenantToken);
    const res = await call(server, 'POST', AUTH, { body, headers: { 'Content-Type': 'application/json', 'X-MEN-Signature': this.signature(body) } });
    if (res.status === 200) this.token = res.text();
    return res;
  }

  /** POST v1 next the way the Go client 3.4 sends it. */
  next(server: { url: string; caPem?: string }, artifactName: string, deviceType: string, provides: Record<string, string> = {}): Promise<TestResponse> {
    return call(server, 'POST', NEXT, { token: this.token, json: { artifact_name: artifactName, device_type: deviceType, ...(Object.keys(provides).length > 0 ? { artifact_provides: provides } : {}) } });
  }

  report(server: { url: string; caPem?: string }, deploymentId: string, status: string, substate?: string): Promise<TestResponse> {
    return call(server, 'PUT', `${DEPLOYMENTS}/${deploymentId}/status`, { token: this.token, json: { status, ...(substate !== undefined ? { substate } : {}) } });
  }
}

export function multipartArtifact(artifact: Uint8Array, fields: Record<string, string> = {}): { body: Buffer; contentType: string } {
  const boundary = `----ota-mcu-${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="artifact.mender"\r\nContent-Type: application/vnd.mender-artifact\r\n\r\n`));
  parts.push(Buffer.from(artifact), Buffer.from(`\r\n--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

export async function uploadArtifact(server: { url: string; caPem?: string }, artifact: Uint8Array, fields: Record<string, string> = {}): Promise<TestResponse> {
  const { body, contentType } = multipartArtifact(artifact, { size: String(artifact.length), ...fields });
  return call(server, 'POST', M_ARTIFACTS, { body, headers: { 'Content-Type': contentType } });
}

/** Creates a deployment and returns its id (from Location, as Mender answers 201 without a body). */
export async function createDeployment(server: { url: string; caPem?: string }, body: Record<string, unknown>): Promise<string> {
  const res = await call(server, 'POST', M_DEPLOYMENTS, { json: { name: 'test', ...body } });
  if (res.status !== 201) throw new Error(`create deployment: ${res.status} ${res.text()}`);
  return String(res.headers.location).split('/').pop()!;
}

/** A module-image artifact made by Debian's mender-artifact (present when the real-tools tests run). */
export function menderArtifactModule(dir: string, options: { name: string; deviceType: string; payloadBytes?: number; type?: string }): Buffer {
  const payload = join(dir, `${options.name}.bin`);
  const size = options.payloadBytes ?? 8192;
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 255;
  writeFileSync(payload, data);
  const out = join(dir, `${options.name}.mender`);
  execFileSync('mender-artifact', ['write', 'module-image', '-T', options.type ?? 'single-file', '-n', options.name, '-t', options.deviceType, '-f', payload, '-o', out, '--compression', 'none'], { stdio: 'ignore' });
  return readFileSync(out);
}

