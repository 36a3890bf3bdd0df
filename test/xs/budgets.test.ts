// Budgets, as tests that fail when crossed (issue 6). The XS meter is deterministic, so these are
// stable on any machine. If one cannot be met, do not loosen it: say what it costs and why.
// There is no budget on minified bundle bytes: a device feels RAM and flash, measured in the SDK's
// XS (the preloaded client's flash and heap), not the size of a minified file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XsHarness } from '../../simulator/xs/harness.ts';
import { bundleSizes, computeProfile, MIB } from '../../simulator/xs/measure.ts';
import { heapDuringUpdates } from '../../simulator/xs/update-heap.ts';

const KIB = 1024;

describe('the core-alone bundle', () => {
  let sizes: Awaited<ReturnType<typeof bundleSizes>>;
  beforeAll(async () => {
    sizes = await bundleSizes();
  });

  it('the core-alone bundle is the whole core a board imports: client, reader, errors', () => {
    expect(sizes.coreExports).toEqual(expect.arrayContaining(['createClient', 'createArtifactReader', 'OtaError']));
    // ... and leaves the portable implementations out, which the portable bundle carries.
    expect(sizes.portableMinBytes).toBeGreaterThan(sizes.coreMinBytes + 32 * KIB);
  });
});

describe('budget: the core’s own compute on XS', () => {
  let harness: XsHarness;
  beforeAll(async () => {
    harness = await XsHarness.start({ name: 'budget-compute' });
  });
  afterAll(async () => harness?.close());

  it('reader pipeline with a no-op digest ≤ 2% of SHA-256 alone, per MiB, uncompressed, 4 KiB chunks', async () => {
    // 1 MiB: the head (tar, manifest, header) is amortised over less than in a 4 MiB run, so this
    // is the stricter of the two; the meter makes it exact.
    const profile = await computeProfile(harness, 1 * MIB, { chunkSize: 4096, withSha256Pipeline: false });
    expect(profile.sha256AlonePerMiB).toBeGreaterThan(100e6); // really hashing: noble in XS, ~0.5 G ops/MiB
    expect(profile.pipelineNoopPerMiB).toBeGreaterThan(profile.feedPerMiB); // really reading
    expect(profile.overheadRatio).toBeLessThanOrEqual(0.02);
  });
});

describe('budget: XS heap does not grow with the artifact', () => {
  it('live heap after a full 4 MiB update ≤ after a 1 MiB update + 16 KiB (and the peak likewise)', async () => {
    // Full deployments with the client core in XS (native digest behind the bridge, as on a board
    // with a SHA peripheral, so the 4 MiB run takes seconds); the guest collects garbage before
    // every I/O, so each reading is the live heap. "After" = the last reading before the reset
    // into the new image, when the whole update has been written.
    const [small, large] = await heapDuringUpdates([1 * MIB, 4 * MIB]);
    expect(small!.afterBytes).toBeGreaterThan(0);
    expect(large!.cranks).toBeGreaterThan(small!.cranks); // more I/O points sampled for more bytes
    expect(large!.afterBytes).toBeLessThanOrEqual(small!.afterBytes + 16 * KIB);
    expect(large!.peakBytes).toBeLessThanOrEqual(small!.peakBytes + 16 * KIB);
  });
});
