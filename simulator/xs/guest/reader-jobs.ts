// XS jobs around the artifact reader: the pipeline on given bytes with a chosen digest, SHA-256
// alone, and the bare chunking loop (the feed's own cost), each metered inside XS; and one identity
// signature and one signature check (their heap and compute cost).
import { parsePublicKeyPem } from '../../../platform/public-key.ts';
import { createSigner, generateSecretKey, type SignerKeyType } from '../../../platform/signer-noble.ts';
import { sha256Noble } from '../../../platform/digest-noble.ts';
import { inflateFflate } from '../../../platform/inflate-fflate.ts';
import { verifierNoble } from '../../../platform/verifier-noble.ts';
import type { Sha256Factory } from '../../../platform/digest.ts';
import type { GuestBridge } from './bridge.ts';
import { hostSha256, replaySha256, type DigestReplay } from './digests.ts';
import { startMeter, type Job } from './jobs.ts';
import { runPipeline, type Chunking } from './pipeline.ts';

export type DigestChoice = 'noble' | 'host' | 'replay';

export interface ReadArtifactArgs {
  readonly artifact: Uint8Array;
  readonly chunking: Chunking;
  readonly keyPem?: string;
  readonly digest: DigestChoice;
  readonly replay?: DigestReplay;
}

function sha256For(args: { digest: DigestChoice; replay?: DigestReplay }, bridge: GuestBridge): Sha256Factory {
  if (args.digest === 'host') return hostSha256(bridge);
  if (args.digest === 'replay') return replaySha256(args.replay ?? []);
  return sha256Noble;
}

export const readerJobs: Record<string, Job> = {
  readArtifact: async (args: ReadArtifactArgs, bridge: GuestBridge) => {
    const sha256 = sha256For(args, bridge);
    const key = args.keyPem ? parsePublicKeyPem(args.keyPem) : undefined;
    const meter = startMeter();
    const result = await runPipeline({
      onChunk: meter.lap,
      artifact: args.artifact,
      chunking: args.chunking,
      sha256,
      inflate: inflateFflate,
      verifier: verifierNoble,
      ...(key ? { key } : {}),
    });
    return { ...result, compute: meter.stop() };
  },
  sha256Alone: async (args: { bytes: Uint8Array; chunkSize: number }) => {
    const meter = startMeter();
    const hash = sha256Noble();
    for (let at = 0; at < args.bytes.length; at += args.chunkSize) {
      hash.update(args.bytes.subarray(at, at + args.chunkSize));
      meter.lap();
    }
    const digest = hash.digest();
    return { digest, compute: meter.stop() };
  },
  /** One device-identity signature (the auth request), so the host can see what it leaves on the heap. */
  signOnce: async (args: { type: SignerKeyType; seed: Uint8Array }) => {
    const meter = startMeter();
    const signer = createSigner(args.type, generateSecretKey(args.type, (n) => args.seed.subarray(0, n)));
    const signature = await signer.sign(new Uint8Array([1, 2, 3]));
    return { signature, publicKeyPem: signer.publicKeyPem, compute: meter.stop() };
  },
  verifyOnce: async (args: { keyPem: string; signed: Uint8Array; signature: Uint8Array }) => {
    const key = parsePublicKeyPem(args.keyPem);
    const meter = startMeter();
    const ok = verifierNoble.verify(key.type === 'ed25519' ? 'ed25519' : 'ecdsa-p256-sha256', key, args.signed, args.signature);
    return { ok, compute: meter.stop() };
  },
  feedOnly: async (args: { bytes: Uint8Array; chunkSize: number }) => {
    const meter = startMeter();
    let total = 0;
    const consume = async (chunk: Uint8Array): Promise<void> => {
      total += chunk.length;
    };
    for (let at = 0; at < args.bytes.length; at += args.chunkSize) {
      await consume(args.bytes.subarray(at, at + args.chunkSize));
      meter.lap(); // as the pipeline does, so the baseline carries the same lap cost
    }
    return { total, compute: meter.stop() };
  },
};
