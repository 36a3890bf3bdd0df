// Test helpers for the artifact reader: a recording sink, chunked feeding, a seeded PRNG.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createArtifactReader, type ArtifactReader, type ArtifactReaderOptions } from '../../../core/artifact/artifact-reader.ts';
import type { ArtifactHead, ArtifactSummary, PayloadFile, PayloadSink } from '../../../core/artifact/types.ts';
import type { OtaError } from '../../../base/errors.ts';
import { joinBytes } from '../../../base/bytes.ts';
import { sha256Noble } from '../../../platform/digest-noble.ts';
import { inflateFflate } from '../../../platform/inflate-fflate.ts';
import { verifierNoble } from '../../../platform/verifier-noble.ts';
import { parsePublicKeyPem } from '../../../platform/public-key.ts';
import type { PublicKey } from '../../../platform/verifier.ts';
import { MENDER_FIXTURES } from '../../vectors.ts';

export function fixtureKey(name: string): PublicKey {
  return parsePublicKeyPem(readFileSync(resolve(MENDER_FIXTURES, name), 'utf8'));
}

export { prng } from '../../../simulator/prng.ts';

export interface Recorded {
  events: string[];
  files: Map<string, Uint8Array>;
  discarded: OtaError | undefined;
}

/** A sink that keeps every file in memory and logs the calls; optionally async on every call. */
export function recordingSink(async = false): PayloadSink & { recorded: Recorded } {
  const recorded: Recorded = { events: [], files: new Map(), discarded: undefined };
  let parts: Uint8Array[] = [];
  let current: PayloadFile | undefined;
  const later = <T>(value: T) => (async ? new Promise<T>((r) => setTimeout(() => r(value), 0)) : value);
  return {
    recorded,
    open(file, resumeOffset) {
      current = file;
      parts = resumeOffset > 0 ? [recorded.files.get(file.name)!.subarray(0, resumeOffset)] : [];
      recorded.events.push(`open ${file.name} ${file.size} @${resumeOffset}`);
      return later(undefined);
    },
    write(bytes) {
      parts.push(bytes.slice());
      return later(undefined);
    },
    close(file) {
      recorded.files.set(file.name, joinBytes(parts));
      recorded.events.push(`close ${file.name}`);
      current = undefined;
      return later(undefined);
    },
    discard(reason) {
      recorded.discarded = reason;
      recorded.events.push(`discard ${reason.code}`);
      void current;
      return later(undefined);
    },
  };
}

export type ReadOptions = Partial<Omit<ArtifactReaderOptions, 'sink'>> & {
  sink?: PayloadSink;
  /** A fixed chunk size, or a function giving the next one. */
  chunk?: number | (() => number);
};

export function newReader(options: ReadOptions & { sink: PayloadSink }): ArtifactReader {
  return createArtifactReader({
    sha256: sha256Noble,
    inflate: inflateFflate,
    verifier: verifierNoble,
    ...options,
  });
}

/** Feeds `artifact` in chunks and ends; resolves with the summary and what the sink recorded. */
export async function readArtifact(
  artifact: Uint8Array,
  options: ReadOptions = {},
): Promise<{ summary: ArtifactSummary; recorded: Recorded; heads: ArtifactHead[] }> {
  const sink = (options.sink as ReturnType<typeof recordingSink>) ?? recordingSink();
  const heads: ArtifactHead[] = [];
  const reader = newReader({
    ...options,
    sink,
    onHead: async (head) => {
      heads.push(head);
      await options.onHead?.(head);
    },
  });
  const next = typeof options.chunk === 'function' ? options.chunk : () => (options.chunk as number | undefined) ?? 4096;
  for (let at = 0; at < artifact.length; ) {
    const size = Math.max(1, next());
    await reader.write(artifact.subarray(at, at + size));
    at += size;
  }
  const summary = await reader.end();
  return { summary, recorded: sink.recorded, heads };
}

/** Resolves with the error the read rejected with (fails the test if it resolved). */
export async function readError(artifact: Uint8Array, options: ReadOptions = {}): Promise<OtaError & { recorded: Recorded }> {
  const sink = recordingSink();
  try {
    await readArtifact(artifact, { ...options, sink });
  } catch (error) {
    return Object.assign(error as OtaError, { recorded: sink.recorded });
  }
  throw new Error('expected the artifact to be rejected');
}
