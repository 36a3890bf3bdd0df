// Streaming, verifying reader of Mender Artifact format v3 (research/mender-protocol.md §1,
// specs/mender/mender-artifact-format-v3.md). Push chunks of any size; payload files stream to a
// PayloadSink; memory stays bounded by the fixed buffers declared below.
import type { Sha256Factory, Digest } from '../../platform/digest.ts';
import type { Inflate, InflateStream } from '../../platform/inflate.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';
import type { PublicKey, SignatureScheme, Verifier } from '../../platform/verifier.ts';
import { equalBytes, fromBase64, fromUtf8, toHex } from '../bytes.ts';
import { OtaError, badArgument, describe, formatError, isOtaError, unexpected } from '../errors.ts';
import { isCount, isString } from '../json.ts';
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
  const { sha256, sink, key } = options;
  let resumePending: ResumePoint | undefined;
  const resume = options.resume;
  if (resume !== undefined) {
    if (!isCount(resume.payloadIndex)) throw badArgument('"resume.payloadIndex"', 'an index ≥ 0', resume.payloadIndex, RangeError);
    if (!isString(resume.fileName)) throw badArgument('"resume.fileName"', 'a string', typeof resume.fileName);
    if (!isCount(resume.fileOffset)) throw badArgument('"resume.fileOffset"', 'a byte offset ≥ 0', resume.fileOffset, RangeError);
    if (typeof sink.readBack !== 'function') throw badArgument('"resume"', 'a sink with readBack()', 'a sink without');
    if (resume.fileOffset > 0) resumePending = { ...resume };
  }
  const { inflate, verifier, onHead } = options;

  let seekTo: number | undefined;
  // Grows by doubling to what the largest small entry needs (SMALL_ENTRY_MAX_BYTES at most; a real
  // head needs 1-4 KiB), and is dropped once the payload data starts: no fixed 64 KiB for a whole update.
  let small: Uint8Array = new Uint8Array(SMALL_ENTRY_FIRST_BYTES);
  let smallLength = 0;
  let readBack: Uint8Array | undefined; // 4 KiB (READ_BACK_BYTES), only when resuming

  let stage: Stage = 'version';
  let outerEntry: TarEntry | undefined;
  let entryHash: Digest | undefined; // SHA-256 of the outer entry (version, header.tar, header-augment.tar)
  let busy = false;
  let ended = false;
  let failed: unknown; // the first failure; every later call rethrows it
  let sinkUsed = false;

  // What the head is built from.
  let versionHash: Uint8Array | undefined;
  let manifestBytes: Uint8Array | undefined; // kept only until manifest.sig is checked
  const checksums = new Map<string, Uint8Array>(); // manifest + manifest-augment, by name
  const manifestOrder: ManifestLine[] = [];
  const visited = new Set<string>();
  let signature: ArtifactHead['signature'] = 'unsigned';
  let augmented = false;
  let headerSuffix = '';
  let headerInfo: HeaderInfo | undefined;
  let augmentPayloadTypes: (string | null)[] | undefined;
  const typeInfos = new Map<number, TypeInfo>();
  const augmentTypeInfos = new Map<number, TypeInfo>();
  const metaDatas = new Map<number, Record<string, unknown> | null>();
  const augmentMetaDatas = new Map<number, Record<string, unknown> | null>();
  let head: ArtifactHead | undefined;
  const files: ArtifactSummary['files'][number][] = [];

  // The inner tar being read and what its current entry is.
  let inner: InnerStream | undefined;
  let innerIsAugment = false;
  let innerEntryKind: 'buffer' | 'skip' | 'file' = 'skip';
  let innerNames = new Set<string>();
  let headerError: OtaError | undefined; // a header.tar problem, reported only if its checksum matches
  let payloadIndex = -1;
  let file: PayloadFile | undefined;
  let fileHash: Digest | undefined;
  let resumeSkip = 0; // bytes of the resumed file the inner tar must jump over

  // ---- failure ------------------------------------------------------------------------------

  /**
   * Records the first failure and tells the sink to drop what it got. Everything the reader itself
   * detects is an OtaError; anything else is a bug and is rethrown as is (the sink still discards).
   */
  async function fail(error: unknown): Promise<unknown> {
    if (failed !== undefined) return failed;
    failed = error;
    if (sinkUsed) {
      const reason = isOtaError(error) ? error : new OtaError('aborted', `reader failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      try {
        await sink.discard(reason);
      } catch {
        // The original failure is what the caller needs; a failing discard must not hide it.
      }
    }
    return error;
  }

  /** Runs a caller-supplied callback; a non-OtaError from it becomes OtaError('aborted') naming it. */
  async function call(what: string, fn: () => MaybePromise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      if (isOtaError(error)) throw error;
      throw new OtaError('aborted', `${what} threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
  }

  // ---- outer tar ------------------------------------------------------------------------------

  async function outerEntryStart(entry: TarEntry): Promise<void> {
    const name = entry.name;
    checkRegular(entryAt('artifact', entry), entry);
    outerEntry = entry;
    entryHash = undefined;
    const order = (expected: string): never => {
      throw outOfOrder(entry, expected);
    };
    const isHeader = HEADER_NAME.exec(name);
    switch (stage) {
      case 'version':
        if (name !== 'version') order('version first');
        return startSmall(true);
      case 'manifest':
        if (name !== 'manifest') order('manifest after version');
        return startSmall();
      case 'manifest-read':
        if (name === 'manifest.sig') return startSmall();
        // No manifest.sig: fine unless a key is configured.
        manifestBytes = undefined;
        if (key) throw new OtaError('signature-missing', 'manifest.sig: missing, but a key is configured');
        if (name === 'manifest-augment') return startSmall();
        if (isHeader) return startHeader(entry, isHeader[1] ?? '', false);
        return order('manifest.sig, manifest-augment or header.tar[.gz] after manifest');
      case 'signature-read':
        if (name === 'manifest-augment') return startSmall();
        if (isHeader) return startHeader(entry, isHeader[1] ?? '', false);
        return order('manifest-augment or header.tar[.gz] after manifest.sig');
      case 'augment-read':
        if (isHeader) return startHeader(entry, isHeader[1] ?? '', false);
        return order('header.tar[.gz] after manifest-augment');
      case 'header-read': {
        if (augmented && !visited.has(`header-augment.tar${headerSuffix}`)) {
          const augment = HEADER_AUGMENT_NAME.exec(name);
          if (!augment || (augment[1] ?? '') !== headerSuffix) order(`header-augment.tar${headerSuffix} (manifest-augment present)`);
          return startHeader(entry, augment![1] ?? '', true);
        }
        return startData(entry);
      }
      case 'data':
        return startData(entry);
    }
  }

  // Where the current outer entry's bytes and its end go: set by startSmall, startHeader, startData.
  let outerData: (bytes: Uint8Array) => MaybePromise<void> = smallData;
  let outerEnd: (name: string) => Promise<void> = endSmall;
  const outer = createTarReader({ entry: outerEntryStart, data: (bytes) => outerData(bytes), entryEnd: (entry) => outerEnd(entry.name) }, 'artifact');

  // ---- version, manifest, manifest.sig, manifest-augment -----------------------------------------

  /** version (`hashed`: its checksum is checked once the manifest is read), manifest, manifest.sig, manifest-augment. */
  function startSmall(hashed = false): void {
    outerData = smallData;
    outerEnd = endSmall;
    smallLength = 0;
    if (hashed) entryHash = sha256();
  }

  function smallData(bytes: Uint8Array): void {
    entryHash?.update(bytes);
    appendSmall(bytes, outerEntry!.name);
  }

  function appendSmall(bytes: Uint8Array, where: string): void {
    const needed = smallLength + bytes.length;
    if (needed > SMALL_ENTRY_MAX_BYTES) {
      throw new OtaError('artifact-unsupported', `${where}: over ${SMALL_ENTRY_MAX_BYTES} bytes`);
    }
    if (needed > small.length) {
      let size = Math.max(small.length * 2, SMALL_ENTRY_FIRST_BYTES);
      while (size < needed) size *= 2;
      const grown = new Uint8Array(Math.min(size, SMALL_ENTRY_MAX_BYTES));
      grown.set(small.subarray(0, smallLength));
      small = grown;
    }
    small.set(bytes, smallLength);
    smallLength += bytes.length;
  }

  async function endSmall(name: string): Promise<void> {
    const bytes = small.subarray(0, smallLength);
    switch (name) {
      case 'version':
        readVersion(bytes);
        versionHash = entryHash!.digest();
        stage = 'manifest';
        return;
      case 'manifest': {
        const lines = parseManifest(bytes, 'manifest');
        addChecksums(lines);
        const expected = checksums.get('version');
        if (!expected) throw formatError('manifest: does not list "version"');
        checkDigest('version', expected, versionHash!);
        visited.add('version');
        manifestBytes = bytes.slice();
        stage = 'manifest-read';
        return;
      }
      case 'manifest.sig':
        await checkSignature(bytes);
        manifestBytes = undefined;
        stage = 'signature-read';
        return;
      case 'manifest-augment':
        addChecksums(parseManifest(bytes, 'manifest-augment', new Set(checksums.keys())));
        augmented = true;
        stage = 'augment-read';
        return;
    }
  }

  function addChecksums(lines: ManifestLine[]): void {
    for (const line of lines) {
      checksums.set(line.name, line.sha256);
      manifestOrder.push(line);
    }
  }

  async function checkSignature(text: Uint8Array): Promise<void> {
    if (!key) {
      signature = 'not-checked';
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(fromUtf8(text));
    } catch {
      throw unexpected('signature-invalid', 'manifest.sig', 'base64', `${JSON.stringify(String.fromCharCode(...text.subarray(0, 16)))}…`);
    }
    const manifest = manifestBytes!;
    let scheme: SignatureScheme;
    let signed: Uint8Array;
    if (key.type === 'ed25519') {
      scheme = 'ed25519';
      signed = manifest;
    } else {
      scheme = key.type === 'rsa' ? 'rsa-pkcs1-sha256' : 'ecdsa-p256-sha256';
      const hash = sha256();
      hash.update(manifest);
      signed = hash.digest();
    }
    let valid: boolean;
    try {
      valid = await verifier.verify(scheme, key, signed, bytes);
    } catch (error) {
      throw new OtaError('signature-invalid', `manifest.sig: ${bytes.length}-byte signature, ${key.type} key: ${(error as Error)?.message}`, { cause: error });
    }
    if (!valid) throw new OtaError('signature-invalid', `manifest.sig: ${scheme} signature invalid for the ${key.type} key`);
    signature = 'valid';
  }

  // ---- header.tar and header-augment.tar --------------------------------------------------------

  function startHeader(entry: TarEntry, suffix: string, augment: boolean): void {
    checkCompression(entry.name, suffix);
    checksummed(entry.name);
    if (!augment) headerSuffix = suffix;
    outerData = headerData;
    outerEnd = endHeader;
    entryHash = sha256();
    headerError = undefined;
    innerIsAugment = augment;
    innerNames = new Set();
    inner = openInner(entry.name, suffix, headerHandler(entry.name), HEADER_TAR_MAX_BYTES);
  }

  async function headerData(bytes: Uint8Array): Promise<void> {
    entryHash!.update(bytes);
    await keepHeaderError(() => feedInner(bytes));
  }

  /** Runs `work` on header.tar unless it already failed; a failure waits for the checksum, which decides which error to report. */
  async function keepHeaderError(work: () => Promise<void>): Promise<void> {
    if (headerError) return;
    try {
      await work();
    } catch (error) {
      if (!isOtaError(error)) throw error;
      headerError = error;
    }
  }

  async function endHeader(name: string): Promise<void> {
    await keepHeaderError(finishInner);
    inner = undefined;
    checkDigest(name, checksums.get(name)!, entryHash!.digest());
    if (headerError) throw headerError;
    visited.add(name);
    if (!innerIsAugment && !headerInfo) throw formatError(`${name}: has no header-info`);
    stage = 'header-read';
  }

  function headerHandler(label: string): TarHandler {
    return {
      entry: (entry) => {
        const name = entry.name;
        const where = `${label}/${name}`;
        if (innerNames.size === 0 && name !== 'header-info') throw unexpected('artifact-format', label, 'header-info first', `"${name}"`);
        once(name, where);
        checkRegular(where, entry);
        const bucket = HEADER_FILE.exec(name);
        if (name === 'header-info' || bucket) {
          if (bucket && !innerIsAugment && Number(bucket[1]) >= (headerInfo?.payloadTypes.length ?? 0)) {
            throw formatError(`${where}: header-info has ${headerInfo?.payloadTypes.length ?? 0} payload(s)`);
          }
          innerEntryKind = 'buffer';
          smallLength = 0;
        } else {
          innerEntryKind = 'skip'; // state scripts and anything newer: not used on a device
        }
      },
      data: (bytes) => {
        if (innerEntryKind === 'buffer') appendSmall(bytes, `${label}/${inner!.tar.current?.name}`);
      },
      entryEnd: (entry) => {
        if (innerEntryKind !== 'buffer') return;
        const bytes = small.subarray(0, smallLength);
        const where = `${label}/${entry.name}`;
        if (entry.name === 'header-info') {
          const info = parseHeaderInfo(bytes, where, innerIsAugment);
          if (innerIsAugment) augmentPayloadTypes = info.payloadTypes;
          else headerInfo = info;
          return;
        }
        const bucket = HEADER_FILE.exec(entry.name)!;
        const index = Number(bucket[1]);
        if (bucket[2] === 'type-info') (innerIsAugment ? augmentTypeInfos : typeInfos).set(index, parseTypeInfo(bytes, where));
        else (innerIsAugment ? augmentMetaDatas : metaDatas).set(index, parseMetaData(bytes, where));
      },
    };
  }

  /** Names inside one inner tar are unique. */
  function once(name: string, where: string): void {
    if (innerNames.has(name)) throw formatError(`${where}: appears twice`);
    innerNames.add(name);
  }

  function checksummed(name: string): void {
    if (!checksums.has(name)) throw formatError(`${name}: not in the manifest`);
  }

  // ---- inner streams (shared by header and data) ----------------------------------------------

  function openInner(label: string, suffix: string, handler: TarHandler, limit: number): InnerStream {
    return {
      label,
      tar: createTarReader(handler, label),
      inflate: suffix === '.gz' ? inflate.gunzip() : undefined,
      inflatedBytes: 0,
      limit,
    };
  }

  /** Hands inflated (or stored) bytes to the inner tar, counted against its limit. */
  async function toInnerTar(into: InnerStream, bytes: Uint8Array): Promise<void> {
    into.inflatedBytes += bytes.length;
    if (into.inflatedBytes > into.limit) {
      throw new OtaError('artifact-unsupported', `${into.label}: over ${into.limit} bytes inflated`);
    }
    await into.tar.write(bytes);
  }

  async function feedInner(bytes: Uint8Array): Promise<void> {
    const current = inner!;
    const stream = current.inflate;
    if (!stream) return toInnerTar(current, bytes);
    const step = options.inflate.pushBytes; // bounds one push's output (platform/inflate.ts)
    for (let at = 0; at < bytes.length; at += step) {
      const out = stream.push(bytes.subarray(at, at + step));
      if (out.length > 0) await toInnerTar(current, out);
    }
  }

  async function finishInner(): Promise<void> {
    const current = inner!;
    const out = current.inflate?.end();
    if (out && out.length > 0) await toInnerTar(current, out);
    current.tar.end();
  }

  // ---- head ------------------------------------------------------------------------------------

  async function emitHead(): Promise<void> {
    if (head) return;
    const info = headerInfo!;
    const label = `header.tar${headerSuffix}`;
    const types = augmentPayloadTypes ?? info.payloadTypes;
    if (augmentPayloadTypes && augmentPayloadTypes.length !== info.payloadTypes.length) {
      throw unexpected('artifact-format', `header-augment.tar${headerSuffix}/header-info`, `${info.payloadTypes.length} payloads`, augmentPayloadTypes.length);
    }
    const payloads: PayloadInfo[] = types.map((headerType, index) => {
      const bucket = `headers/${fourDigits(index)}/type-info`;
      const typeInfo = typeInfos.get(index);
      if (!typeInfo) throw formatError(`${label}: ${bucket} is missing`);
      const augment = augmentTypeInfos.get(index);
      // Tools before mender-artifact 4.4 write "" in type-info; header-info's type is the one that counts.
      for (const t of [typeInfo, augment]) {
        if (t && t.type !== null && t.type !== '' && headerType !== null && t.type !== headerType) {
          throw unexpected('artifact-format', `${label}: ${bucket}`, `header-info's type "${headerType}"`, `"${t.type}"`);
        }
      }
      const origMeta = metaDatas.get(index) ?? null;
      const augMeta = augmentMetaDatas.get(index) ?? null;
      const prefix = payloadDir(index);
      return {
        index,
        type: headerType ?? '',
        provides: { ...typeInfo.provides, ...augment?.provides },
        depends: { ...typeInfo.depends, ...augment?.depends },
        clearsProvides: [...(augment?.clearsProvides ?? typeInfo.clearsProvides ?? [])],
        metaData: origMeta || augMeta ? { ...origMeta, ...augMeta } : null,
        files: manifestOrder.filter((line) => line.name.startsWith(prefix)).map((line) => ({ name: line.name.slice(prefix.length), sha256: line.sha256 })),
      };
    });
    const depends = info.depends;
    const done: ArtifactHead = {
      version: 3,
      artifactName: info.provides.artifact_name!,
      deviceTypes: [...(depends.device_type as string[])],
      provides: { ...info.provides },
      depends: { ...depends },
      compression: headerSuffix === '.gz' ? 'gzip' : 'none',
      signature,
      augmented,
      payloads,
    };
    head = done;
    if (onHead) await call('onHead', () => onHead(done));
  }

  // ---- data/NNNN.tar ---------------------------------------------------------------------------

  async function startData(entry: TarEntry): Promise<void> {
    const match = DATA_NAME.exec(entry.name);
    if (!match) throw outOfOrder(entry, 'data/NNNN.tar[.gz] after the header');
    const index = Number(match[1]);
    const suffix = match[2] ?? '';
    checkCompression(entry.name, suffix);
    await emitHead();
    small = new Uint8Array(0); // the head is read: no small entry follows the data
    const payloads = head!.payloads.length;
    if (index !== payloadIndex + 1 || index >= payloads) {
      throw outOfOrder(entry, `data/${fourDigits(payloadIndex + 1)}.tar of ${payloads} payload(s)`);
    }
    if (suffix === '.gz' && resumePending?.payloadIndex === index) {
      throw new OtaError('artifact-unsupported', `${entry.name}: gzip payloads cannot resume; download from the start`);
    }
    stage = 'data';
    outerData = feedInner;
    outerEnd = endData;
    payloadIndex = index;
    innerNames = new Set();
    inner = openInner(entry.name, suffix, dataHandler(entry, suffix === ''), Infinity);
  }

  async function endData(): Promise<void> {
    await finishInner();
    inner = undefined;
  }

  function dataHandler(dataEntry: TarEntry, uncompressed: boolean): TarHandler {
    const label = dataEntry.name;
    const index = payloadIndex;
    const prefix = payloadDir(index);
    return {
      entry: async (entry) => {
        const name = entry.name;
        const where = entryAt(label, entry);
        checkRegular(where, entry);
        if (!PAYLOAD_FILE_NAME.test(name)) throw formatError(`${where}: expected letters, digits or "_-.," only`);
        once(name, where);
        checksummed(prefix + name);
        const opened: PayloadFile = {
          payloadIndex: index,
          name,
          size: entry.size,
          artifactOffset: uncompressed ? dataEntry.offset + entry.offset : undefined,
        };
        file = opened;
        fileHash = sha256();
        const resume = resumePending;
        const single = head!.payloads[index]!.files.length === 1;
        if (resume && resume.payloadIndex === index && resume.fileName === name && single && uncompressed) {
          resumePending = undefined;
          await resumeFile(opened, resume.fileOffset);
          return;
        }
        sinkUsed = true;
        await call('sink.open', () => sink.open(opened, 0));
      },
      data: async (bytes) => {
        fileHash!.update(bytes);
        await call('sink.write', () => sink.write(bytes));
      },
      entryEnd: async () => {
        const closed = file!;
        const actual = fileHash!.digest();
        checkDigest(prefix + closed.name, checksums.get(prefix + closed.name)!, actual);
        visited.add(prefix + closed.name);
        await call('sink.close', () => sink.close(closed));
        files.push({ payloadIndex: index, name: closed.name, size: closed.size, sha256: actual });
        file = undefined;
      },
    };
  }

  /** Re-hashes what the sink already stored, then asks the caller to continue at the file's offset. */
  async function resumeFile(resumed: PayloadFile, fileOffset: number): Promise<void> {
    if (fileOffset > resumed.size) throw unexpected('artifact-format', `resume "${resumed.name}"`, `an offset ≤ its ${resumed.size} bytes`, fileOffset);
    sinkUsed = true;
    await call('sink.open', () => sink.open(resumed, fileOffset));
    readBack ??= new Uint8Array(READ_BACK_BYTES);
    for (let at = 0; at < fileOffset; at += READ_BACK_BYTES) {
      const part = readBack.subarray(0, Math.min(READ_BACK_BYTES, fileOffset - at));
      await call('sink.readBack', () => sink.readBack!(at, part));
      fileHash!.update(part);
    }
    resumeSkip = fileOffset;
    seekTo = resumed.artifactOffset! + fileOffset;
    inner!.tar.pause();
    outer.pause();
  }

  /** write() and end() one at a time, nothing after end(); after a failure, that failure again. */
  function usable(method: string): void {
    if (busy) throw new Error(`${method}() while a write() is pending`);
    if (ended) throw new Error(`${method}() after end()`);
    if (failed !== undefined) throw failed;
  }

  return {
    get seekTo() {
      return seekTo;
    },
    async write(chunk) {
      if (!(chunk instanceof Uint8Array)) throw badArgument('"chunk"', 'a Uint8Array', typeof chunk);
      usable('write');
      busy = true;
      try {
        if (seekTo !== undefined) {
          // This chunk starts at seekTo: move both tar readers over the bytes the sink already has.
          outer.skipContent(seekTo - outer.position);
          inner!.tar.skipContent(resumeSkip);
          seekTo = undefined;
          resumeSkip = 0;
        }
        await outer.write(chunk);
      } catch (error) {
        throw await fail(error);
      } finally {
        busy = false;
      }
    },
    async end() {
      usable('end');
      ended = true;
      try {
        if (seekTo !== undefined) throw unexpected('artifact-format', 'artifact', `bytes from the resume point ${seekTo}`, 'the end');
        outer.end();
        if (stage !== 'header-read' && stage !== 'data') {
          throw formatError(`artifact: truncated at byte ${outer.position}, before the header`);
        }
        if (augmented && stage === 'header-read' && !visited.has(`header-augment.tar${headerSuffix}`)) {
          throw formatError(`artifact: header-augment.tar${headerSuffix} missing (manifest-augment present)`);
        }
        await emitHead();
        for (const line of manifestOrder) {
          if (!visited.has(line.name)) throw formatError(`${line.name}: in the manifest, not in the artifact`);
        }
        return { ...head!, files: files.slice() };
      } catch (error) {
        throw await fail(error);
      }
    },
  };
}

/** version: `{"format": "mender", "version": 3}`. */
function readVersion(bytes: Uint8Array): void {
  const { format, version } = parseObject(bytes, 'version');
  if (format !== 'mender') throw unexpected('artifact-format', 'version', 'format "mender"', JSON.stringify(format));
  // Version 2 (mender-artifact < 3.0) included: a device reads only version 3.
  if (version !== 3) throw unexpected('artifact-unsupported', 'version', 'format version 3', JSON.stringify(version));
}
