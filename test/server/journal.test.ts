// Issue 16 item 2: the journal grows with what changes, not with the square of device input; a
// compaction keeps it within a small multiple of the live state; a crash at any write, or a
// failing write, leaves a store that loads (with the change in or out, never a damaged file).
import { describe, it, expect, vi, afterEach } from 'vitest';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../simulator/server/store.ts';
import type { DeviceDeploymentRecord, DeviceRecord } from '../../simulator/server/model.ts';
import { fixture } from '../vectors.ts';
import { call } from './http-client.ts';
import { DEPLOYMENTS, M_DEVICES, TestDevice, createDeployment, tempDir, testServer, uploadArtifact } from './harness.ts';

// Writes can be made to fail part-way (see failWrites); everything else is the real node:fs.
const failing = { afterBytes: -1 };
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const partial = (fd: number, data: Uint8Array | string) => {
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    real.writeSync(fd, bytes, 0, Math.min(failing.afterBytes, bytes.length));
    failing.afterBytes = -1;
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  const writeSync = (fd: number, data: any, ...rest: any[]): number => {
    if (failing.afterBytes < 0) return (real.writeSync as any)(fd, data, ...rest);
    const [offset = 0, length] = rest as [number | undefined, number | undefined];
    const view = Buffer.from(data).subarray(offset, length === undefined ? undefined : offset + length);
    return partial(fd, view);
  };
  const appendFileSync = (target: any, data: any, ...rest: any[]): void => {
    if (failing.afterBytes < 0 || typeof target !== 'number') return (real.appendFileSync as any)(target, data, ...rest);
    partial(target, data);
  };
  return { ...real, default: { ...real, writeSync, appendFileSync }, writeSync, appendFileSync };
});

afterEach(() => {
  failing.afterBytes = -1;
});

const journalOf = (dir: string) => join(dir, 'journal.jsonl');
const sizeOf = (dir: string) => fs.statSync(journalOf(dir)).size;

function device(id: string): DeviceRecord {
  const now = '2026-01-01T00:00:00.000Z';
  return { id, identity: { mac: id }, identityKey: JSON.stringify({ mac: id }), created: now, updated: now, authSets: [], inventory: [] };
}

/** Everything the store holds, for comparing states. */
function contents(store: Store): unknown {
  return (['device', 'artifact', 'deployment', 'device-deployment'] as const).map((k) => JSON.parse(JSON.stringify(store.list(k))));
}

