// The dev server as a child process (`ota-mcu server`), for tests that measure the process itself:
// its memory (RSS from /proc, or ps elsewhere) and whether its event loop keeps answering.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '../../bin/ota-mcu.mjs');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Resident set size in bytes. */
  rss(): number;
  stop(): Promise<void>;
}

export async function spawnServer(dataDir: string, args: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'server', '--http', '--port', '0', '--data', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const url = await new Promise<string>((done, fail) => {
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const line = /^(https?:\/\/\S+)\n/m.exec(stdout);
      if (line !== null) done(line[1]!);
    });
    child.on('exit', (code) => fail(new Error(`ota-mcu server exited (${code}) before printing its URL: ${stderr}`)));
  });
  return {
    url,
    child,
    rss() {
      try {
        const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        if (kib !== undefined) return Number(kib) * 1024;
      } catch {
        // not Linux: ask ps
      }
      return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(child.pid)], { encoding: 'utf8' }).trim()) * 1024;
    },
    stop() {
      return new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
    },
  };
}
