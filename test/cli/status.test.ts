// `ota-mcu status`: devices and deployments, or one deployment's per-device statuses; --json.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { fixture } from '../vectors.ts';
import { call } from '../server/http-client.ts';
import { M_DEVICES, TestDevice, createDeployment, testServer, uploadArtifact } from '../server/harness.ts';
import { run } from '../../simulator/cli/status.ts';
import { runCli } from './cli-harness.ts';

type Server = Awaited<ReturnType<typeof testServer>>;

describe('ota-mcu status', () => {
  let server: Server;
  let deviceId: string;
  let deploymentId: string;
  beforeAll(async () => {
    server = await testServer({ http: true, autoAccept: true });
    await uploadArtifact(server, fixture('rootfs-none-unsigned.mender'));
    const device = new TestDevice({ mac: '02:00:00:00:70:01' });
    await device.authorize(server);
    deviceId = (await call(server, 'GET', M_DEVICES)).json<{ id: string }[]>()[0]!.id;
    deploymentId = await createDeployment(server, { name: 'rollout', artifact_name: 'fx-rootfs-none', devices: [deviceId] });
    await device.next(server, 'r1', 'fx-device');
    await device.report(server, deploymentId, 'downloading', 'halfway');
  });
  afterAll(() => server.stop());

  it('prints devices and deployments; --json gives Mender\'s shapes', async () => {
    const text = await runCli(run, ['--server', server.url]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('devices (1)');
    expect(text.stdout).toMatch(new RegExp(`${deviceId}\\s+accepted`));
    expect(text.stdout).toMatch(new RegExp(`${deploymentId}\\s+rollout\\s+fx-rootfs-none\\s+inprogress\\s+1`));
    const json = await runCli(run, ['--server', server.url, '--json']);
    const parsed = JSON.parse(json.stdout);
    expect(json.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(parsed.devices.map((d: { id: string }) => d.id)).toEqual([deviceId]);
    expect(parsed.deployments[0]).toMatchObject({ id: deploymentId, status: 'inprogress', artifact_name: 'fx-rootfs-none' });
  });

  it('prints one deployment with per-device statuses and substates', async () => {
    const text = await runCli(run, ['--server', server.url, '--deployment', deploymentId]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`deployment ${deploymentId} "rollout": artifact fx-rootfs-none, inprogress, 1 device(s) (downloading 1)`);
    expect(text.stdout).toMatch(new RegExp(`${deviceId}\\s+downloading\\s+halfway`));
    const json = JSON.parse((await runCli(run, ['--server', server.url, '--deployment', deploymentId, '--json'])).stdout);
    expect(json.deployment.id).toBe(deploymentId);
    expect(json.devices).toEqual([expect.objectContaining({ id: deviceId, status: 'downloading', substate: 'halfway', log: false })]);
  });

  it('fails with one line on stderr for an unknown deployment or no --server', async () => {
    for (const [argv, message] of [
      [['--server', server.url, '--deployment', 'nope'], /deployments\/nope: 404 no deployment nope/],
      [['--json'], /--server URL is required/],
    ] as const) {
      const result = await runCli(run, [...argv]);
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(message);
    }
  });
});
