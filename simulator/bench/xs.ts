// Bench section "xs": the core inside the real Moddable XS engine (xsnap-worker). Reader + SHA-256
// throughput for a 4 MiB artifact (none, gzip) on Node and on XS; XS compute per MiB (xsnap's
// deterministic meter) for SHA-256 alone, the pipeline with SHA-256 and with a no-op digest; XS
// heap during full 1 MiB and 4 MiB updates.
import type { BenchRow } from './bench-row.ts';
import { XsHarness } from '../xs/harness.ts';
import { benchArtifact, firmwareBytes, MIB, readInNode, readInXs } from '../xs/measure.ts';
import { heapDuringUpdates } from '../xs/update-heap.ts';

const PAYLOAD_BYTES = 4 * MIB;
const CHUNK_BYTES = 4096;
const SECTION = 'xs';

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const harness = await XsHarness.start({ name: 'bench-xs' });
  try {
    const idle = await harness.heapAfterGc();
    rows.push({
      section: SECTION,
      name: 'XS heap, idle (guest bundle loaded)',
      values: { 'after KiB': idle.bytes / 1024, slots: idle.slots },
      note: 'the harness guest: core + portable crypto/inflate/CBOR + bridge; the baseline under every heap figure',
    });
    for (const type of ['ed25519', 'ecdsa-p256'] as const) {
      const before = (await harness.heapAfterGc()).bytes;
      await harness.job('signOnce', { type, seed: new Uint8Array(64).fill(7) });
      const after = (await harness.heapAfterGc()).bytes;
      rows.push({
        section: SECTION,
        name: `XS heap kept after one ${type} identity signature (noble-curves)`,
        values: { 'after KiB': (after - before) / 1024 },
        note: 'noble keeps precomputed point tables for the life of the engine; the client signs every auth request',
      });
    }
    let pipelineSha256Compute = 0;
    let gzipNoopCompute = 0;
    for (const compression of ['none', 'gzip'] as const) {
      const artifact = benchArtifact(PAYLOAD_BYTES, compression);
      const node = await readInNode(artifact, CHUNK_BYTES);
      const xs = await readInXs(harness, artifact, { chunkSize: CHUNK_BYTES, digest: 'noble' });
      const xsNative = await readInXs(harness, artifact, { chunkSize: CHUNK_BYTES, digest: 'host' });
      for (const run of [node, xs, xsNative]) if (run.result.error) throw new Error(`xs bench (${compression}): ${run.result.error.message}`);
      if (compression === 'none') pipelineSha256Compute = xs.compute;
      else gzipNoopCompute = (await readInXs(harness, artifact, { chunkSize: CHUNK_BYTES, digest: 'replay' })).compute;
      rows.push({
        section: SECTION,
        name: `reader + sha256, 4 MiB, ${compression}`,
        values: {
          'artifact MiB': artifact.length / MIB,
          'Node MiB/s': PAYLOAD_BYTES / MIB / node.seconds,
          'XS MiB/s': PAYLOAD_BYTES / MIB / xs.seconds,
          'XS native-sha MiB/s': PAYLOAD_BYTES / MIB / xsNative.seconds,
          'XS Mops/MiB': (xs.compute * MIB) / PAYLOAD_BYTES / 1e6,
        },
        note: 'Node and XS run noble SHA-256 (and fflate for gzip) in JS; "native-sha" hashes in Node behind the bridge, as a board with a native digest does',
      });
    }

    const payload = firmwareBytes(PAYLOAD_BYTES);
    const artifact = benchArtifact(PAYLOAD_BYTES, 'none');
    const alone = await harness.job<{ compute: number }>('sha256Alone', { bytes: payload, chunkSize: CHUNK_BYTES });
    const noop = await readInXs(harness, artifact, { chunkSize: CHUNK_BYTES, digest: 'replay' });
    const feed = await harness.job<{ compute: number }>('feedOnly', { bytes: artifact, chunkSize: CHUNK_BYTES });
    const perMiB = (compute: number) => (compute * MIB) / PAYLOAD_BYTES;
    const shaPerMiB = perMiB(alone.value.compute);
    for (const [name, compute] of [
      ['sha256 alone (noble)', alone.value.compute],
      ['reader pipeline + sha256', pipelineSha256Compute],
      ['reader pipeline, no-op digest', noop.compute],
      ['reader pipeline gzip (fflate in XS), no-op digest', gzipNoopCompute],
      ['feed loop only (subarray + await)', feed.value.compute],
    ] as const) {
      rows.push({
        section: SECTION,
        name: `XS compute/MiB: ${name}`,
        values: { 'XS ops/MiB': Math.round(perMiB(compute)), '% of sha256': (100 * perMiB(compute)) / shaPerMiB },
        note: '4 MiB payload in 4 KiB chunks, uncompressed unless named; budget: uncompressed no-op pipeline ≤ 2% of sha256 alone',
      });
    }

    for (const heap of await heapDuringUpdates([1 * MIB, 4 * MIB])) {
      rows.push({
        section: SECTION,
        name: `XS heap, full update ${heap.payloadBytes / MIB} MiB (${heap.board}, native sha)`,
        values: {
          'peak KiB': heap.peakBytes / 1024,
          'after KiB': heap.afterBytes / 1024,
          cranks: heap.cranks,
          's': heap.seconds,
        },
        note: 'currentHeapCount (live XS slots) × 32 B (64-bit host; 16 B on ESP32/STM32); peak = largest seen at the end of a crank, after = after gc(); budget: after(4 MiB) ≤ after(1 MiB) + 16 KiB',
      });
    }
  } finally {
    await harness.close();
  }

  return rows;
}
