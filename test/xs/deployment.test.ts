// Full deployments with the client core executing inside the real Moddable XS engine, against the
// dev server and a simulated MCUboot board whose flash, key-value store, network, clock and
// system live in Node. Each boot is a fresh engine; the reset into the new image kills it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientConfig, ClientEvent } from '../../core/client-config.ts';
import { createEspOtaModule } from '../../core/modules/esp-ota.ts';
import { writeArtifact } from '../../simulator/artifact-writer.ts';
import { SimDevice, type BootedBoard } from '../../simulator/board/sim-device.ts';
import { Lab } from '../../simulator/demo/lab.ts';
import { Management } from '../../simulator/demo/management.ts';
import { buildEspAppImage } from '../../simulator/esp-app-image-builder.ts';
import { startServer } from '../../simulator/server/server.ts';
import { firmwareBytes } from '../../simulator/xs/measure.ts';
import { runDeviceInXs, type XsDeviceRun } from '../../simulator/xs/device.ts';
import { statuses } from '../e2e/history.ts';

async function enrollInXs(lab: Lab): Promise<string> {
  let mac = '';
  await runDeviceInXs(lab.device, (board) => {
    mac = board.identity.mac ?? '';
    return lab.config(board);
  });
  const id = (await lab.management.devices()).find((d) => d.identity_data.mac === mac)?.id;
  if (!id) throw new Error(`device ${mac} is not on the server after its first contact`);
  lab.deviceId = id;
  return id;
}

function runInXs(lab: Lab, events: ClientEvent[] = []): Promise<XsDeviceRun> {
  return runDeviceInXs(lab.device, (board) => lab.config(board), { onEvent: (event) => events.push(event) });
}

describe('deployments with the client core in XS', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.start({ behaviours: { '1.2.0': 'fails-self-test' } });
  });
  afterAll(async () => lab?.close());

  it('happy path: 1.0.0 → 1.1.0 through a reset, success on the server, the bootloader boots 1.1.0', async () => {
    lab.newDevice();
    await enrollInXs(lab);
    const id = await lab.deploy(lab.artifact('firmware-1.1.0', lab.image('1.1.0')), 'firmware-1.1.0');
    const events: ClientEvent[] = [];
    const run = await runInXs(lab, events);
    expect(run.last?.deployment).toEqual({ id, end: 'success' });
    expect(run.last?.runningVersion).toBe('1.1.0+0'); // MCUboot's version string
    expect(run.boots).toBe(2);
    // Two engines: the first died in System.restart, the second finished the deployment.
    expect(run.runs.map((r) => r.ended)).toEqual(['DeviceRestart', 'returned']);
    expect(run.runs[0]!.meter.compute).toBeGreaterThan(0);
    const view = await lab.view(id);
    expect(view.status).toBe('success');
    expect(statuses(view.history).filter((s) => s !== 'downloading')).toEqual(['installing', 'rebooting', 'installing', 'success']);
    expect(await lab.runningVersion()).toBe('1.1.0');
    const states = events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state);
    expect(states).toContain('verify-reboot');
    expect(states.at(-1)).toBe('report');
  });

  it('a power cut during the deployment kills the engine mid-call; the next boot carries on and succeeds', async () => {
    lab.newDevice();
    await enrollInXs(lab);
    const id = await lab.deploy(lab.artifact('firmware-1.3.0', lab.image('1.3.0')), 'firmware-1.3.0');
    lab.device.power.cutAfter(12); // the 13th flash/KV operation of this run is torn
    const run = await runInXs(lab);
    expect(run.runs[0]!.ended).toBe('PowerCut');
    expect(run.last?.deployment).toEqual({ id, end: 'success' });
    expect(run.last?.runningVersion).toBe('1.3.0+0');
    const view = await lab.view(id);
    expect(view.status).toBe('success');
    expect(await lab.runningVersion()).toBe('1.3.0');
  });

  it('bad artifact signature: failure with a log naming the signature, still on 1.0.0, no reset', async () => {
    lab.newDevice();
    await enrollInXs(lab);
    const id = await lab.deploy(lab.artifact('bad-sig', lab.image('1.1.0'), { signer: 'other' }), 'bad-sig');
    const run = await runInXs(lab);
    expect(run.last?.deployment).toEqual({ id, end: 'failure' });
    expect(run.last?.runningVersion).toBe('1.0.0+0');
    expect(run.boots).toBe(1);
    const view = await lab.view(id);
    expect(view.status).toBe('failure');
    expect(statuses(view.history)).not.toContain('rebooting');
    expect(view.log).toMatch(/signature/i);
    expect(await lab.runningVersion()).toBe('1.0.0');
  });

  it('self-test failure after the reset: rolled back to 1.0.0, failure with a log', async () => {
    lab.newDevice();
    await enrollInXs(lab);
    const id = await lab.deploy(lab.artifact('firmware-1.2.0', lab.image('1.2.0')), 'firmware-1.2.0');
    const run = await runInXs(lab);
    expect(run.last?.deployment).toEqual({ id, end: 'failure' });
    expect(run.last?.runningVersion).toBe('1.0.0+0');
    expect(run.boots).toBeGreaterThanOrEqual(3); // into 1.2.0 on trial, then back to 1.0.0
    const view = await lab.view(id);
    expect(view.status).toBe('failure');
    expect(statuses(view.history)).toContain('rebooting');
    expect(view.log).toMatch(/self-test/i);
    expect(await lab.runningVersion()).toBe('1.0.0');
  });
});

describe('an ESP-IDF board with the client core in XS (boot control stays native, behind the bridge)', () => {
  it('updates 1.0.0 → 1.1.0 through the esp-ota module: success, the bootloader boots ota_1', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ota-mcu-xs-esp-'));
    const server = await startServer({ dataDir, autoAccept: true, http: true, port: 0 });
    const device = new SimDevice({ kind: 'esp-idf', firstImage: buildEspAppImage({ version: '1.0.0', payload: firmwareBytes(20_000, 3) }), slotBytes: 128 * 1024, seed: 42 });
    try {
      let mac = '';
      const config = (board: BootedBoard): ClientConfig => {
        mac = board.identity.mac ?? '';
        return { serverUrl: server.url, allowHttp: true, deviceType: 'xs-esp32', artifactName: 'app-1.0.0', selfTest: () => board.selfTest(), updateModules: [createEspOtaModule()] };
      };
      await runDeviceInXs(device, config);
      const management = new Management(server.url);
      const deviceId = (await management.devices()).find((d) => d.identity_data.mac === mac)?.id;
      expect(deviceId).toBeDefined();
      const artifact = writeArtifact({
        artifactName: 'app-1.1.0',
        deviceTypes: ['xs-esp32'],
        payloadType: 'esp-ota',
        compression: 'gzip',
        files: [{ name: 'app.bin', data: buildEspAppImage({ version: '1.1.0', payload: firmwareBytes(30_000, 4) }) }],
      });
      await management.uploadArtifact(artifact, 'app-1.1.0');
      const id = await management.createDeployment('esp', 'app-1.1.0', [deviceId!]);
      const run = await runDeviceInXs(device, config);
      expect(run.last?.deployment).toEqual({ id, end: 'success' });
      expect(run.last?.runningVersion).toBe('1.1.0');
      expect(run.runs.map((r) => r.ended)).toEqual(['DeviceRestart', 'returned']);
      const board = await device.boot();
      expect(await board.bootControl.state()).toMatchObject({ runningSlot: 1, runningVersion: '1.1.0', isTestBoot: false });
    } finally {
      await device.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
