// `ota-mcu server`: prints the URL (and the CA path for HTTPS), serves until SIGTERM/SIGINT, exits 0.
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { call } from '../server/http-client.ts';
import { tempDir } from '../server/harness.ts';
import { run } from '../../simulator/cli/server.ts';
import { runCli } from './cli-harness.ts';

const BIN = fileURLToPath(new URL('../../bin/ota-mcu.mjs', import.meta.url));

/** Starts `ota-mcu server …` as a process and resolves with its first stdout lines. */
function startCli(args: string[]): Promise<{ lines: string[]; stop(signal: NodeJS.Signals): Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'server', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (/^data: .*\n/m.test(out)) {
        resolve({
          lines: out.trim().split('\n'),
          stop: (signal) => {
            child.kill(signal);
            return exited;
          },
        });
      }
    });
    exited.then((code) => reject(new Error(`ota-mcu server exited ${code} before printing its URL: ${err}`)));
  });
}

describe('ota-mcu server', () => {
  it('serves HTTPS with the CA path printed, until SIGTERM', async () => {
    const dir = tempDir();
    try {
      const cli = await startCli(['--port', '0', '--data', dir.path, '--auto-accept']);
      const [url, ca, data] = cli.lines;
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(ca).toBe(`ca: ${dir.path}/ca.pem`);
      expect(data).toBe(`data: ${dir.path}`);
      expect(existsSync(`${dir.path}/ca.pem`)).toBe(true);
      const res = await call({ url: url!, caPem: readFileSync(`${dir.path}/ca.pem`, 'utf8') }, 'GET', '/api/management/v2/devauth/devices');
      expect(res.status).toBe(200);
      expect(await cli.stop('SIGTERM')).toBe(0);
    } finally {
      dir.remove();
    }
  }, 30_000);

  it('serves plain HTTP with --http and stops on SIGINT', async () => {
    const dir = tempDir();
    try {
      const cli = await startCli(['--port', '0', '--data', dir.path, '--http']);
      expect(cli.lines[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(cli.lines.some((l) => l.startsWith('ca:'))).toBe(false);
      expect((await call({ url: cli.lines[0]! }, 'GET', '/api/management/v1/deployments/artifacts')).status).toBe(200);
      expect(await cli.stop('SIGINT')).toBe(0);
    } finally {
      dir.remove();
    }
  }, 30_000);

  it('refuses a bad --port or a stray argument with one line on stderr, exit 1', async () => {
    for (const argv of [['--port', 'http'], ['--port', '70000'], ['extra']]) {
      const result = await runCli(run, argv);
      expect(result.code).toBe(1);
      expect(result.stderr.split('\n')[0]).toMatch(/^ota-mcu server: /);
    }
  });
});
