// `ota-mcu deploy`: uploads the artifact, creates the deployment (devices or all), prints its id.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MENDER_FIXTURES } from '../vectors.ts';
import { call } from '../server/http-client.ts';
import { M_DEVICES, TestDevice, tempDir, testServer } from '../server/harness.ts';
import { run } from '../../simulator/cli/deploy.ts';
import { runCli } from './cli-harness.ts';

const ROOTFS = join(MENDER_FIXTURES, 'rootfs-none-unsigned.mender');
const MODULE = join(MENDER_FIXTURES, 'module-gzip-meta-depends-script.mender');
type Server = Awaited<ReturnType<typeof testServer>>;

describe('ota-mcu deploy', () => {
  let server: Server;
  let ids: string[];
  beforeAll(async () => {
    server = await testServer({ http: false, autoAccept: true });
    for (const mac of ['02:00:00:00:60:01', '02:00:00:00:60:02']) await new TestDevice({ mac }).authorize(server);
    ids = (await call(server, 'GET', M_DEVICES)).json<{ id: string }[]>().map((d) => d.id);
  });
  afterAll(() => server.stop());

  it('uploads and deploys to the given devices over HTTPS with --ca, printing the deployment id', async () => {
    const result = await runCli(run, ['--server', server.url, '--ca', server.caPath!, ROOTFS, '--device', ids[0]!]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const id = result.stdout.trim();
    const deployment = (await call(server, 'GET', `/api/management/v1/deployments/deployments/${id}`)).json();
    expect(deployment).toMatchObject({ id, artifact_name: 'fx-rootfs-none', device_count: 1 });
    expect(server.store.get('deployment', id)!.devices).toEqual([ids[0]]);
  });

  it('deploys to all accepted devices with --all, reusing an artifact already uploaded', async () => {
    const first = await runCli(run, ['--server', server.url, '--ca', server.caPath!, MODULE, '--all']);
    expect(first.code).toBe(0);
    const again = await runCli(run, ['--server', server.url, '--ca', server.caPath!, MODULE, '--all']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already on the server');
    const deployment = server.store.get('deployment', again.stdout.trim())!;
    expect(deployment.artifactName).toBe('fx-module-1');
    expect([...deployment.devices].sort()).toEqual([...ids].sort());
  });

  it('fails with one line on stderr: no devices, unknown device set, untrusted server, bad artifact', async () => {
    const dir = tempDir();
    try {
      const junk = join(dir.path, 'junk.mender');
      writeFileSync(junk, 'not an artifact');
      const cases: [string[], RegExp][] = [
        [['--server', server.url, '--ca', server.caPath!, ROOTFS], /--device ID .* or --all/],
        [['--server', server.url, ROOTFS, '--all'], /self.signed|unable to (get|verify)/i],
        [['--server', server.url, '--ca', server.caPath!, junk, '--all'], /artifacts: 400/],
        [['--server', 'ftp://x', ROOTFS, '--all'], /http:\/\/ or https:\/\//],
        [[ROOTFS, '--all'], /--server URL is required/],
      ];
      for (const [argv, message] of cases) {
        const result = await runCli(run, argv);
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
        expect(result.stderr).toMatch(message);
      }
    } finally {
      dir.remove();
    }
  });
});
