// Issue 16 item 5: the token and download-link signing keys live in DATA/secrets/server-keys.json
// (0600, in a 0700 directory), not in the general journal; the server refuses to start when either
// is open to others, naming the path and the mode; keys an older server kept in the journal move.
import { describe, it, expect } from 'vitest';
import { appendFileSync, chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../../simulator/server/server.ts';
import { TestDevice, tempDir } from './harness.ts';
import { call } from './http-client.ts';

const posix = process.platform !== 'win32';

describe('server secrets', () => {
  it.runIf(posix)('keeps the signing keys in a private file, out of the journal, and refuses wider modes', async () => {
    const dir = tempDir();
    try {
      const server = await startServer({ dataDir: dir.path, http: true, autoAccept: true });
      const device = new TestDevice({ mac: '02:00:00:00:16:05' });
      expect((await device.authorize(server)).status).toBe(200);
      await server.close();
      const keysDir = join(dir.path, 'secrets');
      const keysFile = join(keysDir, 'server-keys.json');
      expect(statSync(keysDir).mode & 0o777).toBe(0o700);
      expect(statSync(keysFile).mode & 0o777).toBe(0o600);
      const { jwtKey, linkKey } = JSON.parse(readFileSync(keysFile, 'utf8')) as { jwtKey: string; linkKey: string };
      const journal = readFileSync(join(dir.path, 'journal.jsonl'), 'utf8');
      expect(journal).not.toContain(jwtKey);
      expect(journal).not.toContain(linkKey);
      expect(journal).not.toContain('"secrets"');

      chmodSync(keysFile, 0o644);
      await expect(startServer({ dataDir: dir.path, http: true })).rejects.toThrow(`${keysFile} has mode 0644`);
      chmodSync(keysFile, 0o600);
      chmodSync(keysDir, 0o755);
      await expect(startServer({ dataDir: dir.path, http: true })).rejects.toThrow(`${keysDir} has mode 0755`);
      chmodSync(keysDir, 0o700);

      // The keys survive a restart: the token issued before is still accepted.
      const again = await startServer({ dataDir: dir.path, http: true });
      try {
        expect((await call(again, 'GET', '/api/devices/v1/deviceconfig/configuration', { token: device.token })).status).toBe(404); // authenticated, no configuration
      } finally {
        await again.close();
      }
    } finally {
      dir.remove();
    }
  });

  it.runIf(posix)('moves keys an older server kept in the journal into the private file, and out of the journal', async () => {
    const dir = tempDir();
    try {
      const jwtKey = 'ab'.repeat(32);
      const linkKey = 'cd'.repeat(32);
      appendFileSync(join(dir.path, 'journal.jsonl'), JSON.stringify({ k: 'secrets', v: { id: 'secrets', jwtKey, linkKey } }) + '\n');
      const server = await startServer({ dataDir: dir.path, http: true });
      await server.close();
      expect(JSON.parse(readFileSync(join(dir.path, 'secrets', 'server-keys.json'), 'utf8'))).toEqual({ jwtKey, linkKey });
      expect(readFileSync(join(dir.path, 'journal.jsonl'), 'utf8')).not.toContain(jwtKey);
    } finally {
      dir.remove();
    }
  });
});
