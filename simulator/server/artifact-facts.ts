// What the server records about an uploaded artifact (Mender's image meta): name, device types,
// provides/depends, payload types and files. The upload is read in full by the core's
// ArtifactReader, so a broken artifact (bad checksum, bad tar, xz/zstd that devices cannot take)
// is refused at upload, as Mender refuses what its reader cannot parse.
import { createArtifactReader } from '../../core/artifact/artifact-reader.ts';
import type { PayloadSink } from '../../core/artifact/types.ts';
import { toHex } from '../../base/bytes.ts';
import { sha256Node } from '../digest-node.ts';
import { inflateFflate } from '../../platform/inflate-fflate.ts';
import { verifierNoble } from '../../platform/verifier-noble.ts';
import type { ArtifactPayload } from './model.ts';

export interface ArtifactFacts {
  version: number;
  name: string;
  deviceTypes: string[];
  provides: Record<string, string>;
  depends: Record<string, string | string[]>;
  signed: boolean;
  payloads: ArtifactPayload[];
}

/** Chunk fed to the reader from memory. */
const FEED_BYTES = 64 * 1024;
/** The event loop gets a turn at least this often while an artifact is read (other requests wait no longer). */
const YIELD_EVERY_MS = 10;
/**
 * Compressed bytes per inflate push: one push may inflate ~1000-fold (4 KiB of a compression bomb
 * gives ~4 MiB, ~50 ms of work without a turn for anyone else); 1 KiB keeps a push near 10 ms, for
 * fflate's window copy per push (32 KiB, a few µs).
 */
const INFLATE_PUSH_BYTES = 1024;

export interface ReadFactsOptions {
  /** Refuse (PayloadTooLargeError) once the payload files inflate past this many bytes in total. */
  maxPayloadBytes?: number;
}

/** Thrown when the payload inflates past `maxPayloadBytes` (a compression bomb, or just too big). */
export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

/** Reads and checks the whole artifact; rejects with the reader's OtaError when it is broken. */
export async function readArtifactFacts(bytes: Uint8Array, options: ReadFactsOptions = {}): Promise<ArtifactFacts> {
  return readArtifactFactsFrom(
    (function* () {
      for (let at = 0; at < bytes.length; at += FEED_BYTES) yield bytes.subarray(at, at + FEED_BYTES);
    })(),
    options,
  );
}

/**
 * The same, from chunks (an artifact file read as it streams). The payload is inflated, hashed
 * and discarded; reading pauses for the event loop every YIELD_EVERY_MS, since a small upload may
 * inflate to gigabytes and the server must keep answering meanwhile.
 */
export async function readArtifactFactsFrom(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, options: ReadFactsOptions = {}): Promise<ArtifactFacts> {
  const limit = options.maxPayloadBytes ?? Infinity;
  let payloadBytes = 0;
  let tooLarge: PayloadTooLargeError | undefined;
  let lastYield = performance.now();
  const breathe = async (always = false) => {
    if (!always && performance.now() - lastYield < YIELD_EVERY_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    lastYield = performance.now();
  };
  const discard: PayloadSink = {
    open() {},
    async write(bytes) {
      payloadBytes += bytes.length;
      if (payloadBytes > limit) throw (tooLarge = new PayloadTooLargeError(`the payload inflates past ${limit} bytes, the server's limit per artifact`));
      // A turn after every inflated piece (up to ~1 MiB each, see INFLATE_PUSH_BYTES), whatever the clock says.
      await breathe(true);
    },
    close() {},
    discard() {},
  };
  const reader = createArtifactReader({ sha256: sha256Node, inflate: { ...inflateFflate, pushBytes: INFLATE_PUSH_BYTES }, verifier: verifierNoble, sink: discard });
  try {
    for await (const chunk of chunks) {
      await reader.write(chunk);
      await breathe();
    }
    const summary = await reader.end();
    return factsOf(summary);
  } catch (error) {
    // The reader wraps what the sink throws: the size refusal is reported as itself.
    throw tooLarge ?? error;
  }
}

function factsOf(summary: Awaited<ReturnType<ReturnType<typeof createArtifactReader>['end']>>): ArtifactFacts {
  const { device_type: _deviceType, ...depends } = summary.depends;
  return {
    version: summary.version,
    name: summary.artifactName,
    deviceTypes: summary.deviceTypes,
    provides: summary.provides,
    depends,
    signed: summary.signature !== 'unsigned',
    payloads: summary.payloads.map((p) => ({
      type: p.type,
      provides: p.provides,
      depends: p.depends,
      clearsProvides: p.clearsProvides,
      metaData: p.metaData,
      files: summary.files
        .filter((f) => f.payloadIndex === p.index)
        .map((f) => ({ name: f.name, size: f.size, checksum: toHex(f.sha256) })),
    })),
  };
}
