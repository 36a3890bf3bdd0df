// Budgets, as tests that fail when crossed (issue 6). The XS meter is deterministic, so these are
// stable on any machine. If one cannot be met, do not loosen it: say what it costs and why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XsHarness } from '../../simulator/xs/harness.ts';
import { bundleSizes, computeProfile, MIB } from '../../simulator/xs/measure.ts';

const KIB = 1024;

describe('budget: bundle size', () => {
  it('the core alone, minified, without the portable implementations, is at most 48 KiB', async () => {
    const sizes = await bundleSizes();
    expect(sizes.coreMinBytes).toBeGreaterThan(0);
    expect(sizes.coreMinBytes).toBeLessThanOrEqual(48 * KIB);
    // The portable bundle really carries the implementations the core-alone one leaves out.
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
