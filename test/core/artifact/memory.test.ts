// Bounded memory: a generated 64 MiB uncompressed artifact streams through the reader while the
// heap it retains stays under a stated bound. The artifact is written to a temporary file by the
// writer and fed back in 64 KiB chunks, so the test itself never holds it.
import { afterAll, describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { writeArtifactTo } from '../../../simulator/artifact-writer.ts';
import type { PayloadSink } from '../../../core/artifact/types.ts';
import { newReader } from './helpers.ts';

const MIB = 1024 * 1024;
const PAYLOAD_BYTES = 64 * MIB;
const READ_CHUNK_BYTES = 64 * 1024;
// The reader's own buffers are a few KiB (the small-entry buffer sized to the head, tar blocks, pax buffers);
// 2 MiB leaves room for V8's bookkeeping noise and still catches any buffer that grows with the payload.
const RETAINED_BOUND_BYTES = 2 * MIB;

// vitest workers start without --expose-gc; the flag can still be set at runtime for a fresh context.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function retained(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const dir = mkdtempSync(join(tmpdir(), 'ota-mcu-64mib-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ArtifactReader memory', () => {
  it(`streams a 64 MiB artifact retaining less than ${RETAINED_BOUND_BYTES / MIB} MiB`, async () => {
    const path = join(dir, 'big.mender');
    const fd = openSync(path, 'w');
    const block = new Uint8Array(MIB).map((_, i) => (i * 131) & 255);
    writeArtifactTo(
      {
        artifactName: 'big-1', deviceTypes: ['d'], payloadType: 'single-file', compression: 'none', mtime: 0,
        files: [{ name: 'big.bin', size: PAYLOAD_BYTES, chunks: function* () { for (let i = 0; i < PAYLOAD_BYTES / MIB; i++) yield block; } }],
      },
      (chunk) => void writeSync(fd, chunk),
    );
    closeSync(fd);

    let received = 0;
    const sink: PayloadSink = {
      open: () => {},
      write: (bytes) => void (received += bytes.length),
      close: () => {},
      discard: () => {},
    };
    const reader = newReader({ sink });
    const input = openSync(path, 'r');
    const chunk = new Uint8Array(READ_CHUNK_BYTES);
    const baseline = retained();
    let worst = 0;
    const started = performance.now();
    for (let n = 0, i = 0; (n = readSync(input, chunk)) > 0; i++) {
      await reader.write(chunk.subarray(0, n));
      if (i % 128 === 0) worst = Math.max(worst, retained() - baseline); // every 8 MiB
    }
    closeSync(input);
    const summary = await reader.end();
    const seconds = (performance.now() - started) / 1000;
    worst = Math.max(worst, retained() - baseline);
    console.log(`64 MiB artifact (none) on Node ${process.version}: ${(PAYLOAD_BYTES / MIB / seconds).toFixed(1)} MiB/s; worst retained growth ${(worst / 1024).toFixed(0)} KiB`);
    expect(received).toBe(PAYLOAD_BYTES);
    expect(summary.files[0]!.size).toBe(PAYLOAD_BYTES);
    expect(worst).toBeLessThan(RETAINED_BOUND_BYTES);
  }, 60_000);

  it('a reader holds no fixed 64 KiB: the small-entry buffer grows to what the head needs', async () => {
    // 200 readers, each fed an artifact's head up to its data: with a fixed 64 KiB small-entry
    // buffer they would retain 12.5 MiB; sized to the head, a few hundred KiB.
    const artifact: Uint8Array[] = [];
    writeArtifactTo(
      { artifactName: 'head-1', deviceTypes: ['d'], payloadType: 'single-file', compression: 'none', mtime: 0, files: [{ name: 'a.bin', data: new Uint8Array(10_000) }] },
      (chunk) => void artifact.push(chunk.slice()),
    );
    const bytes = new Uint8Array(artifact.reduce((n, c) => n + c.length, 0));
    artifact.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
    const sink: PayloadSink = { open: () => {}, write: () => {}, close: () => {}, discard: () => {} };
    const baseline = retained();
    const readers = [];
    for (let i = 0; i < 200; i++) {
      const reader = newReader({ sink });
      await reader.write(bytes.subarray(0, 4096)); // version, manifest and the start of header.tar
      readers.push(reader);
    }
    const perReader = (retained() - baseline) / readers.length;
    expect(readers).toHaveLength(200);
    expect(perReader).toBeLessThan(16 * 1024);
  });
});
