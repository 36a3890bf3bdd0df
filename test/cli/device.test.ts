// `ota-mcu device`: a simulated device in a state directory, across process restarts, against the
// dev server; --once prints the running version last. STM32 (MCUboot) and ESP32 (ESP-IDF OTA).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeArtifact } from '../../simulator/artifact-writer.ts';
import { buildEspAppImage } from '../../simulator/esp-app-image-builder.ts';
import { buildMcubootImage } from '../../simulator/mcuboot-imgtool.ts';
import { Management } from '../../simulator/demo/management.ts';
import { startServer, type RunningServer } from '../../simulator/server/server.ts';
import { spawnCli } from './cli-harness.ts';

/** `last`: the final line of stdout (--once prints the running version last). */
async function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string; last: string }> {
  const result = await spawnCli('device', args, 60_000);
  return { ...result, last: result.stdout.trimEnd().split('\n').at(-1) ?? '' };
}

describe('ota-mcu device', () => {
  let dir: string;
  let server: RunningServer;
  let management: Management;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ota-mcu-device-'));
    server = await startServer({ dataDir: join(dir, 'server'), autoAccept: true, port: 0 });
    management = new Management(server.url, server.caPem);
    const boot = generateKeyPairSync('ed25519');
    const art = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const put = (name: string, data: string | Uint8Array) => {
      files[name] = join(dir, name);
      writeFileSync(files[name]!, data);
    };
    put('ca.pem', server.caPem!);
    put('boot.pub.pem', boot.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    put('artifact.pub.pem', art.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    files.bootPrivate = boot.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    files.artifactPrivate = art.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    put('first.bin', buildMcubootImage({ version: '1.0.0', payload: new Uint8Array(12 * 1024).fill(1), privateKeyPem: files.bootPrivate }));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const owners = new Map<string, string>(); // identity JSON → device id

  function identityOwner(identity: Record<string, string>): string {
    return owners.get(JSON.stringify(identity)) ?? '';
  }

  async function deployTo(identityMatch: (id: Record<string, string>) => boolean, artifact: Uint8Array, name: string): Promise<string> {
    await management.uploadArtifact(artifact, name);
    const all = await management.devices();
    for (const d of all) owners.set(JSON.stringify(d.identity_data), d.id);
    const devices = all.filter((d) => identityMatch(d.identity_data));
    expect(devices).toHaveLength(1);
    return management.createDeployment(name, name, [devices[0]!.id]);
  }

  it('STM32: starts on --image, updates to a signed 1.1.0 across resets, and keeps it across process restarts', async () => {
    const state = join(dir, 'stm32');
    const common = ['--server', server.url, '--ca', files['ca.pem']!, '--state', state, '--boot-key', files['boot.pub.pem']!, '--artifact-key', files['artifact.pub.pem']!];
    const first = await cli([...common, '--image', files['first.bin']!, '--once']);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.last).toBe('1.0.0');

    const image = buildMcubootImage({ version: '1.1.0', payload: new Uint8Array(20 * 1024).fill(2), privateKeyPem: files.bootPrivate });
    const artifact = writeArtifact({
      artifactName: 'stm32-1.1.0', deviceTypes: ['ota-mcu-sim-stm32'], payloadType: 'zephyr-image',
      files: [{ name: 'zephyr.signed.bin', data: image }], compression: 'none', signingKey: files.artifactPrivate,
    });
    const before = new Set((await management.devices()).map((d) => d.id));
    const id = await deployTo(() => true, artifact, 'stm32-1.1.0');
    expect(before.size).toBe(1);

    const second = await cli([...common, '--once']); // no --image: DIR already holds the flash
    expect(second.status).toBe(0);
    expect(second.last).toBe('1.1.0');
    expect(second.stdout).toMatch(/commit/);
    const statuses = await management.deploymentDevices(id);
    expect(statuses.map((s) => s.status)).toEqual(['success']);

    const third = await cli([...common, '--once']);
    expect(third.status).toBe(0);
    expect(third.last).toBe('1.1.0');
    expect((await management.devices()).length).toBe(1); // the same identity each time
  });

  it('ESP32: the esp-ota path from a default 1.0.0 app to 1.1.0', async () => {
    const state = join(dir, 'esp32');
    const common = ['--server', server.url, '--ca', files['ca.pem']!, '--state', state, '--board', 'esp32'];
    const known = new Set((await management.devices()).map((d) => d.id));
    const first = await cli([...common, '--once']);
    expect(first.status).toBe(0);
    expect(first.last).toBe('1.0.0');
    const app = buildEspAppImage({ version: '1.1.0', payload: new Uint8Array(24 * 1024).fill(3) });
    const artifact = writeArtifact({
      artifactName: 'esp32-1.1.0', deviceTypes: ['ota-mcu-sim-esp32'], payloadType: 'esp-ota',
      files: [{ name: 'app.bin', data: app }], compression: 'gzip',
    });
    const id = await deployTo((identity) => !known.has(identityOwner(identity)), artifact, 'esp32-1.1.0');
    const second = await cli([...common, '--once']);
    expect(second.status).toBe(0);
    expect(second.last).toBe('1.1.0');
    const statuses = await management.deploymentDevices(id);
    expect(statuses.map((s) => s.status)).toEqual(['success']);
  });

  it('--help prints the usage with every flag and exits 0', async () => {
    const result = await cli(['--help']);
    expect(result.status).toBe(0);
    for (const flag of ['--server', '--state', '--board', '--device-type', '--image', '--boot-key', '--artifact-key', '--tenant-token', '--ca', '--allow-http', '--once']) {
      expect(result.stdout).toContain(flag);
    }
  });

  it('refuses missing or bad flags with one line on stderr and exit 1', async () => {
    for (const args of [[], ['--server', 'https://127.0.0.1:1'], ['--server', 'x', '--state', join(dir, 'x'), '--board', 'avr']]) {
      const result = await cli(args);
      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^ota-mcu device: /);
    }
  });

  it('exits 1 with one line when the server cannot be reached', async () => {
    const result = await cli(['--server', 'https://127.0.0.1:9', '--state', join(dir, 'unreachable'), '--once']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^ota-mcu device: .*(ECONNREFUSED|connect)/);
  });
});
