// Runs a CLI command and captures its stdout/stderr: in-process (runCli), or as `bin/ota-mcu.mjs`
// in a child process (spawnCli) for commands that own the process (demo, device).
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { vi } from 'vitest';

const BIN = resolve(import.meta.dirname, '../../bin/ota-mcu.mjs');

export async function runCli(run: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await run(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** `ota-mcu COMMAND ...args` in a child process, asynchronously (a dev server may answer from this one). */
export function spawnCli(command: string, args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}
