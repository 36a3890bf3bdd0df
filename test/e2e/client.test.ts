// The client around the deployments: Mender's schedule in run() (inventory first, polls on the
// interval, device configuration through the callback), a record that cannot be read, the loop
// guard with a custom update module, and a compressed artifact interrupted by a reset.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../core/client.ts';
import type { ClientEvent } from '../../core/client-config.ts';
import { RECORD_KEY } from '../../core/deployment/record-store.ts';
import type { ModuleDownload, UpdateModule } from '../../core/modules/update-module.ts';
import { createZephyrImageModule } from '../../core/modules/zephyr-image.ts';
import { HttpMeter, type MeteredRequest } from '../../simulator/demo/http-meter.ts';
import { Lab } from '../../simulator/demo/lab.ts';
import { DeviceRestart } from '../../simulator/board/sim-system.ts';

class Stop extends Error {
  override readonly name = 'Stop';
}

describe('client.run(): Mender schedule', () => {
  it('sends inventory first, applies the configuration, then polls every UpdatePollIntervalSeconds', async () => {
    const meter = new HttpMeter();
    const applied: Record<string, string>[] = [];
    const lab = await Lab.start({
      wrapHttp: (http) => meter.wrap(http),
      client: {
        pollIntervals: { UpdatePollIntervalSeconds: 60, InventoryPollIntervalSeconds: 300 },
        onConfiguration: (config) => {
          applied.push(config);
          return { ...config, applied_by: 'ota-mcu' };
        },
      },
    });
    try {
      const deviceId = await lab.enroll();
      await lab.management.setConfiguration(deviceId, { timezone: 'UTC', ntp: 'pool.ntp.org' });
      const timeline: { at: number; request: MeteredRequest }[] = [];
      let polls = 0;
      meter.before = (request) => {
        timeline.push({ at: lab.device.clock.now(), request });
        if (request.url.includes('/deployments/next') && ++polls > 6) throw new Stop('enough');
      };
      const start = lab.device.clock.now();
      await expect(lab.device.run(async (board) => createClient(lab.boardFor(board), lab.config(board)).run())).rejects.toThrow(Stop);
      meter.before = undefined;
      const kinds = timeline.map(({ at, request }) => ({ at: at - start, what: `${request.method} ${new URL(request.url).pathname.replace(/^\/api\/devices\/v\d\//, '')}` }));
      // Inventory, then configuration, then the first update check, all at once.
      const firstNext = kinds.findIndex((k) => k.what.includes('deployments/next'));
      expect(kinds.slice(0, firstNext).map((k) => k.what)).toEqual([
        'POST authentication/auth_requests',
        'PATCH inventory/device/attributes',
        'GET deviceconfig/configuration',
        'PUT deviceconfig/configuration',
      ]);
      // One update check per minute of virtual time (v2 → v1 fallback the first time only).
      const checks = kinds.filter((k) => k.what === 'POST deployments/device/deployments/next' || k.what === 'GET deployments/device/deployments/next');
      const times = [...new Set(checks.map((k) => k.at))];
      expect(times.slice(0, 6)).toEqual([0, 60_000, 120_000, 180_000, 240_000, 300_000]);
      // The inventory again after InventoryPollIntervalSeconds; the unchanged configuration is not applied twice.
      expect(kinds.filter((k) => k.what === 'PATCH inventory/device/attributes').map((k) => k.at)).toEqual([0, 300_000]);
      expect(applied).toEqual([{ timezone: 'UTC', ntp: 'pool.ntp.org' }]);
      expect((await lab.management.configuration(deviceId)).reported).toEqual({ timezone: 'UTC', ntp: 'pool.ntp.org', applied_by: 'ota-mcu' });
      // The inventory carries what the issue asks for.
      const device = lab.server.store.get('device', deviceId)!;
      const attributes = JSON.stringify(device);
      for (const name of ['device_type', 'artifact_name', 'mender_client_version', 'image_version']) expect(attributes).toContain(name);
    } finally {
      await lab.close();
    }
  });
});

