// The official Mender client (Debian's `mender` 3.4 daemon) against our dev server over HTTPS on
// 127.0.0.1: deployments created through the management API end `success` with the requests in the
// order of the captured real exchange, a failing update module ends `failure` with its log
// uploaded, and a download cut halfway is resumed with Range. The client's fixed paths
// (/usr/share/mender for identity, inventory; /etc/mender for artifact_info) are replaced by bind
// mounts inside `unshare -m`, so it needs root (CI runs as root); everything else points at temp
// dirs through mender.conf. The client waits 60 s before resuming a download (Mender's minimum
// backoff), so the resume test takes about a minute.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { realTool, REQUIRE_REAL_TOOLS } from '../real-tools.ts';
import { MENDER_FIXTURES } from '../vectors.ts';
import { call } from '../server/http-client.ts';
import { createDeployment, menderArtifactModule, tempDir, testServer, M_DEVICES, uploadArtifact } from '../server/harness.ts';
import type { Exchange } from '../../simulator/server/server.ts';

const TENANT_TOKEN = 'tenant-token-abc';
const DEVICE_TYPE = 'test-device';

function canUseMounts(): boolean {
  if (process.getuid?.() === 0 && spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status === 0) return true;
  const why = 'the mender-client test needs root for `unshare -m` bind mounts';
  if (REQUIRE_REAL_TOOLS) throw new Error(`REQUIRE_REAL_TOOLS=1 but ${why}`);
  console.warn(`SKIPPED: ${why}`);
  return false;
}

const enabled = realTool('mender') && realTool('mender-artifact') && canUseMounts();

