// Streaming, verifying reader of Mender Artifact format v3 (research/mender-protocol.md §1,
// specs/mender/mender-artifact-format-v3.md). Push chunks of any size; payload files stream to a
// PayloadSink; memory stays bounded by the fixed buffers declared below.
import type { Sha256Factory, Digest } from '../../platform/digest.ts';
import type { Inflate, InflateStream } from '../../platform/inflate.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';
import type { PublicKey, SignatureScheme, Verifier } from '../../platform/verifier.ts';
import { equalBytes, fromBase64, fromUtf8, toHex } from '../../base/bytes.ts';
import { OtaError, badArgument, describe, formatError, isOtaError, unexpected } from '../../base/errors.ts';
import { isCount, isString } from '../../base/json.ts';
import { parseHeaderInfo, parseMetaData, parseObject, parseTypeInfo, type HeaderInfo, type TypeInfo } from './header.ts';
import { parseManifest, type ManifestLine } from './manifest.ts';
import { createTarReader, type TarEntry, type TarHandler, type TarReader } from './tar-reader.ts';
import type { ArtifactHead, ArtifactSummary, PayloadFile, PayloadInfo, PayloadSink } from './types.ts';

/** version, manifest(-augment), manifest.sig and each JSON file of header.tar: one buffer, reused. */
export const SMALL_ENTRY_MAX_BYTES = 64 * 1024;
/** The small-entry buffer's first size: one tar block; it doubles as an entry needs. */
const SMALL_ENTRY_FIRST_BYTES = 512;
/** header.tar after inflate (scripts included): a header is a few KiB in practice. */
export const HEADER_TAR_MAX_BYTES = 1024 * 1024;
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

/** What is being read from one compressed-or-not inner tar (header.tar, header-augment.tar, data/NNNN.tar). */
interface InnerStream {
  readonly label: string;
  readonly tar: TarReader;
  readonly inflate: InflateStream | undefined;
  inflatedBytes: number;
  /** Inflated bytes allowed (header.tar's cap; payloads have none). */
  readonly limit: number;
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
  return `data/${fourDigits(index)}/`;
}

/** 3 → "0003", as payload numbers appear in entry names. */
function fourDigits(index: number): string {
  return String(index).padStart(4, '0');
}

/** `label: "name" at byte N`, where a tar entry is named in messages. */
function entryAt(label: string, entry: TarEntry): string {
  return `${label}: "${entry.name}" at byte ${entry.offset}`;
}

/** An artifact entry where another was expected. */
function outOfOrder(entry: TarEntry, expected: string): OtaError {
  return formatError(`${entryAt('artifact', entry)}: expected ${expected}`);
}

function checkRegular(where: string, entry: TarEntry): void {
  if (entry.type !== '0') throw unexpected('artifact-format', where, 'a regular file', `tar type '${entry.type}'`);
}

/** A digest against the manifest's: OtaError('checksum-mismatch') naming the entry and both hashes. */
function checkDigest(name: string, expected: Uint8Array, actual: Uint8Array): void {
  if (!equalBytes(actual, expected)) throw unexpected('checksum-mismatch', name, `sha256 ${toHex(expected)} (manifest)`, toHex(actual));
}

/** The options a reader cannot do without, and the methods each must have ('' = it is the function itself). */
const REQUIRED_OPTIONS = [
  ['sha256', 'a Sha256Factory', ''],
  ['inflate', 'an Inflate', 'gunzip'],
  ['verifier', 'a Verifier', 'verify'],
  ['sink', 'a PayloadSink (open, write, close, discard)', 'open', 'write', 'close', 'discard'],
] as const;

/** A streaming, verifying reader of one artifact (createArtifactReader). */
export interface ArtifactReader {
  /** Set after a resume point was reached: the artifact byte offset the next write() must start at. */
  readonly seekTo: number | undefined;
  /** Reads the next bytes of the artifact. Await it before writing again (backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the artifact: every check that needs the whole stream runs here. */
  end(): Promise<ArtifactSummary>;
}

