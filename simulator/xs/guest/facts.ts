// What a reader run established, as plain data both engines produce the same way (hashes in hex),
// so Node and XS results compare with one toEqual.
import type { ArtifactSummary } from '../../../core/artifact/types.ts';
import { toHex } from '../../../base/bytes.ts';

export interface ArtifactFacts {
  version: number;
  artifactName: string;
  deviceTypes: string[];
  provides: Record<string, string>;
  depends: Record<string, string | string[]>;
  compression: string;
  signature: string;
  payloads: {
    index: number;
    type: string;
    provides: Record<string, string>;
    depends: Record<string, string | string[]>;
    clearsProvides: string[];
    metaData: unknown;
    files: { name: string; sha256: string }[];
  }[];
  files: { payloadIndex: number; name: string; size: number; sha256: string }[];
}

export function artifactFacts(summary: ArtifactSummary): ArtifactFacts {
  return {
    version: summary.version,
    artifactName: summary.artifactName,
    deviceTypes: [...summary.deviceTypes],
    provides: { ...summary.provides },
    depends: { ...summary.depends },
    compression: summary.compression,
    signature: summary.signature,
    payloads: summary.payloads.map((p) => ({
      index: p.index,
      type: p.type,
      provides: { ...p.provides },
      depends: { ...p.depends },
      clearsProvides: [...p.clearsProvides],
      metaData: p.metaData === null ? null : JSON.parse(JSON.stringify(p.metaData)),
      files: p.files.map((f) => ({ name: f.name, sha256: toHex(f.sha256) })),
    })),
    files: summary.files.map((f) => ({ payloadIndex: f.payloadIndex, name: f.name, size: f.size, sha256: toHex(f.sha256) })),
  };
}

/** An error as plain data: the same on both engines when the core behaves the same. */
export interface ErrorFacts {
  name: string;
  code: string | undefined;
  message: string;
}

export function errorFacts(error: unknown): ErrorFacts {
  const e = error as { name?: unknown; code?: unknown; message?: unknown };
  return {
    name: String(e?.name ?? 'unknown'),
    code: typeof e?.code === 'string' ? e.code : undefined,
    message: String(e?.message ?? error),
  };
}
