// State survives a restart: the JSON-lines journal is replayed and compacted; a torn last line
// (a crash mid-append) is dropped; damage earlier in the journal is an error, not silent loss.
import { describe, it, expect } from 'vitest';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../vectors.ts';
import { call } from './http-client.ts';
import { M_DEVICES, TestDevice, createDeployment, tempDir, testServer, uploadArtifact } from './harness.ts';
import { startServer } from '../../simulator/server/server.ts';
import { Store } from '../../simulator/server/store.ts';
import { expectExchangesFollowSpec } from './openapi.ts';

describe('persistence', () => {
  it('keeps devices, artifacts, deployments, statuses, logs and token keys across a restart', async () => {
    const dir = tempDir();
    try {
      const first = await testServer({ dataDir: dir.path, autoAccept: true });
      await uploadArtifact(first, fixture('rootfs-none-unsigned.mender'));
      const device = new TestDevice({ mac: '02:00:00:00:40:01' });
      await device.authorize(first);
      const deviceId = (await call(first, 'GET', M_DEVICES)).json<{ id: string }[]>()[0]!.id;
      const id = await createDeployment(first, { artifact_name: 'fx-rootfs-none', devices: [deviceId] });
      const uri: string = (await device.next(first, 'r1', 'fx-device')).json().artifact.source.uri;
      await device.report(first, id, 'downloading');
      await first.stop();

      const second = await testServer({ dataDir: dir.path, port: 0 });
      try {
        // The old JWT is still valid (the signing key is kept), the deployment goes on.
        expect((await device.report(second, id, 'installing')).status).toBe(204);
        const statuses = (await call(second, 'GET', `/api/management/v1/deployments/deployments/${id}/devices`)).json<{ status: string }[]>();
        expect(statuses.map((s) => s.status)).toEqual(['installing']);
        expect(second.store.get('device-deployment', `${id}/${deviceId}`)!.history.map((h) => h.status)).toEqual(['downloading', 'installing']);
        // The download link is still signed correctly (new port, same path and key).
        const moved = new URL(new URL(uri).pathname + new URL(uri).search, second.url).toString();
        const download = await call(second, 'GET', moved);
        expect(download.status).toBe(200);
        expect(download.body.equals(Buffer.from(fixture('rootfs-none-unsigned.mender')))).toBe(true);
        // Identical-data rule still holds across the restart.
        expect((await device.next(second, 'r2', 'fx-device')).status).toBe(409);
      } finally {
        await second.close();
        expectExchangesFollowSpec(second.exchanges);
      }
      // Compaction: one line per record, no history of updates.
      const lines = readFileSync(join(dir.path, 'journal.jsonl'), 'utf8').trim().split('\n');
      const store = new Store(dir.path);
      const records = (['device', 'artifact', 'deployment', 'device-deployment', 'secrets'] as const).reduce((n, k) => n + store.list(k).length, 0);
      store.close();
      expect(lines.length).toBeGreaterThan(records); // the second run appended…
      expect(readFileSync(join(dir.path, 'journal.jsonl'), 'utf8').trim().split('\n')).toHaveLength(records); // …and the reopen compacted
    } finally {
      dir.remove();
    }
  });

  it('drops a torn last line and refuses a damaged middle line', async () => {
    const dir = tempDir();
    try {
      const server = await startServer({ dataDir: dir.path, http: true, autoAccept: true });
      await new TestDevice({ mac: '02:00:00:00:41:01' }).authorize(server);
      await server.close();
      expectExchangesFollowSpec(server.exchanges);
      const journal = join(dir.path, 'journal.jsonl');
      appendFileSync(journal, '{"k":"device","v":{"id":"torn');
      const store = new Store(dir.path);
      expect(store.list('device')).toHaveLength(1);
      store.close();
      const text = readFileSync(journal, 'utf8');
      writeFileSync(journal, 'garbage\n' + text);
      expect(() => new Store(dir.path)).toThrow(/journal\.jsonl line 1: not JSON/);
    } finally {
      dir.remove();
    }
  });
});
