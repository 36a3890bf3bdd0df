// Streaming, verifying reader of Mender Artifact format v3 (research/mender-protocol.md §1,
// specs/mender/mender-artifact-format-v3.md). Push chunks of any size; payload files stream to a
// PayloadSink; memory stays bounded by the fixed buffers declared below.
import type { Sha256Factory, Digest } from '../../platform/digest.ts';
import type { Inflate, InflateStream } from '../../platform/inflate.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';
import type { PublicKey, SignatureScheme, Verifier } from '../../platform/verifier.ts';
import { equalBytes, fromBase64, fromUtf8, toHex } from '../bytes.ts';
import { OtaError, isOtaError } from '../errors.ts';
import { parseHeaderInfo, parseMetaData, parseTypeInfo, type HeaderInfo, type TypeInfo } from './header.ts';
import { parseManifest, type ManifestLine } from './manifest.ts';
import { TarReader, type TarEntry, type TarHandler } from './tar-reader.ts';
import type { ArtifactHead, ArtifactSummary, Compression, PayloadFile, PayloadInfo, PayloadSink } from './types.ts';

/** version, manifest(-augment), manifest.sig and each JSON file of header.tar: one buffer, reused. */
export const SMALL_ENTRY_MAX_BYTES = 64 * 1024;
/** header.tar after inflate (scripts included): a header is a few KiB in practice. */
export const HEADER_TAR_MAX_BYTES = 1024 * 1024;
/** Compressed bytes per inflate push, so each push's output stays bounded. */
export const INFLATE_PUSH_BYTES = 4 * 1024;
/** Chunk for reading stored bytes back on resume. */
export const READ_BACK_BYTES = 4 * 1024;

export interface ResumePoint {
  readonly payloadIndex: number;
  /** The payload file (name inside data/NNNN.tar) that was being stored. */
  readonly fileName: string;
  /** Bytes of that file already stored by the sink. */
  readonly fileOffset: number;
}

export interface ArtifactReaderOptions {
  readonly sha256: Sha256Factory;
  readonly inflate: Inflate;
  readonly verifier: Verifier;
  /** When set, the artifact must be signed with it; when not, signatures are reported 'not-checked'. */
  readonly key?: PublicKey;
  readonly sink: PayloadSink;
  /** Awaited once the head is read and verified, before any payload byte reaches the sink. */
  readonly onHead?: (head: ArtifactHead) => MaybePromise<void>;
  /**
   * Continue a download that stopped inside an uncompressed payload file. Only payloads with a
   * single file resume; with several files the payload is streamed again from its start (the sink
   * sees open(file, 0) for each). A gzip-compressed payload cannot resume: 'artifact-unsupported'.
   */
  readonly resume?: ResumePoint;
}

const HEADER_NAME = /^header\.tar(\.gz|\.xz|\.zst)?$/;
const HEADER_AUGMENT_NAME = /^header-augment\.tar(\.gz|\.xz|\.zst)?$/;
const DATA_NAME = /^data\/(\d{4})\.tar(\.gz|\.xz|\.zst)?$/;
const PAYLOAD_FILE_NAME = /^[A-Za-z0-9_\-.,]+$/; // mender-artifact's `^[\w\-.,]+$` (Go's \w is ASCII)
const HEADER_FILE = /^headers\/(\d{4})\/(type-info|meta-data)$/;

type Stage = 'version' | 'manifest' | 'manifest-read' | 'signature-read' | 'augment-read' | 'header-read' | 'data';
type OuterKind = 'small' | 'header' | 'data';

/** What is being read from one compressed-or-not inner tar (header.tar, header-augment.tar, data/NNNN.tar). */
interface InnerStream {
  readonly label: string;
  readonly tar: TarReader;
  readonly inflate: InflateStream | undefined;
  inflatedBytes: number;
}

function unsupportedCompression(entry: string, suffix: string): OtaError {
  if (suffix === '.xz') {
    return new OtaError(
      'artifact-unsupported',
      `${entry}: xz (lzma) compression is not supported: mender-artifact writes xz with a 64 MiB dictionary, which a device cannot hold; write the artifact with --compression gzip or none`,
    );
  }
  return new OtaError(
    'artifact-unsupported',
    `${entry}: zstd compression is not supported: a zstd frame from mender-artifact needs a decoder window of several MiB, which a device cannot hold; write the artifact with --compression gzip or none`,
  );
}

