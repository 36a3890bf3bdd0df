// The reader pipeline as the harness runs it on either engine: artifact bytes in chunks → the
// ArtifactReader (SHA-256 per entry, inflate, signature) → a counting sink. Portable on purpose:
// Node and XS run this same code, so their results and costs compare like for like.
import { createArtifactReader } from '../../../core/artifact/artifact-reader.ts';
import type { PayloadFile, PayloadSink } from '../../../core/artifact/types.ts';
import type { Sha256Factory } from '../../../platform/digest.ts';
import type { Inflate } from '../../../platform/inflate.ts';
import type { PublicKey, Verifier } from '../../../platform/verifier.ts';
import { prng } from '../../prng.ts';
import { artifactFacts, errorFacts, type ArtifactFacts, type ErrorFacts } from './facts.ts';

/** Fixed chunk size, or seeded random sizes in [1, max]. */
export type Chunking = number | { readonly seed: number; readonly max: number };

export interface PipelineOptions {
  readonly artifact: Uint8Array;
  readonly chunking: Chunking;
  readonly sha256: Sha256Factory;
  readonly inflate: Inflate;
  readonly verifier: Verifier;
  readonly key?: PublicKey;
  /** Called after each chunk (the XS meter takes a lap there). */
  readonly onChunk?: () => void;
}

export interface PipelineResult {
  readonly facts?: ArtifactFacts;
  readonly error?: ErrorFacts;
  /** Payload bytes the sink received. */
  readonly sinkBytes: number;
  /** Calls of sink.discard (1 after a failure once payload bytes went out). */
  readonly discards: number;
}


export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  let sinkBytes = 0;
  let discards = 0;
  const sink: PayloadSink = {
    open(_file: PayloadFile): void {},
    write(bytes: Uint8Array): void {
      sinkBytes += bytes.length;
    },
    close(): void {},
    discard(): void {
      discards++;
    },
  };
  const reader = createArtifactReader({
    sha256: options.sha256,
    inflate: options.inflate,
    verifier: options.verifier,
    sink,
    ...(options.key ? { key: options.key } : {}),
  });
  const { artifact, chunking } = options;
  const random = typeof chunking === 'number' ? undefined : prng(chunking.seed);
  try {
    for (let at = 0; at < artifact.length; ) {
      const size = random && typeof chunking !== 'number' ? 1 + Math.floor(random() * chunking.max) : (chunking as number);
      const end = Math.min(artifact.length, at + size);
      await reader.write(artifact.subarray(at, end));
      options.onChunk?.();
      at = end;
    }
    const summary = await reader.end();
    return { facts: artifactFacts(summary), sinkBytes, discards };
  } catch (error) {
    return { error: errorFacts(error), sinkBytes, discards };
  }
}
