// Streaming, verifying reader of Mender Artifact format v3 (research/mender-protocol.md §1,
// specs/mender/mender-artifact-format-v3.md). Push chunks of any size; payload files stream to a
// PayloadSink; memory stays bounded by the fixed buffers declared below.
import type { Sha256Factory, Digest } from '../../platform/digest.ts';
import type { Inflate, InflateStream } from '../../platform/inflate.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';
import type { PublicKey, SignatureScheme, Verifier } from '../../platform/verifier.ts';
import { equalBytes, fromBase64, fromUtf8, toHex } from '../bytes.ts';
import { OtaError, isOtaError, unexpected } from '../errors.ts';
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

function checkCompression(entry: string, suffix: string): void {
  if (suffix === '.xz' || suffix === '.zst') {
    // mender-artifact writes xz with a 64 MiB dictionary and zstd with a window of several MiB.
    const needs = suffix === '.xz' ? 'xz needs a 64 MiB dictionary' : 'zstd needs a window of several MiB';
    throw new OtaError('artifact-unsupported', `${entry}: ${needs}, too much for a device; use gzip or none`);
  }
}

/** "data/0003/" for payload 3: the manifest's names for a payload's files. */
function payloadDir(index: number): string {
  return `data/${String(index).padStart(4, '0')}/`;
}

/** `label: "name" at byte N`, where a tar entry is named in messages. */
function entryAt(label: string, entry: TarEntry): string {
  return `${label}: "${entry.name}" at byte ${entry.offset}`;
}

function checkRegular(where: string, entry: TarEntry): void {
  if (entry.type !== '0') throw unexpected('artifact-format', where, 'a regular file', `tar type '${entry.type}'`);
}