function compressionOf(suffix: string | undefined): Compression {
  return suffix === '.gz' ? 'gzip' : 'none';
}

export class ArtifactReader {
  /** Set after a resume point was reached: the artifact byte offset the next write() must start at. */
  seekTo: number | undefined;

  readonly #options: ArtifactReaderOptions;
  readonly #outer: TarReader;
  readonly #small = new Uint8Array(SMALL_ENTRY_MAX_BYTES); // 64 KiB, see SMALL_ENTRY_MAX_BYTES
  #smallLength = 0;
  #readBack: Uint8Array | undefined; // 4 KiB (READ_BACK_BYTES), only when resuming

  #stage: Stage = 'version';
  #outerKind: OuterKind = 'small';
  #outerEntry: TarEntry | undefined;
  #entryHash: Digest | undefined; // SHA-256 of the outer entry (version, header.tar, header-augment.tar)
  #busy = false;
  #ended = false;
  #failed: unknown; // the first failure; every later call rethrows it
  #sinkUsed = false;

  // What the head is built from.
  #versionHash: Uint8Array | undefined;
  #manifestBytes: Uint8Array | undefined; // kept only until manifest.sig is checked
  readonly #checksums = new Map<string, Uint8Array>(); // manifest + manifest-augment, by name
  readonly #manifestOrder: ManifestLine[] = [];
  readonly #visited = new Set<string>();
  #signature: ArtifactHead['signature'] = 'unsigned';
  #augmented = false;
  #headerSuffix = '';
  #headerInfo: HeaderInfo | undefined;
  #augmentPayloadTypes: (string | null)[] | undefined;
  readonly #typeInfo = new Map<number, TypeInfo>();
  readonly #augmentTypeInfo = new Map<number, TypeInfo>();
  readonly #metaData = new Map<number, Record<string, unknown> | null>();
  readonly #augmentMetaData = new Map<number, Record<string, unknown> | null>();
  #head: ArtifactHead | undefined;
  readonly #files: ArtifactSummary['files'][number][] = [];

  // The inner tar being read and what its current entry is.
  #inner: InnerStream | undefined;
  #innerIsAugment = false;
  #innerEntryKind: 'buffer' | 'skip' | 'file' = 'skip';
  #innerNames = new Set<string>();
  #headerError: OtaError | undefined; // a header.tar problem, reported only if its checksum matches
  #payloadIndex = -1;
  #file: PayloadFile | undefined;
  #fileHash: Digest | undefined;
  #resumePending: ResumePoint | undefined;
  #resumeSkip = 0; // bytes of the resumed file the inner tar must jump over

  constructor(options: ArtifactReaderOptions) {
    if (typeof options?.sha256 !== 'function') throw new TypeError('"sha256" expected a Sha256Factory');
    if (typeof options.inflate?.gunzip !== 'function') throw new TypeError('"inflate" expected an Inflate');
    if (typeof options.verifier?.verify !== 'function') throw new TypeError('"verifier" expected a Verifier');
    const sink = options.sink;
    if (!sink || typeof sink.open !== 'function' || typeof sink.write !== 'function' || typeof sink.close !== 'function' || typeof sink.discard !== 'function') {
      throw new TypeError('"sink" expected a PayloadSink (open, write, close, discard)');
    }
    const resume = options.resume;
    if (resume !== undefined) {
      if (!Number.isInteger(resume.payloadIndex) || resume.payloadIndex < 0) throw new RangeError(`"resume.payloadIndex" expected an index ≥ 0, got ${resume.payloadIndex}`);
      if (typeof resume.fileName !== 'string') throw new TypeError(`"resume.fileName" expected a string, got ${typeof resume.fileName}`);
      if (!Number.isSafeInteger(resume.fileOffset) || resume.fileOffset < 0) throw new RangeError(`"resume.fileOffset" expected a byte offset ≥ 0, got ${resume.fileOffset}`);
      if (typeof sink.readBack !== 'function') throw new TypeError('"resume" needs a sink with readBack() to rebuild the file hash');
      if (resume.fileOffset > 0) this.#resumePending = { ...resume };
    }
    this.#options = { ...options };
    this.#outer = new TarReader(this.#outerHandler(), 'artifact');
  }

