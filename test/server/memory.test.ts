// Issue 16 item 1: strangers' bodies must not pile up in the dev server. A body is read only once
// the route and the caller are known, up to the route's limit, and the exchange list keeps bounded
// summaries. Measured on the server process (`ota-mcu server` in a child), by its RSS.
import { describe, it, expect } from 'vitest';
import { request } from 'node:http';
import { TestDevice, tempDir, testServer } from './harness.ts';
import { call } from './http-client.ts';
import { EXCHANGE_BODY_BYTES } from '../../simulator/server/server.ts';
import { spawnServer } from './server-process.ts';

const MIB = 1024 * 1024;

function send(method: string, url: string, path: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    // The server may answer (and close) before it takes the whole body: that is the point.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? resolve(0) : reject(error)));
    req.end(body);
  });
}

describe('dev server memory under large unauthenticated requests', () => {
  it('stays flat over 400 one-MiB bodies from strangers (auth requests, device routes without a token)', async () => {
    const dir = tempDir();
    const server = await spawnServer(dir.path);
    try {
      // Not JSON (answered 400 by the old server after reading it all; now 413 after 64 KiB).
      const body = Buffer.alloc(MIB, 'x');
      const flood = async (count: number) => {
        const statuses = new Set<number>();
        for (let i = 0; i < count; i += 8) {
          const batch = [];
          for (let j = i; j < Math.min(count, i + 8); j++) {
            batch.push(j % 2 === 0 ? send('POST', server.url, '/api/devices/v1/authentication/auth_requests', body) : send('PATCH', server.url, '/api/devices/v1/inventory/device/attributes', body));
          }
          for (const status of await Promise.all(batch)) statuses.add(status);
        }
        return statuses;
      };
      await flood(40); // warm up: JIT, buffers, sockets
      const before = server.rss();
      const statuses = await flood(400);
      const grown = server.rss() - before;
      console.log(`server RSS ${(before / MIB).toFixed(0)} MiB, +${(grown / MIB).toFixed(1)} MiB after 400 x 1 MiB; statuses ${[...statuses].join(', ')}`);
      expect([...statuses].every((s) => s >= 400 || s === 0)).toBe(true);
      // The old server kept 1 MiB per request (400 MiB here); the bound leaves room for GC slack.
      expect(grown, `RSS grew by ${(grown / MIB).toFixed(1)} MiB`).toBeLessThan(96 * MIB);
    } finally {
      await server.stop();
      dir.remove();
    }
  }, 30_000);
});

describe('exchange records', () => {
  it('keep bounded body summaries with the full length, within a byte budget', async () => {
    const server = await testServer({ keepExchangeBytes: 256 * 1024 });
    try {
      const device = new TestDevice({ mac: '02:00:00:00:16:01' });
      expect((await device.authorize(server)).status).toBe(200);
      const attributes = [{ name: 'blob', value: 'x'.repeat(200 * 1024) }];
      for (let i = 0; i < 20; i++) {
        expect((await call(server, 'PUT', '/api/devices/v1/inventory/device/attributes', { token: device.token, json: attributes })).status).toBe(200);
      }
      const puts = server.exchanges.filter((e) => e.method === 'PUT');
      expect(puts.length).toBeGreaterThan(0);
      for (const e of puts) {
        expect(e.requestBody.length).toBe(EXCHANGE_BODY_BYTES);
        expect(e.requestBodyBytes).toBe(Buffer.byteLength(JSON.stringify(attributes)));
      }
      // Oldest dropped past the budget: 20 summaries of 16 KiB do not fit in 256 KiB.
      expect(server.exchanges.length).toBeLessThan(20);
      const kept = server.exchanges.reduce((n, e) => n + e.requestBody.length + (e.responseBody?.length ?? 0), 0);
      expect(kept).toBeLessThanOrEqual(256 * 1024);
    } finally {
      await server.stop();
    }
  });
});
