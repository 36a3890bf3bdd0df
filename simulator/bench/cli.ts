// Bench section "cli": the `ota-mcu` command against mender-artifact, whole process against whole
// process — `ota-mcu inspect` beside `mender-artifact validate` on 1 MiB and 64 MiB artifacts,
// compression none and gzip, the median of interleaved runs — and, in process, the reader's
// throughput as a fraction of node:crypto's SHA-256 alone over the same bytes.
// Summary keys in bench/results.json: `cliVsMenderArtifact` (each case our median time divided by
// theirs) and `readerVsRawSha256`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createArtifactReader } from '../../core/artifact/artifact-reader.ts';
import type { PayloadSink } from '../../core/artifact/types.ts';
import { buildCli, freshCliEntry } from '../../scripts/build-cli.mjs';
import type { BenchRow, BenchResult } from './bench-row.ts';
import { INSPECT_PLATFORM, READ_CHUNK_BYTES } from '../cli/inspect.ts';
import { benchArtifact, MIB } from '../xs/measure.ts';

const SECTION = 'cli';
const BIN = resolve(fileURLToPath(new URL('../../bin/ota-mcu.mjs', import.meta.url)));
const CASES = [
  { key: 'none1MiB', mib: 1, compression: 'none', runs: 21 },
  { key: 'gzip1MiB', mib: 1, compression: 'gzip', runs: 21 },
  { key: 'none64MiB', mib: 64, compression: 'none', runs: 11 },
  { key: 'gzip64MiB', mib: 64, compression: 'gzip', runs: 11 },
] as const;
/** Runs of the in-process comparison (best of, interleaved) and its payload. */
const IN_PROCESS_RUNS = 7;
const IN_PROCESS_MIB = 64;

/** Our median wall time divided by mender-artifact's, per case; null when it is not installed. */
export type CliVsMenderArtifact = Record<(typeof CASES)[number]['key'], number | null>;

export async function run(): Promise<BenchResult> {
  const rows: BenchRow[] = [];
  const hasTool = spawnSync('sh', ['-c', 'command -v mender-artifact'], { stdio: 'ignore' }).status === 0;
  const toolNote = hasTool ? undefined : 'mender-artifact is not installed (apt-get install -y mender-artifact): the ratios are null';
  if (freshCliEntry() === undefined) await buildCli();
  const entry = spawnSync(process.execPath, [BIN, '--help'], { env: { ...process.env, OTA_MCU_SHOW_ENTRY: '1' }, encoding: 'utf8' }).stderr;
  if (!entry.includes('dist/cli/')) throw new Error(`bench cli: bin/ota-mcu.mjs does not run the built CLI: ${entry.trim()}`);

  // Node's own start, as-is and, when this environment sets it, without NODE_EXTRA_CA_CERTS (Node
  // 20 parses the extra certificates at every start, before any script runs).
  const environments: [string, NodeJS.ProcessEnv][] = [['', process.env]];
  if (process.env.NODE_EXTRA_CA_CERTS !== undefined) {
    const { NODE_EXTRA_CA_CERTS: _, ...clean } = process.env;
    environments.push([', without NODE_EXTRA_CA_CERTS', clean]);
  }
  for (const [label, env] of environments) {
    rows.push({ section: SECTION, name: `node -e 0 (Node's own start)${label}`, values: { 'ota-mcu ms': median(times(21, [[process.execPath, ['-e', '0']]], env)[0]!) } });
    rows.push({ section: SECTION, name: `ota-mcu --help${label}`, values: { 'ota-mcu ms': median(times(21, [[process.execPath, [BIN, '--help']]], env)[0]!) } });
  }

  const summary = {} as CliVsMenderArtifact;
  const dir = mkdtempSync(join(tmpdir(), 'ota-bench-cli-'));
  try {
    for (const { key, mib, compression, runs } of CASES) {
      const path = join(dir, `${key}.mender`);
      const artifact = benchArtifact(mib * MIB, compression);
      writeFileSync(path, artifact);
      for (const [label, env] of environments) {
        const commands: [string, string[]][] = [[process.execPath, [BIN, 'inspect', path]]];
        if (hasTool) commands.push(['mender-artifact', ['validate', path]]);
        times(1, commands, env); // warm the page cache
        const [ours, theirs] = times(runs, commands, env).map(median);
        const ratio = theirs === undefined ? null : ours! / theirs;
        if (label === '') summary[key] = ratio;
        rows.push({
          section: SECTION,
          name: `inspect ${mib} MiB, ${compression}${label}`,
          values: {
            'artifact MiB': artifact.length / MIB,
            'ota-mcu ms': ours!,
            'mender-artifact ms': theirs ?? null,
            'ratio (ota-mcu/mender)': ratio,
          },
          ...(toolNote === undefined ? {} : { note: toolNote }),
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const inProcess = await readerVsRawSha256(benchArtifact(IN_PROCESS_MIB * MIB, 'none'), IN_PROCESS_RUNS);
  rows.push({
    section: SECTION,
    name: `in process, ${IN_PROCESS_MIB} MiB none: reader / SHA-256 alone`,
    values: {
      'reader ms': inProcess.readerSeconds * 1000,
      'sha256 alone ms': inProcess.sha256Seconds * 1000,
      'throughput fraction': inProcess.fraction,
    },
  });
  return { rows, summary: { cliVsMenderArtifact: summary, readerVsRawSha256: inProcess.fraction } };
}

/**
 * The reader as `ota-mcu inspect` runs it (INSPECT_PLATFORM, 1 MiB writes) against node:crypto's
 * SHA-256 alone over the same bytes in the same writes: best of `runs` each, interleaved.
 * `fraction` is the reader's throughput over SHA-256's (1 = the reader costs nothing beside it).
 */
export async function readerVsRawSha256(artifact: Uint8Array, runs: number): Promise<{ fraction: number; readerSeconds: number; sha256Seconds: number }> {
  let readerSeconds = Infinity;
  let sha256Seconds = Infinity;
  for (let i = 0; i < runs; i++) {
    let started = performance.now();
    const hash = createHash('sha256');
    for (let at = 0; at < artifact.length; at += READ_CHUNK_BYTES) hash.update(artifact.subarray(at, at + READ_CHUNK_BYTES));
    hash.digest();
    sha256Seconds = Math.min(sha256Seconds, (performance.now() - started) / 1000);

    started = performance.now();
    const sink: PayloadSink = { open() {}, write() {}, close() {}, discard() {} };
    const reader = createArtifactReader({ ...INSPECT_PLATFORM, sink });
    for (let at = 0; at < artifact.length; at += READ_CHUNK_BYTES) await reader.write(artifact.subarray(at, at + READ_CHUNK_BYTES));
    await reader.end();
    readerSeconds = Math.min(readerSeconds, (performance.now() - started) / 1000);
  }
  return { fraction: sha256Seconds / readerSeconds, readerSeconds, sha256Seconds };
}

/** Wall times in ms of `runs` rounds, each running every command once, in turn. */
function times(runs: number, commands: [string, string[]][], env: NodeJS.ProcessEnv): number[][] {
  const all = commands.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    commands.forEach(([command, args], k) => {
      const started = performance.now();
      const result = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      all[k]!.push(performance.now() - started);
      if (result.status !== 0) throw new Error(`bench cli: ${command} ${args.join(' ')}: exit ${result.status}: ${result.stderr.trim()}`);
    });
  }
  return all;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
