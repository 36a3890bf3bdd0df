// Full deployments on each Moddable board port, its code running unmodified in XS over the emulated
// Moddable modules, against the dev server: a gzip artifact for the board's payload type goes in
// through a reset (the new image runs on trial, passes its self-test, is confirmed); and an image
// whose self-test fails is rolled back by the bootloader and reported as a failure with its log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardSettings } from '../../boards/_moddable/settings.ts';
import type { ClientEvent } from '../../core/client-config.ts';
import { writeArtifact } from '../../simulator/artifact-writer.ts';
import { Management } from '../../simulator/demo/management.ts';
import { runModdableClient } from '../../simulator/moddable/device.ts';
import { startServer, type RunningServer } from '../../simulator/server/server.ts';
import { bootKeyPem, RIGS } from './rig.ts';

describe.each(RIGS)('boards/$board under XS against the dev server', (rig) => {
  let dataDir: string;
  let server: RunningServer;
  let management: Management;
  const deviceType = `moddable-${rig.board}`;
  const failing = rig.kind === 'mcuboot' ? '1.2.0+0' : '1.2.0';
  const settings = (): BoardSettings => ({
    serverUrl: server.url,
    allowHttp: true,
    deviceType,
    ...(rig.kind === 'mcuboot' ? { bootKeyPem } : {}),
    pollIntervals: { RetryPollIntervalSeconds: 1 },
  });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), `ota-mcu-${rig.board}-`));
    server = await startServer({ dataDir, autoAccept: true, http: true, port: 0 });
    management = new Management(server.url);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function deploy(device: ReturnType<typeof rig.device>, version: string): Promise<string> {
    // First contact: the device authorizes and sends its inventory (no deployment yet).
    const first = await runModdableClient({ board: rig.board, device, settings: settings(), selfTest: true, creation: 'manifest' });
    expect(first.last?.deployment).toBeUndefined();
    const all = await management.devices();
    const me = all.at(-1)!;
    expect(Object.keys(me.identity_data)).toContain(rig.identityKey);
    const name = `${rig.board}-app-${version}`;
    const artifact = writeArtifact({
      artifactName: name,
      deviceTypes: [deviceType],
      payloadType: rig.payloadType,
      compression: 'gzip',
      files: [{ name: 'app.bin', data: rig.makeImage(version, 40_000) }],
    });
    await management.uploadArtifact(artifact, name);
    return management.createDeployment(name, name, [me.id]);
  }

  it('updates 1.0.0 → 1.1.0 through a reset: success on the server, the bootloader keeps 1.1.0', async () => {
    const device = rig.device({ seed: 11 });
    try {
      const id = await deploy(device, '1.1.0');
      const events: ClientEvent[] = [];
      const run = await runModdableClient({ board: rig.board, device, settings: settings(), selfTest: true, creation: 'manifest', onEvent: (e) => events.push(e) });
      expect(run.last?.deployment).toEqual({ id, end: 'success' });
      expect(run.last?.runningVersion).toBe(rig.kind === 'mcuboot' ? '1.1.0+0' : '1.1.0');
      expect(run.boots).toBe(2); // the engine died in the restart into 1.1.0; the second boot finished
      const view = (await management.deploymentDevices(id))[0]!;
      expect(view.status).toBe('success');
      const states = events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state);
      expect(states).toContain('verify-reboot');
      expect(states).toContain('commit');
      // The board logged through trace, which the emulation hands to the simulated board's log.
      expect(run.traced.some((line) => line.startsWith('[info] '))).toBe(true);
      const after = await device.boot();
      expect(await after.bootControl.state()).toMatchObject({ runningVersion: run.last?.runningVersion, isTestBoot: false });
    } finally {
      await device.close();
    }
  });

  it('a self-test failure rolls back to 1.0.0 and is reported as a failure with its log', async () => {
    const device = rig.device({ seed: 12, behaviours: { [failing]: 'fails-self-test' } });
    try {
      const id = await deploy(device, '1.2.0');
      const run = await runModdableClient({ board: rig.board, device, settings: settings(), selfTest: true, creation: 'manifest' });
      expect(run.last?.deployment).toEqual({ id, end: 'failure' });
      expect(run.last?.runningVersion).toBe('1.0.0+0');
      expect(run.boots).toBeGreaterThanOrEqual(3); // into 1.2.0 on trial, then back to 1.0.0
      const view = (await management.deploymentDevices(id))[0]!;
      expect(view.status).toBe('failure');
      const log = await management.deviceLog(id, view.id);
      expect(log).toMatch(/self-test/i);
      const after = await device.boot();
      expect(await after.bootControl.state()).toMatchObject({ runningVersion: run.last?.runningVersion, isTestBoot: false, lastBootReverted: true });
    } finally {
      await device.close();
    }
  });
});
