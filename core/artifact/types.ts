// The artifact reader's public shapes: what it learns from the head, and the sink payloads go to.
import type { MaybePromise } from '../../platform/maybe-async.ts';
import type { OtaError } from '../../base/errors.ts';

export type Compression = 'none' | 'gzip';

/** Provides/depends maps as Mender writes them (values are strings or arrays of strings). */
export type ProvidesMap = Record<string, string>;
export type DependsMap = Record<string, string | string[]>;

export interface PayloadInfo {
  /** Index N of data/NNNN.tar. */
  readonly index: number;
  /** Payload type from header-info (tools before 4.4 leave type-info's type empty). */
  readonly type: string;
  readonly provides: ProvidesMap;
  readonly depends: DependsMap;
  readonly clearsProvides: string[];
  readonly metaData: Record<string, unknown> | null;
  /** Files the manifest lists for this payload, in manifest order, with their expected SHA-256. */
  readonly files: { readonly name: string; readonly sha256: Uint8Array }[];
}

/** Everything known once the head (version … header) is read and verified. */
export interface ArtifactHead {
  readonly version: number;
  readonly artifactName: string;
  readonly deviceTypes: string[];
  /** Artifact-level provides/depends from header-info (artifact_provides / artifact_depends). */
  readonly provides: ProvidesMap;
  readonly depends: DependsMap;
  readonly compression: Compression;
  /** 'valid': checked against the key; 'unsigned': no manifest.sig; 'not-checked': signed, no key given. */
  readonly signature: 'valid' | 'unsigned' | 'not-checked';
  /**
   * True when the artifact carries manifest-augment / header-augment: parts outside the signature
   * by design (Mender adds them after signing, for delta updates), which may override payload
   * types, depends and provides and list files of their own.
   */
  readonly augmented: boolean;
  readonly payloads: PayloadInfo[];
}

/** One payload file as it starts streaming. */
export interface PayloadFile {
  readonly payloadIndex: number;
  /** The file name inside data/NNNN.tar (no directory). */
  readonly name: string;
  readonly size: number;
  /** Byte offset in the artifact where this file's content starts (usable for Range resume when uncompressed). */
  readonly artifactOffset: number | undefined;
}

/**
 * Where payload bytes go (an update module's download step). Every method may return a Promise;
 * the reader waits for it before reading on (backpressure).
 */
export interface PayloadSink {
  /** A new file starts. `resumeOffset` > 0 when bytes [0, resumeOffset) are already stored. */
  open(file: PayloadFile, resumeOffset: number): MaybePromise<void>;
  /** Next bytes of the open file; borrowed for the duration of the call. */
  write(bytes: Uint8Array): MaybePromise<void>;
  /** The file is complete and its SHA-256 matched the manifest. */
  close(file: PayloadFile): MaybePromise<void>;
  /** Something failed after bytes were handed over: drop them (the reader rethrows `reason`). */
  discard(reason: OtaError): MaybePromise<void>;
  /** Reads back stored bytes of the open file, so a resumed reader can rebuild its hash. */
  readBack?(offset: number, into: Uint8Array): MaybePromise<void>;
}

/** What end() resolves to: the head plus each file as streamed and verified. */
export interface ArtifactSummary extends ArtifactHead {
  readonly files: { readonly payloadIndex: number; readonly name: string; readonly size: number; readonly sha256: Uint8Array }[];
}