export function createArtifactReader(options: ArtifactReaderOptions): ArtifactReader {
  for (const [name, expected, ...methods] of REQUIRED_OPTIONS) {
    const value = (options as unknown as Record<string, Record<string, unknown> | undefined> | undefined)?.[name];
    if (!methods.every((method) => typeof (method === '' ? value : value?.[method]) === 'function')) throw badArgument(`"${name}"`, expected, describe(value));
  }
  const { sink } = options;
  let resumePending: ResumePoint | undefined;
  const resume = options.resume;
  if (resume !== undefined) {
    if (!isCount(resume.payloadIndex)) throw badArgument('"resume.payloadIndex"', 'an index ≥ 0', resume.payloadIndex, RangeError);
    if (!isString(resume.fileName)) throw badArgument('"resume.fileName"', 'a string', typeof resume.fileName);
    if (!isCount(resume.fileOffset)) throw badArgument('"resume.fileOffset"', 'a byte offset ≥ 0', resume.fileOffset, RangeError);
    if (typeof sink.readBack !== 'function') throw badArgument('"resume"', 'a sink with readBack()', 'a sink without');
    if (resume.fileOffset > 0) resumePending = { ...resume };
  }
  return new StreamArtifactReader(options, resumePending);
}

/** Where the current outer entry's bytes go: set by startSmall, startHeader, startData. */
type OuterKind = 'small' | 'header' | 'data';

// A class, not a closure factory: on a preloaded XS device its methods stay in flash, where each
// closure a factory makes costs RAM (a function object and a copy of its byte code) per reader.
// Methods are TypeScript-private, on the prototype: XS gives every instance a slot for each ES
// #method, and defining them takes stack.
class StreamArtifactReader implements ArtifactReader {
  readonly #options: ArtifactReaderOptions;
  #resumePending: ResumePoint | undefined;
  #seekTo: number | undefined;
  // Grows by doubling to what the largest small entry needs (SMALL_ENTRY_MAX_BYTES at most; a real
  // head needs 1-4 KiB), and is dropped once the payload data starts: no fixed 64 KiB for a whole update.
  #small: Uint8Array = new Uint8Array(SMALL_ENTRY_FIRST_BYTES);
  #smallLength = 0;
  #readBack: Uint8Array | undefined; // 4 KiB (READ_BACK_BYTES), only when resuming

  #stage: Stage = 'version';
  #outerEntry: TarEntry | undefined;
  #outerKind: OuterKind = 'small';
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
  readonly #typeInfos = new Map<number, TypeInfo>();
  readonly #augmentTypeInfos = new Map<number, TypeInfo>();
  readonly #metaDatas = new Map<number, Record<string, unknown> | null>();
  readonly #augmentMetaDatas = new Map<number, Record<string, unknown> | null>();
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
  #resumeSkip = 0; // bytes of the resumed file the inner tar must jump over

  readonly #outer: TarReader;

  constructor(options: ArtifactReaderOptions, resumePending: ResumePoint | undefined) {
    this.#options = options;
    this.#resumePending = resumePending;
    this.#outer = createTarReader(
      {
        entry: (entry) => this.outerEntryStart(entry),
        // Payload bytes go straight to feedInner: one frame fewer below every sink write.
        data: (bytes) => (this.#outerKind === 'data' ? this.feedInner(bytes) : this.outerData(bytes)),
        entryEnd: (entry) => this.outerEnd(entry.name),
      },
      'artifact',
    );
  }

  get seekTo(): number | undefined {
    return this.#seekTo;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) throw badArgument('"chunk"', 'a Uint8Array', typeof chunk);
    this.usable('write');
    this.#busy = true;
    try {
      if (this.#seekTo !== undefined) {
        // This chunk starts at seekTo: move both tar readers over the bytes the sink already has.
        this.#outer.skipContent(this.#seekTo - this.#outer.position);
        this.#inner!.tar.skipContent(this.#resumeSkip);
        this.#seekTo = undefined;
        this.#resumeSkip = 0;
      }
      await this.#outer.write(chunk);
    } catch (error) {
      throw await this.fail(error);
    } finally {
      this.#busy = false;
    }
  }

