// `ota-mcu` runs built JavaScript (dist/cli/, which `npm ci` builds through the "prepare" script),
// not the TypeScript sources through tsx, and starts in little more than Node's own start. The
// whole-process comparison with mender-artifact is `npm run bench` (section cli), not a test: its
// 64 MiB runs are slow and their ratios move with the machine's load.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildCli, CLI_DIR, freshCliEntry } from '../../scripts/build-cli.mjs';
import { writeArtifact } from '../../simulator/artifact-writer.ts';
import { run as inspect } from '../../simulator/cli/inspect.ts';
import { runCli } from './cli-harness.ts';

const BIN = resolve(import.meta.dirname, '../../bin/ota-mcu.mjs');
/** A clean environment: no NODE_OPTIONS, no loader, nothing of the test runner's. */
const CLEAN_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function spawnBin(args: string[], env: Record<string, string> = CLEAN_ENV) {
  return spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
}

beforeAll(async () => {
  // After `npm ci` it is fresh already; in a checkout where sources changed since, build it now.
  if (freshCliEntry() === undefined) await buildCli();
}, 60_000);

describe('ota-mcu starts from built JavaScript', () => {
  it('bin/ota-mcu.mjs runs dist/cli/, not tsx, in a clean environment', () => {
    const result = spawnBin(['--help'], { ...CLEAN_ENV, OTA_MCU_SHOW_ENTRY: '1' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: ota-mcu COMMAND/);
    expect(result.stderr).toBe('ota-mcu: running dist/cli/ota-mcu.mjs\n');
  });

  it('starts within 100 ms of Node\'s own start (tsx alone adds ~250 ms)', () => {
    // Fastest of 7 interleaved runs each: the machine's load only ever adds time.
    let node = Infinity;
    let ours = Infinity;
    for (let i = 0; i < 7; i++) {
      let started = performance.now();
      expect(spawnSync(process.execPath, ['-e', '0'], { env: CLEAN_ENV }).status).toBe(0);
      node = Math.min(node, performance.now() - started);
      started = performance.now();
      expect(spawnBin(['--help']).status).toBe(0);
      ours = Math.min(ours, performance.now() - started);
    }
    expect(ours - node).toBeLessThan(100);
  });

  it('prints what the sources print', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-startup-'));
    try {
      const path = join(dir, 'a.mender');
      writeFileSync(path, writeArtifact({ artifactName: 'a', deviceTypes: ['d'], payloadType: 't', compression: 'gzip', files: [{ name: 'f.bin', data: new Uint8Array(100_000).fill(7) }] }));
      const built = spawnBin(['inspect', '--json', path]);
      const source = await runCli(inspect, ['--json', path]);
      expect(built.status).toBe(0);
      expect(built.stdout).toBe(source.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps each module\'s own location where it reads import.meta.url', () => {
    const owns: string[] = [];
    for (const name of readdirSync(CLI_DIR).filter((file) => file.endsWith('.mjs'))) {
      const text = readFileSync(join(CLI_DIR, name), 'utf8');
      for (const match of text.matchAll(/new URL\(("[^"]+"), import\.meta\.url\)/g)) owns.push(JSON.parse(match[1]!) as string);
    }
    expect(owns).toContain('../../simulator/xs/xsnap-build.ts');
    for (const own of owns) expect(existsSync(fileURLToPath(new URL(own, pathToFileURL(`${CLI_DIR}/`)))), own).toBe(true);
  });

  it('counts dist/cli/ stale once any source it was built from changed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-fresh-'));
    try {
      const record = JSON.parse(readFileSync(join(CLI_DIR, 'inputs.json'), 'utf8')) as { entry: string; inputs: [string, number, number][] };
      expect(record.inputs.map(([path]) => path)).toContain('simulator/cli.ts');
      writeFileSync(join(dir, 'inputs.json'), JSON.stringify(record));
      expect(freshCliEntry(dir)).toBeDefined();
      record.inputs[0]![1] += 1; // a size that no longer matches
      writeFileSync(join(dir, 'inputs.json'), JSON.stringify(record));
      expect(freshCliEntry(dir)).toBeUndefined();
      rmSync(join(dir, 'inputs.json'));
      expect(freshCliEntry(dir)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