/** A digest against the manifest's: OtaError('checksum-mismatch') naming the entry and both hashes. */
function checkDigest(name: string, expected: Uint8Array, actual: Uint8Array): void {
  if (!equalBytes(actual, expected)) throw unexpected('checksum-mismatch', name, `sha256 ${toHex(expected)} (manifest)`, toHex(actual));
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
      if (typeof sink.readBack !== 'function') throw new TypeError('"resume" expected a sink with readBack()');
      if (resume.fileOffset > 0) this.#resumePending = { ...resume };
    }
    this.#options = { ...options };
    this.#outer = new TarReader(this.#outerHandler(), 'artifact');
  }

  /** Reads the next bytes of the artifact. Await it before writing again (backpressure). */
  async write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) throw new TypeError(`"chunk" expected a Uint8Array, got ${typeof chunk}`);
    if (this.#ended) throw new Error('write() after end()');
    if (this.#busy) throw new Error('write() while a write() is pending');
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
    if (this.#busy) throw new Error('end() while a write() is pending');
    if (this.#ended) throw new Error('end() twice');
    if (this.#failed !== undefined) throw this.#failed;
    this.#ended = true;
    try {
      if (this.seekTo !== undefined) throw unexpected('artifact-format', 'artifact', `bytes from the resume point ${this.seekTo}`, 'the end');
      this.#outer.end();
      if (this.#stage !== 'header-read' && this.#stage !== 'data') {
        throw new OtaError('artifact-format', `artifact: truncated at byte ${this.#outer.position}, before the header`);
      }
      if (this.#augmented && this.#stage === 'header-read' && !this.#visited.has(`header-augment.tar${this.#headerSuffix}`)) {
        throw new OtaError('artifact-format', `artifact: header-augment.tar${this.#headerSuffix} missing (manifest-augment present)`);
      }
      await this.#emitHead();
      for (const line of this.#manifestOrder) {
        if (!this.#visited.has(line.name)) throw new OtaError('artifact-format', `${line.name}: in the manifest, not in the artifact`);
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
      const reason = isOtaError(error) ? error : new OtaError('aborted', `reader failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
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
    checkRegular(entryAt('artifact', entry), entry);
    this.#outerEntry = entry;
    this.#entryHash = undefined;
    const order = (expected: string): never => {
      throw new OtaError('artifact-format', `${entryAt('artifact', entry)}: expected ${expected}`);
    };
    const isHeader = HEADER_NAME.exec(name);
    switch (this.#stage) {
      case 'version':
        if (name !== 'version') order('version first');
        return this.#startSmall(true);
      case 'manifest':
        if (name !== 'manifest') order('manifest after version');
        return this.#startSmall(false);
      case 'manifest-read':
        if (name === 'manifest.sig') return this.#startSmall(false);
        this.#checkSignatureMissing();
        if (name === 'manifest-augment') return this.#startSmall(false);
        if (isHeader) return this.#startHeader(entry, isHeader[1] ?? '', false);
        return order('manifest.sig, manifest-augment or header.tar[.gz] after manifest');
      case 'signature-read':
        if (name === 'manifest-augment') return this.#startSmall(false);
        if (isHeader) return this.#startHeader(entry, isHeader[1] ?? '', false);
        return order('manifest-augment or header.tar[.gz] after manifest.sig');
      case 'augment-read':
        if (isHeader) return this.#startHeader(entry, isHeader[1] ?? '', false);
        return order('header.tar[.gz] after manifest-augment');
      case 'header-read': {
        if (this.#augmented && !this.#visited.has(`header-augment.tar${this.#headerSuffix}`)) {
          const augment = HEADER_AUGMENT_NAME.exec(name);
          if (!augment || (augment[1] ?? '') !== this.#headerSuffix) order(`header-augment.tar${this.#headerSuffix} (manifest-augment present)`);
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
      throw new OtaError('artifact-unsupported', `${where}: over ${SMALL_ENTRY_MAX_BYTES} bytes`);
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
        checkDigest('version', expected, this.#versionHash!);
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
    if (format !== 'mender') throw unexpected('artifact-format', 'version', 'format "mender"', JSON.stringify(format));
    // Version 2 (mender-artifact < 3.0) included: a device reads only version 3.
    if (version !== 3) throw unexpected('artifact-unsupported', 'version', 'format version 3', JSON.stringify(version));
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
      throw new OtaError('signature-missing', 'manifest.sig: missing, but a key is configured');
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
      throw unexpected('signature-invalid', 'manifest.sig', 'base64', `${JSON.stringify(String.fromCharCode(...text.subarray(0, 16)))}…`);
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
      throw new OtaError('signature-invalid', `manifest.sig: ${signature.length}-byte signature, ${key.type} key: ${(error as Error)?.message}`, { cause: error });
    }
    if (!valid) throw new OtaError('signature-invalid', `manifest.sig: ${scheme} signature invalid for the ${key.type} key`);
    this.#signature = 'valid';
  }

  // ---- header.tar and header-augment.tar --------------------------------------------------------

  #startHeader(entry: TarEntry, suffix: string, augment: boolean): void {
    checkCompression(entry.name, suffix);
    this.#checksummed(entry.name);
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
    checkDigest(name, this.#checksums.get(name)!, this.#entryHash!.digest());
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
        if (this.#innerNames.size === 0 && name !== 'header-info') throw unexpected('artifact-format', label, 'header-info first', `"${name}"`);
        this.#once(name, where);
        checkRegular(where, entry);
        const bucket = HEADER_FILE.exec(name);
        if (name === 'header-info' || bucket) {
          if (bucket && !this.#innerIsAugment && Number(bucket[1]) >= (this.#headerInfo?.payloadTypes.length ?? 0)) {
            throw new OtaError('artifact-format', `${where}: header-info has ${this.#headerInfo?.payloadTypes.length ?? 0} payload(s)`);
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

  /** Names inside one inner tar are unique. */
  #once(name: string, where: string): void {
    if (this.#innerNames.has(name)) throw new OtaError('artifact-format', `${where}: appears twice`);
    this.#innerNames.add(name);
  }

  #checksummed(name: string): void {
    if (!this.#checksums.has(name)) throw new OtaError('artifact-format', `${name}: not in the manifest`);
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
      throw new OtaError('artifact-unsupported', `${inner.label}: over ${HEADER_TAR_MAX_BYTES} bytes inflated`);
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
      throw unexpected('artifact-format', `header-augment.tar${this.#headerSuffix}/header-info`, `${info.payloadTypes.length} payloads`, this.#augmentPayloadTypes.length);
    }
    const payloads: PayloadInfo[] = types.map((headerType, index) => {
      const bucket = `headers/${String(index).padStart(4, '0')}/type-info`;
      const typeInfo = this.#typeInfo.get(index);
      if (!typeInfo) throw new OtaError('artifact-format', `${label}: ${bucket} is missing`);
      const augment = this.#augmentTypeInfo.get(index);
      // Tools before mender-artifact 4.4 write "" in type-info; header-info's type is the one that counts.
      for (const t of [typeInfo, augment]) {
        if (t && t.type !== null && t.type !== '' && headerType !== null && t.type !== headerType) {
          throw unexpected('artifact-format', `${label}: ${bucket}`, `header-info's type "${headerType}"`, `"${t.type}"`);
        }
      }
      const origMeta = this.#metaData.get(index) ?? null;
      const augMeta = this.#augmentMetaData.get(index) ?? null;
      const prefix = payloadDir(index);
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
    if (!match) throw new OtaError('artifact-format', `${entryAt('artifact', entry)}: expected data/NNNN.tar[.gz] after the header`);
    const index = Number(match[1]);
    const suffix = match[2] ?? '';
    checkCompression(entry.name, suffix);
    await this.#emitHead();
    const payloads = this.#head!.payloads.length;
    if (index !== this.#payloadIndex + 1 || index >= payloads) {
      throw new OtaError('artifact-format', `${entryAt('artifact', entry)}: expected ${payloadDir(this.#payloadIndex + 1).slice(0, -1)}.tar of ${payloads} payload(s)`);
    }
    if (suffix === '.gz' && this.#resumePending?.payloadIndex === index) {
      throw new OtaError('artifact-unsupported', `${entry.name}: gzip payloads cannot resume; download from the start`);
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
    const prefix = payloadDir(index);
    return {
      entry: async (entry) => {
        const name = entry.name;
        const where = entryAt(label, entry);
        checkRegular(where, entry);
        if (!PAYLOAD_FILE_NAME.test(name)) throw new OtaError('artifact-format', `${where}: expected letters, digits or "_-.," only`);
        this.#once(name, where);
        this.#checksummed(prefix + name);
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
        checkDigest(prefix + file.name, this.#checksums.get(prefix + file.name)!, actual);
        this.#visited.add(prefix + file.name);
        await this.#call('sink.close', () => this.#options.sink.close(file));
        this.#files.push({ payloadIndex: index, name: file.name, size: file.size, sha256: actual });
        this.#file = undefined;
      },
    };
  }

  /** Re-hashes what the sink already stored, then asks the caller to continue at the file's offset. */
  async #resumeFile(file: PayloadFile, fileOffset: number): Promise<void> {
    if (fileOffset > file.size) throw unexpected('artifact-format', `resume "${file.name}"`, `an offset ≤ its ${file.size} bytes`, fileOffset);
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
