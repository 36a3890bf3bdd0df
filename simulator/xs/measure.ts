// Measurements of the core on XS, shared by the bench section (simulator/bench/xs.ts) and the
// budget tests (test/xs/budgets.test.ts): XS compute per MiB (xsnap's deterministic meter),
// throughput on Node and on XS, and bundle sizes.
import { createCipheriv } from 'node:crypto';
import { buildBundles } from '../../scripts/build.mjs';
import { sha256Noble } from '../../platform/digest-noble.ts';
import { inflateFflate } from '../../platform/inflate-fflate.ts';
import { verifierNoble } from '../../platform/verifier-noble.ts';
import { writeArtifact } from '../artifact-writer.ts';
import { recordingSha256 } from './guest/digests.ts';
import { runPipeline, type PipelineResult } from './guest/pipeline.ts';
import type { DigestChoice } from './guest/reader-jobs.ts';
import type { XsHarness } from './harness.ts';

export const MIB = 1024 * 1024;
const BLOCK_BYTES = 64 * 1024;

/**
 * Firmware-like bytes: AES-CTR noise (incompressible, deterministic) alternating with a repeated
 * text block, so gzip has something to do (about 2:1), as in the reader bench.
 */
export function firmwareBytes(size: number, seed = 0): Uint8Array {
  const out = new Uint8Array(size);
  const text = new TextEncoder().encode('ota-mcu xs bench: firmware-like filler, strings and tables. '.repeat(BLOCK_BYTES / 59 + 1));
  const iv = new Uint8Array(16);
  new DataView(iv.buffer).setUint32(0, seed);
  const noise = createCipheriv('aes-128-ctr', new Uint8Array(16), iv);
  for (let at = 0, block = 0; at < size; at += BLOCK_BYTES, block++) {
    const n = Math.min(BLOCK_BYTES, size - at);
    out.set(block % 2 === 0 ? new Uint8Array(noise.update(new Uint8Array(n))) : text.subarray(0, n), at);
  }
  return out;
}

/** A module-image artifact with one payload file of `payloadBytes` firmware-like bytes. */
export function benchArtifact(payloadBytes: number, compression: 'none' | 'gzip', payloadType = 'single-file'): Uint8Array {
  return writeArtifact({
    artifactName: `xs-bench-${payloadBytes}-${compression}`,
    deviceTypes: ['xs-bench'],
    payloadType,
    compression,
    mtime: 1_700_000_000,
    files: [{ name: 'firmware.bin', data: firmwareBytes(payloadBytes) }],
  });
}

export interface XsReaderRun {
  readonly result: PipelineResult;
  /** XS operations of the pipeline section alone. */
  readonly compute: number;
  readonly seconds: number;
}

/** The reader pipeline inside XS on `artifact`, fed in `chunkSize` pieces. */
export async function readInXs(
  harness: XsHarness,
  artifact: Uint8Array,
  options: { chunkSize: number; digest: DigestChoice; keyPem?: string },
): Promise<XsReaderRun> {
  const replay = options.digest === 'replay' ? await recordDigests(artifact, options.chunkSize) : undefined;
  const started = performance.now();
  const { value } = await harness.job<PipelineResult & { compute: number }>('readArtifact', {
    artifact,
    chunking: options.chunkSize,
    digest: options.digest,
    ...(options.keyPem ? { keyPem: options.keyPem } : {}),
    ...(replay ? { replay } : {}),
  });
  const seconds = (performance.now() - started) / 1000;
  const { compute, ...result } = value;
  return { result, compute, seconds };
}

/** The same pipeline on Node (JIT), for the same facts and a throughput baseline. */
export async function readInNode(artifact: Uint8Array, chunkSize: number): Promise<{ result: PipelineResult; seconds: number }> {
  const started = performance.now();
  const result = await runPipeline({ artifact, chunking: chunkSize, sha256: sha256Noble, inflate: inflateFflate, verifier: verifierNoble });
  return { result, seconds: (performance.now() - started) / 1000 };
}

/** [length, digest] of every hash the reader takes over `artifact`: what the no-op digest replays. */
export async function recordDigests(artifact: Uint8Array, chunkSize: number): Promise<[number, Uint8Array][]> {
  const seen: [number, Uint8Array][] = [];
  const { error } = await runPipeline({
    artifact,
    chunking: chunkSize,
    sha256: recordingSha256(sha256Noble, seen),
    inflate: inflateFflate,
    verifier: verifierNoble,
  });
  if (error) throw new Error(`recording run failed: ${error.message}`);
  return seen;
}

export interface ComputeProfile {
  readonly payloadBytes: number;
  readonly chunkSize: number;
  /** XS operations per MiB of payload. */
  readonly sha256AlonePerMiB: number;
  /** Undefined when skipped (the budget does not need it; it costs as much as SHA-256 alone). */
  readonly pipelineSha256PerMiB: number | undefined;
  readonly pipelineNoopPerMiB: number;
  /** The bare feed loop (subarray + await per chunk), part of every pipeline number. */
  readonly feedPerMiB: number;
  /** pipelineNoopPerMiB / sha256AlonePerMiB. */
  readonly overheadRatio: number;
}

/** The budget's measurement: an uncompressed artifact in `chunkSize` pieces, metered in XS. */
export async function computeProfile(
  harness: XsHarness,
  payloadBytes: number,
  options: { chunkSize?: number; withSha256Pipeline?: boolean } = {},
): Promise<ComputeProfile> {
  const chunkSize = options.chunkSize ?? 4096;
  const artifact = benchArtifact(payloadBytes, 'none');
  const payload = firmwareBytes(payloadBytes);
  const perMiB = (compute: number) => (compute * MIB) / payloadBytes;
  const alone = await harness.job<{ compute: number }>('sha256Alone', { bytes: payload, chunkSize });
  const feed = await harness.job<{ compute: number }>('feedOnly', { bytes: artifact, chunkSize });
  const withSha = options.withSha256Pipeline === false ? undefined : await readInXs(harness, artifact, { chunkSize, digest: 'noble' });
  const noop = await readInXs(harness, artifact, { chunkSize, digest: 'replay' });
  for (const run of withSha ? [withSha, noop] : [noop]) {
    if (run.result.error) throw new Error(`XS pipeline failed: ${run.result.error.code}: ${run.result.error.message}`);
  }
  return {
    payloadBytes,
    chunkSize,
    sha256AlonePerMiB: perMiB(alone.value.compute),
    pipelineSha256PerMiB: withSha && perMiB(withSha.compute),
    pipelineNoopPerMiB: perMiB(noop.compute),
    feedPerMiB: perMiB(feed.value.compute),
    overheadRatio: noop.compute / alone.value.compute,
  };
}

export interface BundleSizes {
  /** core/index.ts alone, minified, portable implementations external. */
  readonly coreMinBytes: number;
  /** The core with its portable crypto, inflate, CBOR and MCUboot logic, minified. */
  readonly portableMinBytes: number;
  readonly portableModules: readonly string[];
  /** Names the core-alone bundle exports (its public API). */
  readonly coreExports: readonly string[];
}

export async function bundleSizes(): Promise<BundleSizes> {
  const bundles = await buildBundles();
  const exportList = /export\s*\{([^}]*)\}\s*;?\s*$/.exec(bundles.coreMin)?.[1] ?? '';
  const coreExports = exportList.split(',').map((item) => item.trim().split(/\s+as\s+/).pop()!).filter(Boolean);
  return { coreMinBytes: bundles.sizes.coreMin, portableMinBytes: bundles.sizes.portableMin, portableModules: bundles.portableModules, coreExports };
}