describe('records and loops', () => {
  let lab: Lab;
  const events: ClientEvent[] = [];
  /** A custom payload type whose install crashes the device every time: a reset loop. */
  const crashy: UpdateModule = {
    type: 'crashy',
    needsReboot: false,
    download: (): ModuleDownload => ({ durableOffset: 0, open: () => {}, write: () => {}, close: () => {}, discard: () => {} }),
    verify: () => ({}),
    install: (context) => context.board.system.restart(),
    reboot: () => {},
    verifyReboot: () => {},
    commit: () => {},
    rollback: () => 'done',
    verifyRollback: () => {},
    failure: () => {},
  };

  beforeAll(async () => {
    lab = await Lab.start({ client: { updateModules: [crashy] }, onEvent: (event) => events.push(event) });
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('a custom update module that crashes in install: the loop guard ends it as failure', async () => {
    lab.newDevice();
    await lab.enroll();
    const id = await lab.deploy(lab.artifact('crashy-1', lab.image('1.1.0'), { payloadType: 'crashy' }), 'crashy-1');
    const { boots, last } = await lab.runDevice(60);
    expect(last?.deployment).toEqual({ id, end: 'failure' });
    expect(boots).toBeGreaterThan(30);
    const view = await lab.view(id);
    expect(view.status).toBe('failure');
    expect(view.log).toMatch(/state loop detected entering "install" \(stored 40 times, limit 40\)/);
    expect(await lab.runningVersion()).toBe('1.0.0');
  });

  it('a loop after the commit (a crash at every success report): the loop guard reports success, never failure or a rollback', async () => {
    let tripped = false;
    let crashes = 0;
    const looping = await Lab.start({
      onEvent: (event) => {
        if (event.type === 'log' && /state loop detected/.test(event.message)) tripped = true;
      },
      wrapHttp: (http) => ({
        request: async (request) => {
          const body = request.body === undefined ? '' : new TextDecoder().decode(request.body);
          if (!tripped && request.method === 'PUT' && request.url.endsWith('/status') && body.includes('"success"')) {
            crashes++;
            throw new DeviceRestart('crash while reporting success');
          }
          return http.request(request);
        },
      }),
    });
    try {
      await looping.enroll();
      const id = await looping.deploy(looping.artifact('firmware-1.1.0', looping.image('1.1.0')), 'firmware-1.1.0');
      const { last } = await looping.runDevice(80);
      expect(tripped).toBe(true);
      expect(crashes).toBeGreaterThan(20);
      expect(last?.deployment).toEqual({ id, end: 'success' });
      const view = await looping.view(id);
      expect(view.status).toBe('success');
      expect(await looping.runningVersion()).toBe('1.1.0');
    } finally {
      await looping.close();
    }
  });

  it('an unreadable record while the new image is on trial: dropped, the image given up, the deployment done again', async () => {
    lab.newDevice();
    await lab.enroll();
    const id = await lab.deploy(lab.artifact('firmware-1.1.0', lab.image('1.1.0')), 'firmware-1.1.0');
    events.length = 0;
    let corrupted = false;
    const { boots } = await lab.device.run(async (board) => {
      if (!corrupted && (await board.bootControl.state()).isTestBoot) {
        // First boot into the new image: the record is garbage now (bit rot, a bug).
        corrupted = true;
        await board.keyValue.set(RECORD_KEY, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
      }
      await createClient(board, lab.config(board)).runOnce();
    });
    expect(corrupted).toBe(true);
    const logs = events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message);
    expect(logs.some((m) => /deployment record: expected crc32 .*: dropping the stored deployment/.test(m))).toBe(true);
    expect(logs.some((m) => /on trial with no readable deployment: rolling back/.test(m))).toBe(true);
    // Back on 1.0.0 the server still has the deployment open: the next check takes it again, and
    // this time it goes through (boots: download, trial + rollback, download again, trial + commit).
    expect(boots).toBe(4);
    const view = await lab.view(id);
    expect(view.status).toBe('success');
    expect(view.history.filter((h) => h === 'rebooting')).toHaveLength(2);
    expect(await lab.runningVersion()).toBe('1.1.0');
  });
});

describe('update modules are opt-in: the board registers the payload types it installs', () => {
  it('without a module the deployment fails at the head naming the type; registerUpdateModule makes it install', async () => {
    const lab = await Lab.start();
    try {
      await lab.enroll();
      const refused = await lab.deploy(lab.artifact('firmware-1.1.0', lab.image('1.1.0')), 'firmware-1.1.0');
      let last: Awaited<ReturnType<ReturnType<typeof createClient>['runOnce']>> | undefined;
      await lab.device.run(async (board) => {
        last = await createClient(board, { ...lab.config(board), updateModules: [] }).runOnce();
      });
      expect(last?.deployment).toEqual({ id: refused, end: 'failure' });
      expect(await lab.runningVersion()).toBe('1.0.0');
      expect((await lab.view(refused)).log).toMatch(/payload type "zephyr-image": no update module/);

      const id = await lab.deploy(lab.artifact('firmware-1.2.0', lab.image('1.2.0')), 'firmware-1.2.0');
      await lab.device.run(async (board) => {
        const client = createClient(board, { ...lab.config(board), updateModules: [] });
        client.registerUpdateModule(createZephyrImageModule());
        last = await client.runOnce();
      });
      expect(last?.deployment).toEqual({ id, end: 'success' });
      expect(await lab.runningVersion()).toBe('1.2.0');
    } finally {
      await lab.close();
    }
  });
});

describe('a compressed artifact and a reset during its download', () => {
  it('restarts the payload from its first byte and succeeds', async () => {
    const meter = new HttpMeter();
    let lab: Lab | undefined;
    let armed = true;
    lab = await Lab.start({
      payloadBytes: 48 * 1024,
      wrapHttp: (http) => meter.wrap(http),
      onEvent: (event) => {
        if (armed && event.type === 'progress' && event.total !== undefined && event.offset > event.total / 2) {
          armed = false;
          lab!.device.power.cutAfter(0);
        }
      },
    });
    try {
      await lab.enroll();
      const artifact = lab.artifact('firmware-1.1.0', lab.image('1.1.0'), { compression: 'gzip' });
      const id = await lab.deploy(artifact, 'firmware-1.1.0');
      meter.downloadedBytes = 0;
      const { last, boots } = await lab.runDevice();
      expect(armed).toBe(false);
      expect(boots).toBe(3); // the cut, then the reset into the new image
      expect(last?.deployment).toEqual({ id, end: 'success' });
      expect(meter.requests.some((r) => r.range !== undefined)).toBe(false);
      expect(meter.downloadedBytes).toBeGreaterThan(artifact.length);
      expect(lab.device.log.some((entry) => /resuming deployment .* in state "download" after a reset \(power-on\)/.test(entry.message))).toBe(true);
      expect(await lab.runningVersion()).toBe('1.1.0');
    } finally {
      await lab.close();
    }
  });
});