  /** Reads the next bytes of the artifact. Await it before writing again (backpressure). */
  async write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) throw new TypeError(`"chunk" expected a Uint8Array, got ${typeof chunk}`);
    if (this.#ended) throw new Error('ArtifactReader.write() after end()');
    if (this.#busy) throw new Error('ArtifactReader.write() while the previous write() is still pending');
    if (this.#failed !== undefined) throw this.#failed;
    this.#busy = true;
    try {
      if (this.seekTo !== undefined) this.#jump();
      await this.#outer.write(chunk);
    } catch (error) {
      throw await this.#fail(error);
    } finally {
      this.#busy = false;
    }
  }

  /** Ends the artifact: every check that needs the whole stream runs here. */
  async end(): Promise<ArtifactSummary> {
    if (this.#busy) throw new Error('ArtifactReader.end() while write() is still pending');
    if (this.#ended) throw new Error('ArtifactReader.end() called twice');
    if (this.#failed !== undefined) throw this.#failed;
    this.#ended = true;
    try {
      if (this.seekTo !== undefined) throw new OtaError('artifact-format', `artifact ended at the resume point; expected bytes from offset ${this.seekTo}`);
      this.#outer.end();
      if (this.#stage !== 'header-read' && this.#stage !== 'data') {
        throw new OtaError('artifact-format', `artifact: truncated: ended at byte ${this.#outer.position} before the header was read`);
      }
      if (this.#augmented && this.#stage === 'header-read' && !this.#visited.has(`header-augment.tar${this.#headerSuffix}`)) {
        throw new OtaError('artifact-format', `artifact: manifest-augment is present but header-augment.tar${this.#headerSuffix} is missing`);
      }
      await this.#emitHead();
      for (const line of this.#manifestOrder) {
        if (!this.#visited.has(line.name)) {
          throw new OtaError('artifact-format', `manifest lists "${line.name}" but the artifact has no such entry`);
        }
      }
      return { ...this.#head!, files: this.#files.slice() };
    } catch (error) {
      throw await this.#fail(error);
    }
  }

  // ---- failure ------------------------------------------------------------------------------

  /**
   * Records the first failure and tells the sink to drop what it got. Everything the reader itself
   * detects is an OtaError; anything else is a bug and is rethrown as is (the sink still discards).
   */
  async #fail(error: unknown): Promise<unknown> {
    if (this.#failed !== undefined) return this.#failed;
    this.#failed = error;
    if (this.#sinkUsed) {
      const reason = isOtaError(error) ? error : new OtaError('aborted', `artifact reader failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      try {
        await this.#options.sink.discard(reason);
      } catch {
        // The original failure is what the caller needs; a failing discard must not hide it.
      }
    }
    return error;
  }

  /** Runs a caller-supplied callback; a non-OtaError from it becomes OtaError('aborted') naming it. */
  async #call(what: string, fn: () => MaybePromise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      if (isOtaError(error)) throw error;
      throw new OtaError('aborted', `${what} threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
  }

  // ---- outer tar ------------------------------------------------------------------------------

  #outerHandler(): TarHandler {
    return {
      entry: (entry) => this.#outerEntryStart(entry),
      data: (bytes) => this.#outerData(bytes),
      entryEnd: (entry) => this.#outerEntryEnd(entry),
    };
  }

  async #outerEntryStart(entry: TarEntry): Promise<void> {
    const name = entry.name;
    if (entry.type !== '0') {
      throw new OtaError('artifact-format', `artifact entry "${name}" at byte ${entry.offset}: expected a regular file, got tar type '${entry.type}'`);
    }
    this.#outerEntry = entry;
    this.#entryHash = undefined;
    const order = (expected: string): never => {
      throw new OtaError('artifact-format', `artifact entry "${name}" at byte ${entry.offset}: out of order, expected ${expected}`);
    };
    const isHeader = HEADER_NAME.exec(name);
    switch (this.#stage) {
      case 'version':
        if (name !== 'version') order('"version" first');
        return this.#startSmall(true);
      case 'manifest':
        if (name !== 'manifest') order('"manifest" after "version"');
        return this.#startSmall(false);
      case 'manifest-read':
        if (name === 'manifest.sig') return this.#startSmall(false);
        this.#checkSignatureMissing();
        if (name === 'manifest-augment') return this.#startSmall(false);
        if (isHeader) return this.#startHeader(entry, isHeader[1] ?? '', false);
        return order('"manifest.sig", "manifest-augment" or "header.tar[.gz]" after "manifest"');
      case 'signature-read':
        if (name === 'manifest-augment') return this.#startSmall(false);
        if (isHeader) return this.#startHeader(entry, isHeader[1] ?? '', false);
        return order('"manifest-augment" or "header.tar[.gz]" after "manifest.sig"');
      case 'augment-read':
        if (isHeader) return this.#startHeader(entry, isHeader[1] ?? '', false);
        return order('"header.tar[.gz]" after "manifest-augment"');
      case 'header-read': {
        if (this.#augmented && !this.#visited.has(`header-augment.tar${this.#headerSuffix}`)) {
          const augment = HEADER_AUGMENT_NAME.exec(name);
          if (!augment || (augment[1] ?? '') !== this.#headerSuffix) order(`"header-augment.tar${this.#headerSuffix}" after "header.tar${this.#headerSuffix}" (manifest-augment is present)`);
          return this.#startHeader(entry, augment![1] ?? '', true);
        }
        return this.#startData(entry);
      }
      case 'data':
        return this.#startData(entry);
    }
  }

  async #outerData(bytes: Uint8Array): Promise<void> {
    switch (this.#outerKind) {
      case 'small':
        this.#entryHash?.update(bytes);
        this.#appendSmall(bytes, this.#outerEntry!.name);
        return;
      case 'header':
        this.#entryHash!.update(bytes);
        if (this.#headerError) return; // keep hashing; the checksum decides which error to report
        try {
          await this.#feedInner(bytes);
        } catch (error) {
          if (!isOtaError(error)) throw error;
          this.#headerError = error;
        }
        return;
      case 'data':
        await this.#feedInner(bytes);
        return;
    }
  }

  async #outerEntryEnd(entry: TarEntry): Promise<void> {
    switch (this.#outerKind) {
      case 'small':
        return this.#endSmall(entry.name);
      case 'header':
        return this.#endHeader(entry.name);
      case 'data':
        await this.#finishInner();
        this.#inner = undefined;
        return;
    }
  }

  // ---- version, manifest, manifest.sig, manifest-augment -----------------------------------------

  #startSmall(hashed: boolean): void {
    this.#outerKind = 'small';
    this.#smallLength = 0;
    if (hashed) this.#entryHash = this.#options.sha256();
  }

  #appendSmall(bytes: Uint8Array, where: string): void {
    if (this.#smallLength + bytes.length > SMALL_ENTRY_MAX_BYTES) {
      throw new OtaError('artifact-unsupported', `${where}: larger than the ${SMALL_ENTRY_MAX_BYTES / 1024} KiB this reader buffers for it`);
    }
    this.#small.set(bytes, this.#smallLength);
    this.#smallLength += bytes.length;
  }

  async #endSmall(name: string): Promise<void> {
    const bytes = this.#small.subarray(0, this.#smallLength);
    switch (name) {
      case 'version':
        this.#readVersion(bytes);
        this.#versionHash = this.#entryHash!.digest();
        this.#stage = 'manifest';
        return;
      case 'manifest': {
        const lines = parseManifest(bytes, 'manifest');
        this.#addChecksums(lines);
        const expected = this.#checksums.get('version');
        if (!expected) throw new OtaError('artifact-format', 'manifest: does not list "version"');
        if (!equalBytes(expected, this.#versionHash!)) {
          throw new OtaError('checksum-mismatch', `version: expected sha256 ${toHex(expected)} (manifest), got ${toHex(this.#versionHash!)}`);
        }
        this.#visited.add('version');
        this.#manifestBytes = bytes.slice();
        this.#stage = 'manifest-read';
        return;
      }
      case 'manifest.sig':
        await this.#checkSignature(bytes);
        this.#manifestBytes = undefined;
        this.#stage = 'signature-read';
        return;
      case 'manifest-augment':
        this.#addChecksums(parseManifest(bytes, 'manifest-augment', new Set(this.#checksums.keys())));
        this.#augmented = true;
        this.#stage = 'augment-read';
        return;
    }
  }

  #readVersion(bytes: Uint8Array): void {
    let json: unknown;
    try {
      json = JSON.parse(fromUtf8(bytes));
    } catch (error) {
      throw new OtaError('artifact-format', `version: invalid JSON (${(error as Error).message})`);
    }
    const { format, version } = (json ?? {}) as { format?: unknown; version?: unknown };
    if (format !== 'mender') throw new OtaError('artifact-format', `version: expected format "mender", got ${JSON.stringify(format)}`);
    if (version === 2) {
      throw new OtaError('artifact-unsupported', 'version: Mender Artifact format version 2 is not supported (only version 3; rebuild it with mender-artifact ≥ 3.0)');
    }
    if (version !== 3) throw new OtaError('artifact-unsupported', `version: expected format version 3, got ${JSON.stringify(version)}`);
  }

  #addChecksums(lines: ManifestLine[]): void {
    for (const line of lines) {
      this.#checksums.set(line.name, line.sha256);
      this.#manifestOrder.push(line);
    }
  }

  #checkSignatureMissing(): void {
    this.#manifestBytes = undefined;
    if (this.#options.key) {
      throw new OtaError('signature-missing', 'manifest.sig: the artifact is not signed, but a verification key is configured');
    }
  }

  async #checkSignature(text: Uint8Array): Promise<void> {
    const key = this.#options.key;
    if (!key) {
      this.#signature = 'not-checked';
      return;
    }
    let signature: Uint8Array;
    try {
      signature = fromBase64(fromUtf8(text));
    } catch {
      throw new OtaError('signature-invalid', `manifest.sig: expected base64, got ${JSON.stringify(String.fromCharCode(...text.subarray(0, 16)))}…`);
    }
    const manifest = this.#manifestBytes!;
    let scheme: SignatureScheme;
    let signed: Uint8Array;
    if (key.type === 'ed25519') {
      scheme = 'ed25519';
      signed = manifest;
    } else {
      scheme = key.type === 'rsa' ? 'rsa-pkcs1-sha256' : 'ecdsa-p256-sha256';
      const hash = this.#options.sha256();
      hash.update(manifest);
      signed = hash.digest();
    }
    let valid: boolean;
    try {
      valid = await this.#options.verifier.verify(scheme, key, signed, signature);
    } catch (error) {
      throw new OtaError('signature-invalid', `manifest.sig: cannot check a ${signature.length}-byte signature with the ${key.type} key: ${(error as Error)?.message}`, { cause: error });
    }
    if (!valid) throw new OtaError('signature-invalid', `manifest.sig: the ${scheme} signature does not verify with the configured ${key.type} key`);
    this.#signature = 'valid';
  }

  // ---- header.tar and header-augment.tar --------------------------------------------------------

  #startHeader(entry: TarEntry, suffix: string, augment: boolean): void {
    if (suffix === '.xz' || suffix === '.zst') throw unsupportedCompression(entry.name, suffix);
    if (!this.#checksums.has(entry.name)) throw new OtaError('artifact-format', `${entry.name}: not listed in the manifest${augment ? ' or manifest-augment' : ''}`);
    if (!augment) this.#headerSuffix = suffix;
    this.#outerKind = 'header';
    this.#entryHash = this.#options.sha256();
    this.#headerError = undefined;
    this.#innerIsAugment = augment;
    this.#innerNames = new Set();
    this.#inner = this.#openInner(entry.name, suffix, this.#headerHandler(entry.name));
  }

  async #endHeader(name: string): Promise<void> {
    if (!this.#headerError) {
      try {
        await this.#finishInner();
      } catch (error) {
        if (!isOtaError(error)) throw error;
        this.#headerError = error;
      }
    }
    this.#inner = undefined;
    const actual = this.#entryHash!.digest();
    const expected = this.#checksums.get(name)!;
    if (!equalBytes(actual, expected)) {
      throw new OtaError('checksum-mismatch', `${name}: expected sha256 ${toHex(expected)} (manifest), got ${toHex(actual)}`);
    }
    if (this.#headerError) throw this.#headerError;
    this.#visited.add(name);
    if (!this.#innerIsAugment && !this.#headerInfo) throw new OtaError('artifact-format', `${name}: has no header-info`);
    this.#stage = 'header-read';
  }

  #headerHandler(label: string): TarHandler {
    return {
      entry: (entry) => {
        const name = entry.name;
        const where = `${label}/${name}`;
        if (this.#innerNames.size === 0 && name !== 'header-info') {
          throw new OtaError('artifact-format', `${label}: first entry must be "header-info", got "${name}"`);
        }
        if (this.#innerNames.has(name)) throw new OtaError('artifact-format', `${where}: appears twice`);
        this.#innerNames.add(name);
        if (entry.type !== '0') throw new OtaError('artifact-format', `${where}: expected a regular file, got tar type '${entry.type}'`);
        const bucket = HEADER_FILE.exec(name);
        if (name === 'header-info' || bucket) {
          if (bucket && !this.#innerIsAugment && Number(bucket[1]) >= (this.#headerInfo?.payloadTypes.length ?? 0)) {
            throw new OtaError('artifact-format', `${where}: header-info lists only ${this.#headerInfo?.payloadTypes.length ?? 0} payload(s)`);
          }
          this.#innerEntryKind = 'buffer';
          this.#smallLength = 0;
        } else {
          this.#innerEntryKind = 'skip'; // state scripts and anything newer: not used on a device
        }
      },
      data: (bytes) => {
        if (this.#innerEntryKind === 'buffer') this.#appendSmall(bytes, `${label}/${this.#inner!.tar.current?.name}`);
      },
      entryEnd: (entry) => {
        if (this.#innerEntryKind !== 'buffer') return;
        const bytes = this.#small.subarray(0, this.#smallLength);
        const where = `${label}/${entry.name}`;
        if (entry.name === 'header-info') {
          const info = parseHeaderInfo(bytes, where, this.#innerIsAugment);
          if (this.#innerIsAugment) this.#augmentPayloadTypes = info.payloadTypes;
          else this.#headerInfo = info;
          return;
        }
        const bucket = HEADER_FILE.exec(entry.name)!;
        const index = Number(bucket[1]);
        if (bucket[2] === 'type-info') (this.#innerIsAugment ? this.#augmentTypeInfo : this.#typeInfo).set(index, parseTypeInfo(bytes, where));
        else (this.#innerIsAugment ? this.#augmentMetaData : this.#metaData).set(index, parseMetaData(bytes, where));
      },
    };
  }

  // ---- inner streams (shared by header and data) ----------------------------------------------

  #openInner(label: string, suffix: string, handler: TarHandler): InnerStream {
    return {
      label,
      tar: new TarReader(handler, label),
      inflate: suffix === '.gz' ? this.#options.inflate.gunzip() : undefined,
      inflatedBytes: 0,
    };
  }

  async #feedInner(bytes: Uint8Array): Promise<void> {
    const inner = this.#inner!;
    if (!inner.inflate) {
      this.#countHeaderBytes(inner, bytes.length);
      await inner.tar.write(bytes);
      return;
    }
    for (let at = 0; at < bytes.length; at += INFLATE_PUSH_BYTES) {
      const out = inner.inflate.push(bytes.subarray(at, at + INFLATE_PUSH_BYTES));
      if (out.length > 0) {
        this.#countHeaderBytes(inner, out.length);
        await inner.tar.write(out);
      }
    }
  }

  #countHeaderBytes(inner: InnerStream, count: number): void {
    inner.inflatedBytes += count;
    if (this.#outerKind === 'header' && inner.inflatedBytes > HEADER_TAR_MAX_BYTES) {
      throw new OtaError('artifact-unsupported', `${inner.label}: more than ${HEADER_TAR_MAX_BYTES / 1024 / 1024} MiB of header after inflate`);
    }
  }

  async #finishInner(): Promise<void> {
    const inner = this.#inner!;
    if (inner.inflate) {
      const out = inner.inflate.end();
      if (out.length > 0) {
        this.#countHeaderBytes(inner, out.length);
        await inner.tar.write(out);
      }
    }
    inner.tar.end();
  }

  // ---- head ------------------------------------------------------------------------------------

  async #emitHead(): Promise<void> {
    if (this.#head) return;
    const info = this.#headerInfo!;
    const label = `header.tar${this.#headerSuffix}`;
    const types = this.#augmentPayloadTypes ?? info.payloadTypes;
    if (this.#augmentPayloadTypes && this.#augmentPayloadTypes.length !== info.payloadTypes.length) {
      throw new OtaError('artifact-format', `header-augment.tar${this.#headerSuffix}/header-info: lists ${this.#augmentPayloadTypes.length} payloads, header-info ${info.payloadTypes.length}`);
    }
    const payloads: PayloadInfo[] = types.map((headerType, index) => {
      const bucket = `headers/${String(index).padStart(4, '0')}`;
      const typeInfo = this.#typeInfo.get(index);
      if (!typeInfo) throw new OtaError('artifact-format', `${label}: ${bucket}/type-info is missing`);
      const augment = this.#augmentTypeInfo.get(index);
      // Tools before mender-artifact 4.4 write "" in type-info; header-info's type is the one that counts.
      for (const t of [typeInfo, augment]) {
        if (t && t.type !== null && t.type !== '' && headerType !== null && t.type !== headerType) {
          throw new OtaError('artifact-format', `${label}: ${bucket}/type-info type "${t.type}" does not match header-info type "${headerType}"`);
        }
      }
      const origMeta = this.#metaData.get(index) ?? null;
      const augMeta = this.#augmentMetaData.get(index) ?? null;
      const prefix = `data/${String(index).padStart(4, '0')}/`;
      return {
        index,
        type: headerType ?? '',
        provides: { ...typeInfo.provides, ...augment?.provides },
        depends: { ...typeInfo.depends, ...augment?.depends },
        clearsProvides: [...(augment?.clearsProvides ?? typeInfo.clearsProvides ?? [])],
        metaData: origMeta || augMeta ? { ...origMeta, ...augMeta } : null,
        files: this.#manifestOrder.filter((line) => line.name.startsWith(prefix)).map((line) => ({ name: line.name.slice(prefix.length), sha256: line.sha256 })),
      };
    });
    const depends = info.depends;
    const head: ArtifactHead = {
      version: 3,
      artifactName: info.provides.artifact_name!,
      deviceTypes: [...(depends.device_type as string[])],
      provides: { ...info.provides },
      depends: { ...depends },
      compression: compressionOf(this.#headerSuffix),
      signature: this.#signature,
      payloads,
    };
    this.#head = head;
    const onHead = this.#options.onHead;
    if (onHead) await this.#call('onHead', () => onHead(head));
  }

  // ---- data/NNNN.tar ---------------------------------------------------------------------------

  async #startData(entry: TarEntry): Promise<void> {
    const match = DATA_NAME.exec(entry.name);
    if (!match) {
      const expected = entry.name.startsWith('data/') ? 'a name like data/0000.tar[.gz]' : 'only data/NNNN.tar entries after the header';
      throw new OtaError('artifact-format', `artifact entry "${entry.name}" at byte ${entry.offset}: expected ${expected}`);
    }
    const index = Number(match[1]);
    const suffix = match[2] ?? '';
    if (suffix === '.xz' || suffix === '.zst') throw unsupportedCompression(entry.name, suffix);
    await this.#emitHead();
    const payloads = this.#head!.payloads.length;
    if (index !== this.#payloadIndex + 1 || index >= payloads) {
      throw new OtaError('artifact-format', `artifact entry "${entry.name}": expected data/${String(this.#payloadIndex + 1).padStart(4, '0')}.tar (header lists ${payloads} payload(s))`);
    }
    if (suffix === '.gz' && this.#resumePending?.payloadIndex === index) {
      throw new OtaError('artifact-unsupported', `${entry.name}: a gzip-compressed payload cannot resume at an offset; download it from the start`);
    }
    this.#stage = 'data';
    this.#outerKind = 'data';
    this.#payloadIndex = index;
    this.#innerNames = new Set();
    this.#inner = this.#openInner(entry.name, suffix, this.#dataHandler(entry, suffix === ''));
  }

  #dataHandler(outerEntry: TarEntry, uncompressed: boolean): TarHandler {
    const label = outerEntry.name;
    const index = this.#payloadIndex;
    const prefix = `data/${String(index).padStart(4, '0')}/`;
    return {
      entry: async (entry) => {
        const name = entry.name;
        if (entry.type !== '0') throw new OtaError('artifact-format', `${label}: entry "${name}" at byte ${entry.offset}: expected a regular file, got tar type '${entry.type}'`);
        if (!PAYLOAD_FILE_NAME.test(name)) throw new OtaError('artifact-format', `${label}: file name "${name}" contains forbidden characters (allowed: letters, digits, "_-.,")`);
        if (this.#innerNames.has(name)) throw new OtaError('artifact-format', `${label}: file "${name}" appears twice`);
        this.#innerNames.add(name);
        if (!this.#checksums.has(prefix + name)) throw new OtaError('artifact-format', `${label}: file "${name}" is not listed in the manifest (no checksum for "${prefix + name}")`);
        const file: PayloadFile = {
          payloadIndex: index,
          name,
          size: entry.size,
          artifactOffset: uncompressed ? outerEntry.offset + entry.offset : undefined,
        };
        this.#file = file;
        this.#fileHash = this.#options.sha256();
        const resume = this.#resumePending;
        const single = this.#head!.payloads[index]!.files.length === 1;
        if (resume && resume.payloadIndex === index && resume.fileName === name && single && uncompressed) {
          this.#resumePending = undefined;
          await this.#resumeFile(file, resume.fileOffset);
          return;
        }
        this.#sinkUsed = true;
        await this.#call('sink.open', () => this.#options.sink.open(file, 0));
      },
      data: async (bytes) => {
        this.#fileHash!.update(bytes);
        await this.#call('sink.write', () => this.#options.sink.write(bytes));
      },
      entryEnd: async () => {
        const file = this.#file!;
        const actual = this.#fileHash!.digest();
        const expected = this.#checksums.get(prefix + file.name)!;
        if (!equalBytes(actual, expected)) {
          throw new OtaError('checksum-mismatch', `${prefix + file.name}: expected sha256 ${toHex(expected)} (manifest), got ${toHex(actual)}`);
        }
        this.#visited.add(prefix + file.name);
        await this.#call('sink.close', () => this.#options.sink.close(file));
        this.#files.push({ payloadIndex: index, name: file.name, size: file.size, sha256: actual });
        this.#file = undefined;
      },
    };
  }

  /** Re-hashes what the sink already stored, then asks the caller to continue at the file's offset. */
  async #resumeFile(file: PayloadFile, fileOffset: number): Promise<void> {
    if (fileOffset > file.size) {
      throw new OtaError('artifact-format', `resume: "${file.name}" has ${file.size} bytes; cannot resume at offset ${fileOffset}`);
    }
    const sink = this.#options.sink;
    this.#sinkUsed = true;
    await this.#call('sink.open', () => sink.open(file, fileOffset));
    this.#readBack ??= new Uint8Array(READ_BACK_BYTES);
    for (let at = 0; at < fileOffset; at += READ_BACK_BYTES) {
      const part = this.#readBack.subarray(0, Math.min(READ_BACK_BYTES, fileOffset - at));
      await this.#call('sink.readBack', () => sink.readBack!(at, part));
      this.#fileHash!.update(part);
    }
    this.#resumeSkip = fileOffset;
    this.seekTo = file.artifactOffset! + fileOffset;
    this.#inner!.tar.pause();
    this.#outer.pause();
  }

  /** The next chunk starts at seekTo: move both tar readers over the bytes the sink already has. */
  #jump(): void {
    this.#outer.skipContent(this.seekTo! - this.#outer.position);
    this.#inner!.tar.skipContent(this.#resumeSkip);
    this.seekTo = undefined;
    this.#resumeSkip = 0;
  }
}