/** The PUT …/status bodies and other requests of the capture, in order (bodies are in the log). */
function captureSequence(name: string): string[] {
  const text = readFileSync(join(MENDER_FIXTURES, name), 'utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\[\s*[\d.]+\] (GET|PUT|POST|PATCH) (\S+) hdrs=(.*?) chunked=\S+ body=b'(.*)'$/.exec(line);
    if (m === null) continue;
    out.push(describeRequest(m[1]!, m[2]!, m[3]!.includes('"Range"'), m[4]!.replace(/\\n$/, '').replace(/\\"/g, '"')));
  }
  return out;
}

function describeRequest(method: string, url: string, ranged: boolean, body: string): string {
  const path = url.split('?')[0]!;
  if (path.endsWith('/status')) return `status ${JSON.parse(body).status}`;
  if (path.endsWith('/log')) return 'log';
  if (path.endsWith('/auth_requests')) return 'auth';
  if (path.endsWith('/inventory/device/attributes')) return `inventory ${method}`;
  if (path.includes('/v2/deployments/device/deployments/next')) return 'next v2';
  if (path.endsWith('/deployments/next')) return `next v1 ${method}`;
  if (method === 'GET') return ranged ? 'download ranged' : 'download';
  return `${method} ${path}`;
}

/** The device's requests as the server saw them, from the first `next` answered 200 on. */
function serverSequence(exchanges: readonly Exchange[]): string[] {
  const device = exchanges.filter((e) => !e.url.startsWith('/api/management/'));
  const first = device.findIndex((e) => e.url.includes('/v1/deployments/device/deployments/next') && e.status === 200);
  return device.slice(Math.max(first, 0)).map((e) => describeRequest(e.method, e.url, e.requestHeaders.range !== undefined, e.requestBody.toString('utf8').trim()));
}

/** From the first `next` (the capture's first one got the deployment) through the final status and the log, if any. */
function deploymentPart(sequence: string[]): string[] {
  const start = sequence.findIndex((s) => s === 'next v1 POST' || s === 'next v1 GET');
  const end = sequence.findIndex((s) => s === 'status success' || s === 'status failure');
  const withLog = sequence[end + 1] === 'log' ? end + 1 : end;
  return sequence.slice(start, withLog + 1);
}

interface Client {
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
  logText(): string;
}

/** Starts `mender daemon` in its own mount namespace, trusting the server's CA. */
function startClient(server: { url: string; caPath?: string }, options: { failInstall?: boolean }): Client {
  const tmp = tempDir('ota-mcu-mender-');
  const dir = tmp.path;
  for (const sub of ['share/identity', 'share/inventory', 'share/modules/v3', 'etc', 'data', 'installed']) mkdirSync(join(dir, sub), { recursive: true });
  const script = (path: string, text: string) => {
    writeFileSync(path, text);
    chmodSync(path, 0o755);
  };
  script(join(dir, 'share/identity/mender-device-identity'), '#!/bin/sh\necho mac=02:00:00:aa:bb:cc\necho serial=SN123\n');
  script(join(dir, 'share/inventory/mender-inventory-test'), '#!/bin/sh\necho hostname=testhost\necho cpu_model=fake\n');
  // An update module that stores the payload file, or fails at install with a message on stderr.
  script(
    join(dir, 'share/modules/v3/single-file'),
    [
      '#!/bin/sh',
      'set -e',
      'STATE="$1"; FILES="$2"',
      'case "$STATE" in',
      '  NeedsArtifactReboot) echo No ;;',
      '  SupportsRollback) echo No ;;',
      options.failInstall
        ? '  ArtifactInstall) echo "test module: refusing to install" >&2; exit 3 ;;'
        : `  ArtifactInstall) cp "$FILES"/files/* ${join(dir, 'installed')}/ ;;`,
      'esac',
      'exit 0',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'etc/artifact_info'), 'artifact_name=release-1\n');
  writeFileSync(join(dir, 'data/device_type'), `device_type=${DEVICE_TYPE}\n`);
  writeFileSync(
    join(dir, 'mender.conf'),
    JSON.stringify({
      ServerURL: server.url,
      ServerCertificate: server.caPath,
      TenantToken: TENANT_TOKEN,
      UpdatePollIntervalSeconds: 1,
      InventoryPollIntervalSeconds: 3600,
      RetryPollIntervalSeconds: 1,
      ModulesPath: join(dir, 'share/modules/v3'),
      ModulesWorkPath: join(dir, 'data/modules/v3'),
      ArtifactScriptsPath: join(dir, 'data/scripts'),
      RootfsScriptsPath: join(dir, 'etc/scripts'),
      DeviceTypeFile: join(dir, 'data/device_type'),
      DBus: { Enabled: false },
    }),
  );
  const command = [
    `mount --bind ${join(dir, 'share')} /usr/share/mender`,
    `mount --bind ${join(dir, 'etc')} /etc/mender`,
    `exec mender --config ${join(dir, 'mender.conf')} --data ${join(dir, 'data')} --no-syslog --log-level debug --log-file ${join(dir, 'mender.log')} daemon`,
  ].join(' && ');
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    dir,
    process: child,
    logText: () => {
      try {
        return readFileSync(join(dir, 'mender.log'), 'utf8') + stderr;
      } catch {
        return stderr;
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      tmp.remove();
    },
  };
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, client?: Client): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${client ? `\n--- mender log (tail) ---\n${client.logText().slice(-4000)}` : ''}`);
    if (client !== undefined && client.process.exitCode !== null) throw new Error(`mender exited (${client.process.exitCode}) while waiting for ${what}\n${client.logText().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!enabled)('official mender 3.4 client against the dev server', () => {
  const work = tempDir('ota-mcu-artifacts-');
  let artifacts: { ok: Buffer; fails: Buffer; resumed: Buffer };

  beforeAll(() => {
    artifacts = {
      ok: menderArtifactModule(work.path, { name: 'release-2', deviceType: DEVICE_TYPE, payloadBytes: 64 * 1024 }),
      fails: menderArtifactModule(work.path, { name: 'release-3', deviceType: DEVICE_TYPE, payloadBytes: 16 * 1024 }),
      resumed: menderArtifactModule(work.path, { name: 'release-4', deviceType: DEVICE_TYPE, payloadBytes: 300 * 1024 }),
    };
  });
  afterAll(() => work.remove());

  /** Runs one deployment with a fresh client: accept the pending device, deploy, wait for the final status. */
  async function runDeployment(artifact: Buffer, options: { failInstall?: boolean; cutHalfway?: boolean }) {
    const server = await testServer({ http: false, autoAccept: false, tenantToken: TENANT_TOKEN });
    const client = startClient(server, options);
    try {
      // A new device is pending (401) until accepted through the management API.
      const device = await waitFor('the device to ask for authorization', async () => {
        const list = (await call(server, 'GET', `${M_DEVICES}?status=pending`)).json<{ id: string; auth_sets: { id: string }[] }[]>();
        return list[0];
      }, 30_000, client);
      expect(server.exchanges.some((e) => e.url.endsWith('/auth_requests') && e.status === 401)).toBe(true);
      const accepted = await call(server, 'PUT', `${M_DEVICES}/${device.id}/auth/${device.auth_sets[0]!.id}/status`, { json: { status: 'accepted' } });
      expect(accepted.status).toBe(204);
      expect((await uploadArtifact(server, artifact)).status).toBe(201);
      if (options.cutHalfway) server.faults.cutDownload({ afterBytes: Math.floor(artifact.length / 2) });
      const name = options.failInstall ? 'release-3' : options.cutHalfway ? 'release-4' : 'release-2';
      const deploymentId = await createDeployment(server, { artifact_name: name, devices: [device.id] });
      const final = await waitFor('the final status', () => {
        const dd = server.store.get('device-deployment', `${deploymentId}/${device.id}`);
        return dd !== undefined && ['success', 'failure'].includes(dd.status) && (dd.status === 'success' || dd.log !== undefined) ? dd : undefined;
      }, options.cutHalfway ? 150_000 : 60_000, client);
      const deployment = (await call(server, 'GET', `/api/management/v1/deployments/deployments/${deploymentId}`)).json<{ status: string }>();
      return { server, client, device, deploymentId, final, deployment, installedDir: join(client.dir, 'installed') };
    } catch (error) {
      await client.stop();
      await server.stop();
      throw error;
    }
  }

  it('a deployment created through the management API ends `success`, requests in the captured order', async () => {
    const run = await runDeployment(artifacts.ok, {});
    try {
      expect(run.final.status).toBe('success');
      expect(run.deployment.status).toBe('finished');
      // The module stored the payload file.
      expect(readFileSync(join(run.installedDir, 'release-2.bin')).length).toBe(64 * 1024);
      const expected = deploymentPart(captureSequence('mender-client-3.4.0-capture-deployment-success.log')).filter((s) => s !== 'download ranged');
      expect(expected).toEqual(['next v1 POST', 'status downloading', 'download', 'status downloading', 'status downloading', 'status installing', 'auth', 'status installing', 'status success']);
      expect(deploymentPart(serverSequence(run.server.exchanges))).toEqual(expected);
      // Before the deployment: auth (pending, then accepted), inventory first, v2 next → 404 → v1 next.
      const paths = run.server.exchanges.map((e) => `${e.method} ${e.url.split('?')[0]}`);
      expect(paths.indexOf('PUT /api/devices/v1/inventory/device/attributes')).toBeLessThan(paths.indexOf('POST /api/devices/v2/deployments/device/deployments/next'));
      const v2 = run.server.exchanges.find((e) => e.url.includes('/v2/deployments/device/deployments/next'));
      expect(v2?.status).toBe(404);
      // The artifact GET carried no Authorization header (pre-signed link).
      const download = run.server.exchanges.find((e) => e.url.startsWith('/download/'));
      expect(download?.requestHeaders.authorization).toBeUndefined();
    } finally {
      await run.client.stop();
      await run.server.stop();
    }
  }, 120_000);

  it('an update module that fails ends `failure` with its log uploaded', async () => {
    const run = await runDeployment(artifacts.fails, { failInstall: true });
    try {
      expect(run.final.status).toBe('failure');
      const log = await call(run.server, 'GET', `/api/management/v1/deployments/deployments/${run.deploymentId}/devices/${run.device.id}/log`);
      expect(log.status).toBe(200);
      expect(log.text()).toContain('refusing to install');
      const sequence = deploymentPart(serverSequence(run.server.exchanges));
      // Status failure, then the log, as in the captured failure run.
      expect(sequence.slice(-2)).toEqual(['status failure', 'log']);
      expect(sequence.filter((s) => s.startsWith('status')).slice(0, 1)).toEqual(['status downloading']);
    } finally {
      await run.client.stop();
      await run.server.stop();
    }
  }, 120_000);

  it('a download cut halfway is resumed with a Range request and still ends `success`', async () => {
    const run = await runDeployment(artifacts.resumed, { cutHalfway: true });
    try {
      expect(run.final.status).toBe('success');
      const downloads = run.server.exchanges.filter((e) => e.url.startsWith('/download/'));
      expect(downloads.map((e) => e.status)).toEqual([200, 206]);
      expect(downloads[0]!.fault).toBe('download cut');
      const half = Math.floor(artifacts.resumed.length / 2);
      expect(downloads[1]!.requestHeaders.range).toBe(`bytes=${half}-`);
      expect(downloads[1]!.responseHeaders['Content-Range']).toBe(`bytes ${half}-${artifacts.resumed.length - 1}/${artifacts.resumed.length}`);
      expect(readFileSync(join(run.installedDir, 'release-4.bin')).length).toBe(300 * 1024);
      const expected = deploymentPart(captureSequence('mender-client-3.4.0-capture-deployment-success.log'));
      expect(deploymentPart(serverSequence(run.server.exchanges))).toEqual(expected);
    } finally {
      await run.client.stop();
      await run.server.stop();
    }
  }, 180_000);
});