describe('journal growth through the server', () => {
  it('grows with the inventory and status reports sent, not with their square', async () => {
    const server = await testServer();
    try {
      const dd = new TestDevice({ mac: '02:00:00:00:16:02' });
      expect((await dd.authorize(server)).status).toBe(200);
      const deviceId = (await call(server, 'GET', M_DEVICES)).json<{ id: string }[]>()[0]!.id;
      const start = sizeOf(server.dataDir);
      let sent = 0;
      for (let i = 0; i < 80; i++) {
        const body = [{ name: `attr-${i}`, value: 'v'.repeat(1000) }];
        sent += JSON.stringify(body).length;
        expect((await call(server, 'PATCH', '/api/devices/v1/inventory/device/attributes', { token: dd.token, json: body })).status).toBe(200);
      }
      const afterInventory = sizeOf(server.dataDir);
      // The old journal rewrote the whole inventory each time: ~3.5 MB here.
      expect(afterInventory - start).toBeLessThan(2 * sent);

      expect((await uploadArtifact(server, fixture('rootfs-none-unsigned.mender'))).status).toBe(201);
      const id = await createDeployment(server, { artifact_name: 'fx-rootfs-none', devices: [deviceId] });
      expect((await dd.next(server, 'r1', 'fx-device')).status).toBe(200);
      const beforeReports = sizeOf(server.dataDir);
      let reported = 0;
      for (let i = 0; i < 160; i++) {
        const status = i % 2 === 0 ? 'downloading' : 'installing';
        reported += JSON.stringify({ status }).length;
        expect((await call(server, 'PUT', `${DEPLOYMENTS}/${id}/status`, { token: dd.token, json: { status } })).status).toBe(204);
      }
      const grown = sizeOf(server.dataDir) - beforeReports;
      console.log(`journal: +${afterInventory - start} B for ${sent} B of inventory, +${grown} B for ${reported} B of status reports`);
      // A report writes one patch line (~210 bytes: ids, status, a history entry with its time);
      // the old journal rewrote the whole history each time: ~1 MB here.
      expect(grown / 160).toBeLessThan(300);
      const history = server.store.get('device-deployment', `${id}/${deviceId}`)!.history;
      expect(history).toHaveLength(160);
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describe('journal compaction', () => {
  it('keeps the file within twice the state at the last compaction plus the minimum log', () => {
    const dir = tempDir();
    try {
      const minLog = 2 * 1024;
      const store = new Store(dir.path, { compactMinLogBytes: minLog });
      let record = device('d1');
      store.put('device', record);
      let largest = 0;
      for (let i = 0; i < 600; i++) {
        record = { ...record, updated: new Date(i * 1000).toISOString(), checkIn: `check-in ${i}` };
        store.put('device', record);
        largest = Math.max(largest, sizeOf(dir.path));
      }
      const live = Buffer.byteLength(JSON.stringify({ k: 'device', v: record }) + '\n');
      expect(largest).toBeLessThan(2 * live + minLog + 200);
      store.close();
      const again = new Store(dir.path);
      expect(again.get('device', 'd1')).toEqual(record);
      again.close();
    } finally {
      dir.remove();
    }
  });
});

describe('journal crash safety', () => {
  /** Records a run of changes of every kind; returns the store states after each line and the line ends. */
  function recordRun(dir: string): { states: unknown[]; ends: number[] } {
    const store = new Store(dir, { compactMinLogBytes: 1 << 30 });
    const states: unknown[] = [contents(store)];
    const ends: number[] = [sizeOf(dir)];
    const step = (change: () => void) => {
      change();
      states.push(contents(store));
      ends.push(sizeOf(dir));
    };
    let d = device('d1');
    step(() => store.put('device', d));
    d = { ...d, inventory: [{ name: 'a', value: 'x\ny', scope: 'inventory', timestamp: 't1' }, { name: 'b', value: 1, scope: 'inventory', timestamp: 't1' }] };
    step(() => store.put('device', d));
    d = { ...d, inventory: [d.inventory[1]!, { name: 'a', value: 'z', scope: 'inventory', timestamp: 't2' }], checkIn: 't2' };
    step(() => store.put('device', d)); // one dropped, one appended, one field set
    let dd: DeviceDeploymentRecord = { id: 'x/d1', deploymentId: 'x', deviceId: 'd1', status: 'pending', created: 't', history: [] };
    step(() => store.put('device-deployment', dd));
    dd = { ...dd, status: 'downloading', substate: 's', history: [...dd.history, { status: 'downloading', at: 't3' }] };
    step(() => store.put('device-deployment', dd));
    dd = { ...dd, status: 'installing', substate: undefined, history: [...dd.history, { status: 'installing', at: 't4' }] };
    step(() => store.put('device-deployment', dd)); // field removed, item appended
    step(() => store.delete('device', 'd1'));
    store.close();
    return { states, ends };
  }

  it('loads after the journal is cut at every byte of the logged changes, with each change whole or absent', () => {
    const dir = tempDir();
    try {
      const { states, ends } = recordRun(dir.path);
      const full = fs.readFileSync(journalOf(dir.path));
      expect(full.length).toBe(ends.at(-1));
      // Every byte of the last three changes (a patch setting fields and appending, one removing a
      // field, a delete); the earlier lines at their ends and one byte either side.
      const cuts = new Set<number>();
      for (let cut = ends.at(-4)!; cut <= full.length; cut++) cuts.add(cut);
      for (const end of ends) for (const cut of [end - 1, end, end + 1]) if (cut >= ends[0]! && cut <= full.length) cuts.add(cut);
      for (const cut of [...cuts].sort((a, b) => a - b)) {
        fs.writeFileSync(journalOf(dir.path), full.subarray(0, cut));
        const lines = ends.filter((end) => end <= cut).length - 1;
        const store = new Store(dir.path);
        expect(contents(store), `journal cut at byte ${cut}`).toEqual(states[lines]);
        store.close();
      }
    } finally {
      dir.remove();
    }
  });

  it('survives a write that fails part-way: the change is refused, later ones land, the store loads', () => {
    const dir = tempDir();
    try {
      const store = new Store(dir.path);
      const d = device('d1');
      store.put('device', d);
      for (const afterBytes of [0, 1, 10, 40]) {
        failing.afterBytes = afterBytes;
        expect(() => store.put('device', { ...d, checkIn: `failed ${afterBytes}` })).toThrow(/ENOSPC/);
        expect(store.get('device', 'd1')!.checkIn).toBe(d.checkIn);
      }
      store.put('device', { ...d, checkIn: 'after' });
      store.put('device', device('d2'));
      const expected = contents(store);
      store.close();
      const again = new Store(dir.path);
      expect(contents(again)).toEqual(expected);
      again.close();
    } finally {
      dir.remove();
    }
  });
});
