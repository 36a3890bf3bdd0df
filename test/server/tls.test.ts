// HTTPS by default: a CA and a localhost/127.0.0.1 certificate made on first start, kept in DATA
// (DATA/ca.pem) and reused after a restart; clients that do not trust the CA are refused.
import { describe, it, expect } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { get } from 'node:https';
import { call } from './http-client.ts';
import { tempDir, testServer } from './harness.ts';
import { expectExchangesFollowSpec } from './openapi.ts';

function tlsGet(url: string, ca?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, ...(ca !== undefined ? { ca } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    }).on('error', reject);
  });
}

describe('TLS', () => {
  it('serves HTTPS with a CA in DATA/ca.pem, trusted for 127.0.0.1 and localhost, and keeps it across restarts', async () => {
    const dir = tempDir();
    try {
      const server = await testServer({ dataDir: dir.path, http: false });
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(server.caPath).toBe(join(dir.path, 'ca.pem'));
      expect(readFileSync(server.caPath!, 'utf8')).toBe(server.caPem);
      const ca = new X509Certificate(server.caPem!);
      expect(ca.ca).toBe(true);
      const cert = new X509Certificate(readFileSync(join(dir.path, 'server-cert.pem')));
      expect(cert.subjectAltName).toContain('DNS:localhost');
      expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect((await call(server, 'GET', '/api/management/v2/devauth/devices')).status).toBe(200);
      expect(await tlsGet(server.url.replace('127.0.0.1', 'localhost') + '/api/management/v1/deployments/artifacts', server.caPem)).toBe(200);
      await expect(tlsGet(server.url + '/api/management/v1/deployments/artifacts')).rejects.toThrow(/self.signed|unable to (get|verify)/i);
      const port = Number(new URL(server.url).port);
      await server.close();
      expectExchangesFollowSpec(server.exchanges);
      const again = await testServer({ dataDir: dir.path, http: false, port });
      try {
        expect(again.caPem).toBe(server.caPem);
        expect(await tlsGet(again.url + '/api/management/v1/deployments/artifacts', server.caPem)).toBe(200);
      } finally {
        await again.close();
        expectExchangesFollowSpec(again.exchanges);
      }
    } finally {
      dir.remove();
    }
  });

  it('serves plain HTTP with http: true and has no CA then', async () => {
    const server = await testServer({ http: true });
    try {
      expect(server.url).toMatch(/^http:\/\//);
      expect(server.caPem).toBeUndefined();
      expect((await call(server, 'GET', '/api/management/v2/devauth/devices')).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
