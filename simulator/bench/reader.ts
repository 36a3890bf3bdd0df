// Bench section "reader": the artifact reader's throughput on Node for a 32 MiB payload, compression
// none and gzip, beside `mender-artifact validate` on the same files.
import { createCipheriv } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeArtifactTo } from '../artifact-writer.ts';
import { createArtifactReader } from '../../core/artifact/artifact-reader.ts';
import type { PayloadSink } from '../../core/artifact/types.ts';
import type { Sha256Factory } from '../../platform/digest.ts';
import { sha256Node } from '../digest-node.ts';
import { sha256Noble } from '../../platform/digest-noble.ts';
import { inflateFflate } from '../../platform/inflate-fflate.ts';
import { verifierNoble } from '../../platform/verifier-noble.ts';
import type { BenchRow } from './bench-row.ts';

const MIB = 1024 * 1024;
const PAYLOAD_BYTES = 32 * MIB;
const BLOCK_BYTES = 64 * 1024;
const READ_CHUNK_BYTES = 64 * 1024; // as `ota-mcu inspect` reads
const RUNS = 3; // best of


export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ota-bench-reader-'));
  try {
    const hasTool = spawnSync('sh', ['-c', 'command -v mender-artifact'], { stdio: 'ignore' }).status === 0;
    const note = hasTool ? undefined : 'mender-artifact is not installed (apt-get install -y mender-artifact): its columns are skipped';
    const rows: BenchRow[] = [];
    for (const compression of ['none', 'gzip'] as const) {
      const path = join(dir, `bench-${compression}.mender`);
      writeBenchArtifact(path, compression);
      const artifactBytes = statSync(path).size;
      const tool = hasTool ? bestOf(() => validateWithTool(path)) : null;
      for (const [hashName, sha256] of [['noble', sha256Noble], ['node:crypto', sha256Node]] as const) {
        const ours = await bestOfAsync(() => readWithOurs(path, sha256));
        rows.push({
          section: 'reader',
          name: `${compression}, sha256 ${hashName}${compression === 'gzip' ? ', fflate' : ''}`,
          values: {
            'artifact MiB': artifactBytes / MIB,
            'ota-mcu s': ours,
            'ota-mcu payload MiB/s': PAYLOAD_BYTES / MIB / ours,
            'mender-artifact s': tool,
            'mender-artifact payload MiB/s': tool === null ? null : PAYLOAD_BYTES / MIB / tool,
            'ratio (ota-mcu/mender)': tool === null ? null : tool / ours,
          },
          ...(note === undefined ? {} : { note }),
        });
      }
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Firmware-like payload: AES-CTR noise (incompressible, deterministic) alternating with a repeated
// text block, so gzip has something to do (about 2:1).
function writeBenchArtifact(path: string, compression: 'none' | 'gzip'): void {
  const text = new TextEncoder().encode('ota-mcu bench: firmware-like filler, strings and tables. '.repeat(BLOCK_BYTES / 56 + 1)).subarray(0, BLOCK_BYTES);
  const fd = openSync(path, 'w');
  try {
    writeArtifactTo(
      {
        artifactName: `bench-${compression}`,
        deviceTypes: ['bench-board'],
        payloadType: 'single-file',
        compression,
        files: [
          {
            name: 'firmware.bin',
            size: PAYLOAD_BYTES,
            chunks: function* () {
              const noise = createCipheriv('aes-128-ctr', new Uint8Array(16), new Uint8Array(16));
              const zeros = new Uint8Array(BLOCK_BYTES); // encrypted into noise, one block at a time
              for (let block = 0; block < PAYLOAD_BYTES / BLOCK_BYTES; block++) {
                yield block % 2 === 0 ? new Uint8Array(noise.update(zeros)) : text;
              }
            },
          },
        ],
      },
      (chunk) => {
        for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
      },
    );
  } finally {
    closeSync(fd);
  }
}

async function readWithOurs(path: string, sha256: Sha256Factory): Promise<number> {
  let delivered = 0;
  const sink: PayloadSink = {
    open() {},
    write(bytes) {
      delivered += bytes.length;
    },
    close() {},
    discard() {},
  };
  const started = performance.now();
  const reader = createArtifactReader({ sha256, inflate: inflateFflate, verifier: verifierNoble, sink });
  const fd = openSync(path, 'r');
  const chunk = new Uint8Array(READ_CHUNK_BYTES); // reused once write() has resolved
  try {
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      await reader.write(chunk.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  await reader.end();
  const seconds = (performance.now() - started) / 1000;
  if (delivered !== PAYLOAD_BYTES) throw new Error(`bench reader: delivered ${delivered} payload bytes, expected ${PAYLOAD_BYTES}`);
  return seconds;
}

function validateWithTool(path: string): number {
  const started = performance.now();
  const result = spawnSync('mender-artifact', ['validate', path], { encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`mender-artifact validate ${path}: exit ${result.status}: ${result.stderr.trim()}`);
  return seconds;
}

function bestOf(measure: () => number): number {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) best = Math.min(best, measure());
  return best;
}

async function bestOfAsync(measure: () => Promise<number>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) best = Math.min(best, await measure());
  return best;
}