  async end(): Promise<ArtifactSummary> {
    this.usable('end');
    this.#ended = true;
    try {
      if (this.#seekTo !== undefined) throw unexpected('artifact-format', 'artifact', `bytes from the resume point ${this.#seekTo}`, 'the end');
      this.#outer.end();
      const stage = this.#stage;
      if (stage !== 'header-read' && stage !== 'data') {
        throw formatError(`artifact: truncated at byte ${this.#outer.position}, before the header`);
      }
      if (this.#augmented && stage === 'header-read' && !this.#visited.has(`header-augment.tar${this.#headerSuffix}`)) {
        throw formatError(`artifact: header-augment.tar${this.#headerSuffix} missing (manifest-augment present)`);
      }
      await this.emitHead();
      for (const line of this.#manifestOrder) {
        if (!this.#visited.has(line.name)) throw formatError(`${line.name}: in the manifest, not in the artifact`);
      }
      return { ...this.#head!, files: this.#files.slice() };
    } catch (error) {
      throw await this.fail(error);
    }
  }

  /** write() and end() one at a time, nothing after end(); after a failure, that failure again. */
  private usable(method: string): void {
    if (this.#busy) throw new Error(`${method}() while a write() is pending`);
    if (this.#ended) throw new Error(`${method}() after end()`);
    if (this.#failed !== undefined) throw this.#failed;
  }

  // ---- failure ------------------------------------------------------------------------------

  /**
   * Records the first failure and tells the sink to drop what it got. Everything the reader itself
   * detects is an OtaError; anything else is a bug and is rethrown as is (the sink still discards).
   */
  private async fail(error: unknown): Promise<unknown> {
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

  // ---- outer tar ------------------------------------------------------------------------------

  private async outerEntryStart(entry: TarEntry): Promise<void> {
    const name = entry.name;
    checkRegular(entryAt('artifact', entry), entry);
    this.#outerEntry = entry;
    this.#entryHash = undefined;
    const order = (expected: string): never => {
      throw outOfOrder(entry, expected);
    };
    const isHeader = HEADER_NAME.exec(name);
    switch (this.#stage) {
      case 'version':
        if (name !== 'version') order('version first');
        return this.startSmall(true);
      case 'manifest':
        if (name !== 'manifest') order('manifest after version');
        return this.startSmall();
      case 'manifest-read':
        if (name === 'manifest.sig') return this.startSmall();
        // No manifest.sig: fine unless a key is configured.
        this.#manifestBytes = undefined;
        if (this.#options.key) throw new OtaError('signature-missing', 'manifest.sig: missing, but a key is configured');
        if (name === 'manifest-augment') return this.startSmall();
        if (isHeader) return this.startHeader(entry, isHeader[1] ?? '', false);
        return order('manifest.sig, manifest-augment or header.tar[.gz] after manifest');
      case 'signature-read':
        if (name === 'manifest-augment') return this.startSmall();
        if (isHeader) return this.startHeader(entry, isHeader[1] ?? '', false);
        return order('manifest-augment or header.tar[.gz] after manifest.sig');
      case 'augment-read':
        if (isHeader) return this.startHeader(entry, isHeader[1] ?? '', false);
        return order('header.tar[.gz] after manifest-augment');
      case 'header-read': {
        if (this.#augmented && !this.#visited.has(`header-augment.tar${this.#headerSuffix}`)) {
          const augment = HEADER_AUGMENT_NAME.exec(name);
          if (!augment || (augment[1] ?? '') !== this.#headerSuffix) order(`header-augment.tar${this.#headerSuffix} (manifest-augment present)`);
          return this.startHeader(entry, augment![1] ?? '', true);
        }
        return this.startData(entry);
      }
      case 'data':
        return this.startData(entry);
    }
  }

  private outerData(bytes: Uint8Array): MaybePromise<void> {
    switch (this.#outerKind) {
      case 'small':
        return this.smallData(bytes);
      case 'header':
        return this.headerData(bytes);
      case 'data':
        return this.feedInner(bytes);
    }
  }

  private outerEnd(name: string): Promise<void> {
    switch (this.#outerKind) {
      case 'small':
        return this.endSmall(name);
      case 'header':
        return this.endHeader(name);
      case 'data':
        return this.endData();
    }
  }

  // ---- version, manifest, manifest.sig, manifest-augment -----------------------------------------

  /** version (`hashed`: its checksum is checked once the manifest is read), manifest, manifest.sig, manifest-augment. */
  private startSmall(hashed = false): void {
    this.#outerKind = 'small';
    this.#smallLength = 0;
    if (hashed) this.#entryHash = this.#options.sha256();
  }

  private smallData(bytes: Uint8Array): void {
    this.#entryHash?.update(bytes);
    this.appendSmall(bytes, this.#outerEntry!.name);
  }

  private appendSmall(bytes: Uint8Array, where: string): void {
    const needed = this.#smallLength + bytes.length;
    if (needed > SMALL_ENTRY_MAX_BYTES) {
      throw new OtaError('artifact-unsupported', `${where}: over ${SMALL_ENTRY_MAX_BYTES} bytes`);
    }
    if (needed > this.#small.length) {
      let size = Math.max(this.#small.length * 2, SMALL_ENTRY_FIRST_BYTES);
      while (size < needed) size *= 2;
      const grown = new Uint8Array(Math.min(size, SMALL_ENTRY_MAX_BYTES));
      grown.set(this.#small.subarray(0, this.#smallLength));
      this.#small = grown;
    }
    this.#small.set(bytes, this.#smallLength);
    this.#smallLength += bytes.length;
  }

  private async endSmall(name: string): Promise<void> {
    const bytes = this.#small.subarray(0, this.#smallLength);
    switch (name) {
      case 'version':
        readVersion(bytes);
        this.#versionHash = this.#entryHash!.digest();
        this.#stage = 'manifest';
        return;
      case 'manifest': {
        const lines = parseManifest(bytes, 'manifest');
        this.addChecksums(lines);
        const expected = this.#checksums.get('version');
        if (!expected) throw formatError('manifest: does not list "version"');
        checkDigest('version', expected, this.#versionHash!);
        this.#visited.add('version');
        this.#manifestBytes = bytes.slice();
        this.#stage = 'manifest-read';
        return;
      }
      case 'manifest.sig':
        await this.checkSignature(bytes);
        this.#manifestBytes = undefined;
        this.#stage = 'signature-read';
        return;
      case 'manifest-augment':
        this.addChecksums(parseManifest(bytes, 'manifest-augment', new Set(this.#checksums.keys())));
        this.#augmented = true;
        this.#stage = 'augment-read';
        return;
    }
  }

  private addChecksums(lines: ManifestLine[]): void {
    for (const line of lines) {
      this.#checksums.set(line.name, line.sha256);
      this.#manifestOrder.push(line);
    }
  }

  private async checkSignature(text: Uint8Array): Promise<void> {
    const key = this.#options.key;
    if (!key) {
      this.#signature = 'not-checked';
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(fromUtf8(text));
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
      valid = await this.#options.verifier.verify(scheme, key, signed, bytes);
    } catch (error) {
      throw new OtaError('signature-invalid', `manifest.sig: ${bytes.length}-byte signature, ${key.type} key: ${(error as Error)?.message}`, { cause: error });
    }
    if (!valid) throw new OtaError('signature-invalid', `manifest.sig: ${scheme} signature invalid for the ${key.type} key`);
    this.#signature = 'valid';
  }

  // ---- header.tar and header-augment.tar --------------------------------------------------------

  private startHeader(entry: TarEntry, suffix: string, augment: boolean): void {
    checkCompression(entry.name, suffix);
    this.checksummed(entry.name);
    if (!augment) this.#headerSuffix = suffix;
    this.#outerKind = 'header';
    this.#entryHash = this.#options.sha256();
    this.#headerError = undefined;
    this.#innerIsAugment = augment;
    this.#innerNames = new Set();
    const label = entry.name;
    const handler: TarHandler = {
      entry: (inner) => this.headerEntry(label, inner),
      data: (bytes) => this.headerEntryData(label, bytes),
      entryEnd: (inner) => this.headerEntryEnd(label, inner),
    };
    this.#inner = this.openInner(label, suffix, handler, HEADER_TAR_MAX_BYTES);
  }

  private async headerData(bytes: Uint8Array): Promise<void> {
    this.#entryHash!.update(bytes);
    await this.keepHeaderError(() => this.feedInner(bytes));
  }

  /** Runs `work` on header.tar unless it already failed; a failure waits for the checksum, which decides which error to report. */
  private async keepHeaderError(work: () => Promise<void>): Promise<void> {
    if (this.#headerError) return;
    try {
      await work();
    } catch (error) {
      if (!isOtaError(error)) throw error;
      this.#headerError = error;
    }
  }

  private async endHeader(name: string): Promise<void> {
    await this.keepHeaderError(() => this.finishInner());
    this.#inner = undefined;
    checkDigest(name, this.#checksums.get(name)!, this.#entryHash!.digest());
    if (this.#headerError) throw this.#headerError;
    this.#visited.add(name);
    if (!this.#innerIsAugment && !this.#headerInfo) throw formatError(`${name}: has no header-info`);
    this.#stage = 'header-read';
  }

  private headerEntry(label: string, entry: TarEntry): void {
    const name = entry.name;
    const where = `${label}/${name}`;
    if (this.#innerNames.size === 0 && name !== 'header-info') throw unexpected('artifact-format', label, 'header-info first', `"${name}"`);
    this.once(name, where);
    checkRegular(where, entry);
    const bucket = HEADER_FILE.exec(name);
    if (name === 'header-info' || bucket) {
      const payloads = this.#headerInfo?.payloadTypes.length ?? 0;
      if (bucket && !this.#innerIsAugment && Number(bucket[1]) >= payloads) {
        throw formatError(`${where}: header-info has ${payloads} payload(s)`);
      }
      this.#innerEntryKind = 'buffer';
      this.#smallLength = 0;
    } else {
      this.#innerEntryKind = 'skip'; // state scripts and anything newer: not used on a device
    }
  }

  private headerEntryData(label: string, bytes: Uint8Array): void {
    if (this.#innerEntryKind === 'buffer') this.appendSmall(bytes, `${label}/${this.#inner!.tar.current?.name}`);
  }

  private headerEntryEnd(label: string, entry: TarEntry): void {
    if (this.#innerEntryKind !== 'buffer') return;
    const bytes = this.#small.subarray(0, this.#smallLength);
    const where = `${label}/${entry.name}`;
    const augment = this.#innerIsAugment;
    if (entry.name === 'header-info') {
      const info = parseHeaderInfo(bytes, where, augment);
      if (augment) this.#augmentPayloadTypes = info.payloadTypes;
      else this.#headerInfo = info;
      return;
    }
    const bucket = HEADER_FILE.exec(entry.name)!;
    const index = Number(bucket[1]);
    if (bucket[2] === 'type-info') (augment ? this.#augmentTypeInfos : this.#typeInfos).set(index, parseTypeInfo(bytes, where));
    else (augment ? this.#augmentMetaDatas : this.#metaDatas).set(index, parseMetaData(bytes, where));
  }

  /** Names inside one inner tar are unique. */
  private once(name: string, where: string): void {
    if (this.#innerNames.has(name)) throw formatError(`${where}: appears twice`);
    this.#innerNames.add(name);
  }

  private checksummed(name: string): void {
    if (!this.#checksums.has(name)) throw formatError(`${name}: not in the manifest`);
  }

  // ---- inner streams (shared by header and data) ----------------------------------------------

  private openInner(label: string, suffix: string, handler: TarHandler, limit: number, reportDirectories = false): InnerStream {
    return {
      label,
      tar: createTarReader(handler, label, reportDirectories),
      inflate: suffix === '.gz' ? this.#options.inflate.gunzip() : undefined,
      inflatedBytes: 0,
      limit,
    };
  }

  /** Hands inflated (or stored) bytes to the inner tar, counted against its limit. */
  private async toInnerTar(into: InnerStream, bytes: Uint8Array): Promise<void> {
    into.inflatedBytes += bytes.length;
    if (into.inflatedBytes > into.limit) {
      throw new OtaError('artifact-unsupported', `${into.label}: over ${into.limit} bytes inflated`);
    }
    await into.tar.write(bytes);
  }

  private async feedInner(bytes: Uint8Array): Promise<void> {
    const current = this.#inner!;
    const stream = current.inflate;
    if (!stream) return this.toInnerTar(current, bytes);
    const step = this.#options.inflate.pushBytes; // bounds one push's output (platform/inflate.ts)
    for (let at = 0; at < bytes.length; at += step) {
      const out = stream.push(bytes.subarray(at, at + step));
      if (out.length > 0) await this.toInnerTar(current, out);
    }
  }

  private async finishInner(): Promise<void> {
    const current = this.#inner!;
    const out = current.inflate?.end();
    if (out && out.length > 0) await this.toInnerTar(current, out);
    current.tar.end();
  }

  // ---- head ------------------------------------------------------------------------------------

  private async emitHead(): Promise<void> {
    if (this.#head) return;
    const info = this.#headerInfo!;
    const label = `header.tar${this.#headerSuffix}`;
    const augmentTypes = this.#augmentPayloadTypes;
    const types = augmentTypes ?? info.payloadTypes;
    if (augmentTypes && augmentTypes.length !== info.payloadTypes.length) {
      throw unexpected('artifact-format', `header-augment.tar${this.#headerSuffix}/header-info`, `${info.payloadTypes.length} payloads`, augmentTypes.length);
    }
    const payloads: PayloadInfo[] = types.map((headerType, index) => {
      const bucket = `headers/${fourDigits(index)}/type-info`;
      const typeInfo = this.#typeInfos.get(index);
      if (!typeInfo) throw formatError(`${label}: ${bucket} is missing`);
      const augment = this.#augmentTypeInfos.get(index);
      // Tools before mender-artifact 4.4 write "" in type-info; header-info's type is the one that counts.
      for (const t of [typeInfo, augment]) {
        if (t && t.type !== null && t.type !== '' && headerType !== null && t.type !== headerType) {
          throw unexpected('artifact-format', `${label}: ${bucket}`, `header-info's type "${headerType}"`, `"${t.type}"`);
        }
      }
      const origMeta = this.#metaDatas.get(index) ?? null;
      const augMeta = this.#augmentMetaDatas.get(index) ?? null;
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
    const done: ArtifactHead = {
      version: 3,
      artifactName: info.provides.artifact_name!,
      deviceTypes: [...(depends.device_type as string[])],
      provides: { ...info.provides },
      depends: { ...depends },
      compression: this.#headerSuffix === '.gz' ? 'gzip' : 'none',
      signature: this.#signature,
      augmented: this.#augmented,
      payloads,
    };
    this.#head = done;
    const onHead = this.#options.onHead;
    if (onHead) await call('onHead', () => onHead(done));
  }

  // ---- data/NNNN.tar ---------------------------------------------------------------------------

  private async startData(entry: TarEntry): Promise<void> {
    const match = DATA_NAME.exec(entry.name);
    if (!match) throw outOfOrder(entry, 'data/NNNN.tar[.gz] after the header');
    const index = Number(match[1]);
    const suffix = match[2] ?? '';
    checkCompression(entry.name, suffix);
    await this.emitHead();
    this.#small = new Uint8Array(0); // the head is read: no small entry follows the data
    const payloads = this.#head!.payloads.length;
    if (index !== this.#payloadIndex + 1 || index >= payloads) {
      throw outOfOrder(entry, `data/${fourDigits(this.#payloadIndex + 1)}.tar of ${payloads} payload(s)`);
    }
    if (suffix === '.gz' && this.#resumePending?.payloadIndex === index) {
      throw new OtaError('artifact-unsupported', `${entry.name}: gzip payloads cannot resume; download from the start`);
    }
    this.#stage = 'data';
    this.#outerKind = 'data';
    this.#payloadIndex = index;
    this.#innerNames = new Set();
    const uncompressed = suffix === '';
    const handler: TarHandler = {
      entry: (file) => this.dataEntry(entry, uncompressed, index, file),
      data: (bytes) => this.dataEntryData(bytes),
      entryEnd: () => this.dataEntryEnd(index),
    };
    // Directories too reach dataEntry, which refuses all but regular files: no unchecked bytes.
    this.#inner = this.openInner(entry.name, suffix, handler, Infinity, true);
  }

  private async endData(): Promise<void> {
    await this.finishInner();
    this.#inner = undefined;
  }

  private async dataEntry(dataEntry: TarEntry, uncompressed: boolean, index: number, entry: TarEntry): Promise<void> {
    const name = entry.name;
    const where = entryAt(dataEntry.name, entry);
    checkRegular(where, entry);
    if (!PAYLOAD_FILE_NAME.test(name)) throw formatError(`${where}: expected letters, digits or "_-.," only`);
    this.once(name, where);
    this.checksummed(payloadDir(index) + name);
    const opened: PayloadFile = {
      payloadIndex: index,
      name,
      size: entry.size,
      artifactOffset: uncompressed ? dataEntry.offset + entry.offset : undefined,
    };
    this.#file = opened;
    this.#fileHash = this.#options.sha256();
    const resume = this.#resumePending;
    const single = this.#head!.payloads[index]!.files.length === 1;
    if (resume && resume.payloadIndex === index && resume.fileName === name && single && uncompressed) {
      this.#resumePending = undefined;
      await this.resumeFile(opened, resume.fileOffset);
      return;
    }
    this.#sinkUsed = true;
    const sink = this.#options.sink;
    await call('sink.open', () => sink.open(opened, 0));
  }

  private async dataEntryData(bytes: Uint8Array): Promise<void> {
    this.#fileHash!.update(bytes);
    // Not through call(): every payload byte passes here, and the sink's image checks run deep
    // below (a signature check at the image's end); two fewer frames on a 1024-slot XS stack.
    try {
      await this.#options.sink.write(bytes);
    } catch (error) {
      throw callbackFailure('sink.write', error);
    }
  }

  private async dataEntryEnd(index: number): Promise<void> {
    const closed = this.#file!;
    const path = payloadDir(index) + closed.name;
    const actual = this.#fileHash!.digest();
    checkDigest(path, this.#checksums.get(path)!, actual);
    this.#visited.add(path);
    const sink = this.#options.sink;
    await call('sink.close', () => sink.close(closed));
    this.#files.push({ payloadIndex: index, name: closed.name, size: closed.size, sha256: actual });
    this.#file = undefined;
  }

  /** Re-hashes what the sink already stored, then asks the caller to continue at the file's offset. */
  private async resumeFile(resumed: PayloadFile, fileOffset: number): Promise<void> {
    if (fileOffset > resumed.size) throw unexpected('artifact-format', `resume "${resumed.name}"`, `an offset ≤ its ${resumed.size} bytes`, fileOffset);
    this.#sinkUsed = true;
    const sink = this.#options.sink;
    await call('sink.open', () => sink.open(resumed, fileOffset));
    const readBack = (this.#readBack ??= new Uint8Array(READ_BACK_BYTES));
    for (let at = 0; at < fileOffset; at += READ_BACK_BYTES) {
      const part = readBack.subarray(0, Math.min(READ_BACK_BYTES, fileOffset - at));
      await call('sink.readBack', () => sink.readBack!(at, part));
      this.#fileHash!.update(part);
    }
    this.#resumeSkip = fileOffset;
    this.#seekTo = resumed.artifactOffset! + fileOffset;
    this.#inner!.tar.pause();
    this.#outer.pause();
  }
}

/** Runs a caller-supplied callback; a non-OtaError from it becomes OtaError('aborted') naming it. */
async function call(what: string, fn: () => MaybePromise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    throw callbackFailure(what, error);
  }
}

/** What a caller-supplied callback threw: an OtaError as is, anything else as OtaError('aborted') naming it. */
function callbackFailure(what: string, error: unknown): unknown {
  if (isOtaError(error)) return error;
  return new OtaError('aborted', `${what} threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

/** version: `{"format": "mender", "version": 3}`. */
function readVersion(bytes: Uint8Array): void {
  const { format, version } = parseObject(bytes, 'version');
  if (format !== 'mender') throw unexpected('artifact-format', 'version', 'format "mender"', JSON.stringify(format));
  // Version 2 (mender-artifact < 3.0) included: a device reads only version 3.
  if (version !== 3) throw unexpected('artifact-unsupported', 'version', 'format version 3', JSON.stringify(version));
}
