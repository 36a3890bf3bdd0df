// What the server records about an uploaded artifact (Mender's image meta): name, device types,
// provides/depends, payload types and files. The upload is read in full by the core's
// ArtifactReader, so a broken artifact (bad checksum, bad tar, xz/zstd that devices cannot take)
// is refused at upload, as Mender refuses what its reader cannot parse.
import { createArtifactReader } from '../../core/artifact/artifact-reader.ts';
import type { PayloadSink } from '../../core/artifact/types.ts';
import { toHex } from '../../core/bytes.ts';
import { sha256Noble } from '../../platform/digest-noble.ts';
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

/** Chunk fed to the reader: the artifact is already in memory, this only bounds each write. */
const FEED_BYTES = 64 * 1024;

/** Reads and checks the whole artifact; rejects with the reader's OtaError when it is broken. */
export async function readArtifactFacts(bytes: Uint8Array): Promise<ArtifactFacts> {
  const discard: PayloadSink = { open() {}, write() {}, close() {}, discard() {} };
  const reader = createArtifactReader({ sha256: sha256Noble, inflate: inflateFflate, verifier: verifierNoble, sink: discard });
  for (let at = 0; at < bytes.length; at += FEED_BYTES) await reader.write(bytes.subarray(at, at + FEED_BYTES));
  const summary = await reader.end();
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
