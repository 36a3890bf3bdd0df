// Writes module-image Mender Artifacts (format v3) the way mender-artifact 3.9 lays them out, for
// tests, the dev server and the demo. Node-only. With compression 'none' and the same inputs
// (mtime, owner) the bytes equal mender-artifact's; signatures and gzip streams differ only where
// the algorithms are randomised or implementation-defined.
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { Gzip } from 'fflate';
import { equalBytes, joinBytes, toBase64, toHex, utf8 } from '../base/bytes.ts';
import { isObject } from '../base/json.ts';

/** A payload file given whole. */
export interface PayloadBytes {
  readonly name: string;
  readonly data: Uint8Array;
  /** Permission bits in the inner tar (default 0o644). */
  readonly mode?: number;
  /** Seconds since the epoch (default: the artifact's `mtime`). */
  readonly mtime?: number;
}

/**
 * A payload file given as chunks, for payloads too big to hold. `chunks` is called twice (once to
 * hash, once to write) and must yield the same bytes both times, `size` in total. A yielded chunk
 * is borrowed: the source may reuse its buffer once the next chunk is asked for.
 */
export interface PayloadStream {
  readonly name: string;
  readonly size: number;
  readonly chunks: () => Iterable<Uint8Array>;
  readonly mode?: number;
  readonly mtime?: number;
}

export type PayloadFileSource = PayloadBytes | PayloadStream;

/** Owner fields of the entries mender-artifact stamps with the writing user (header.tar, data/, files). */
export interface TarOwner {
  readonly uid: number;
  readonly gid: number;
  readonly uname: string;
  readonly gname: string;
}

export interface WriteArtifactOptions {
  /** -n */
  readonly artifactName: string;
  /** -t (at least one) */
  readonly deviceTypes: readonly string[];
  /** -T: the update module's name. */
  readonly payloadType: string;
  /** -f, in order. Names are basenames of letters, digits and ".,_-" (mender-artifact's rule). */
  readonly files?: readonly PayloadFileSource[];
  /** -p: type-info artifact_provides, over the default `rootfs-image.<type>.version`. */
  readonly provides?: Readonly<Record<string, string>>;
  /** -d: type-info artifact_depends. */
  readonly depends?: Readonly<Record<string, string | readonly string[]>>;
  /** --clears-provides: written before the default `rootfs-image.<type>.*`. */
  readonly clearsProvides?: readonly string[];
  /** -m: headers/0000/meta-data, a JSON object (written with sorted keys, as Go does). */
  readonly metaData?: Readonly<Record<string, unknown>>;
  /** -N: header-info artifact_depends.artifact_name. */
  readonly artifactNameDepends?: readonly string[];
  /** -g: header-info artifact_provides.artifact_group. */
  readonly providesGroup?: string;
  /** -G: header-info artifact_depends.artifact_group. */
  readonly dependsGroups?: readonly string[];
  readonly noDefaultSoftwareVersion?: boolean;
  readonly noDefaultClearsProvides?: boolean;
  /** --software-filesystem / --software-name / --software-version: the default provides key and value. */
  readonly softwareFilesystem?: string;
  readonly softwareName?: string;
  readonly softwareVersion?: string;
  /** Default 'gzip', as mender-artifact. */
  readonly compression?: 'none' | 'gzip';
  /** -k: PEM private key (RSA → PKCS#1 v1.5 SHA-256; EC P-256 → raw r‖s), any PEM form Node reads. */
  readonly signingKey?: string;
  /**
   * Signs the manifest instead of `signingKey` and returns manifest.sig's base64 text: for schemes
   * ota-mcu's reader verifies beyond mender-artifact's (Ed25519 over the manifest itself,
   * core/artifact/artifact-reader.ts), which `signingKey` refuses.
   */
  readonly signManifest?: (manifest: Uint8Array) => string;
  /** Seconds since the epoch for header.tar and data/0000.tar (default: now). */
  readonly mtime?: number;
  /** Default root (0/0). */
  readonly owner?: TarOwner;
}

const TAR_BLOCK_BYTES = 512;
const USTAR_NAME_BYTES = 100;
const USTAR_MAX_SIZE = 0o77777777777; // 11 octal digits (8 GiB - 1); Go would add a PAX size record, we refuse
const NAME_RULE = /^[A-Za-z0-9_\-.,]+$/; // Go's `^[\w\-.,]+$`; \w is ASCII in Go
const ROOT: TarOwner = { uid: 0, gid: 0, uname: 'root', gname: 'root' };
const NOBODY: TarOwner = { uid: 0, gid: 0, uname: '', gname: '' }; // fields of version, manifest, header.tar entries
const VERSION_JSON = '{"format":"mender","version":3}';
const END_OF_ARCHIVE = new Uint8Array(2 * TAR_BLOCK_BYTES);
const PADDING = new Uint8Array(TAR_BLOCK_BYTES);
const GZIP_PUSH_BYTES = 64 * 1024;

/** Writes the whole artifact into memory. */
export function writeArtifact(options: WriteArtifactOptions): Uint8Array {
  const parts: Uint8Array[] = [];
  writeArtifactTo(options, (chunk) => parts.push(chunk.slice()));
  return joinBytes(parts);
}

/**
 * Streams the artifact to `sink` (chunks are borrowed for the call). Payload files are read twice
 * and never held whole; with gzip the compressed payload tar is held once, because its size goes in
 * the outer tar header before it.
 */
export function writeArtifactTo(options: WriteArtifactOptions, sink: (chunk: Uint8Array) => void): void {
  const plan = planArtifact(options);
  const compression = options.compression ?? 'gzip';
  const suffix = compression === 'gzip' ? '.gz' : '';
  const mtime = options.mtime ?? Math.floor(Date.now() / 1000);
  const owner = options.owner ?? ROOT;

  const digests = plan.files.map(sha256Of);
  const headerTar = compress(compression, buildHeaderTar(plan));
  const headerName = `header.tar${suffix}`;
  const manifest = utf8(
    [
      ...plan.files.map((file, i) => `${toHex(digests[i]!)}  data/0000/${file.name}\n`),
      `${toHex(sha256(headerTar))}  ${headerName}\n`,
      `${toHex(sha256(utf8(VERSION_JSON)))}  version\n`,
    ].join(''),
  );

  emitEntry(sink, 'version', utf8(VERSION_JSON), 0o600, 0, NOBODY);
  emitEntry(sink, 'manifest', manifest, 0o600, 0, NOBODY);
  if (options.signManifest !== undefined) {
    emitEntry(sink, 'manifest.sig', utf8(options.signManifest(manifest)), 0o600, 0, NOBODY);
  } else if (options.signingKey !== undefined) {
    emitEntry(sink, 'manifest.sig', utf8(signManifest(options.signingKey, manifest)), 0o600, 0, NOBODY);
  }
  emitEntry(sink, headerName, headerTar, 0o600, mtime, owner);

  const dataName = `data/0000.tar${suffix}`;
  const dataTar = () => payloadTarChunks(plan.files, digests, mtime, owner);
  if (compression === 'gzip') {
    const compressed = compressChunks(dataTar());
    let size = 0;
    for (const chunk of compressed) size += chunk.length;
    emitHeader(sink, dataName, size, 0o600, mtime, owner);
    for (const chunk of compressed) sink(chunk);
    emitPadding(sink, size);
  } else {
    const size = payloadTarBytes(plan.files);
    emitHeader(sink, dataName, size, 0o600, mtime, owner);
    for (const chunk of dataTar()) sink(chunk);
    emitPadding(sink, size);
  }
  sink(END_OF_ARCHIVE);
}

interface Plan {
  readonly files: readonly PayloadFileSource[];
  readonly headerInfo: string;
  readonly typeInfo: string;
  readonly metaData: string | undefined;
}

// Checks the options and renders the header JSON exactly as mender-artifact 3.9 (Go encoding/json:
// struct fields in declaration order, map keys sorted, omitempty).
function planArtifact(options: WriteArtifactOptions): Plan {
  const { artifactName, deviceTypes, payloadType } = options;
  if (typeof artifactName !== 'string' || artifactName === '') {
    throw new TypeError(`"artifactName" expected a non-empty string, got ${JSON.stringify(artifactName)}`);
  }
  if (!Array.isArray(deviceTypes) || deviceTypes.length === 0 || deviceTypes.some((t) => typeof t !== 'string' || t === '')) {
    throw new TypeError(`"deviceTypes" expected at least one non-empty string, got ${JSON.stringify(deviceTypes)}`);
  }
  if (typeof payloadType !== 'string' || payloadType === '') {
    throw new TypeError(`"payloadType" expected a non-empty string, got ${JSON.stringify(payloadType)}`);
  }
  const files = options.files ?? [];
  const seen = new Set<string>();
  for (const file of files) {
    if (!NAME_RULE.test(file.name)) {
      throw new TypeError(`payload file "${file.name}": only letters, digits and ".,_-" are allowed (mender-artifact's rule)`);
    }
    if (seen.has(file.name)) throw new TypeError(`payload file "${file.name}" is given twice`);
    seen.add(file.name);
    const size = sizeOf(file);
    if (!Number.isSafeInteger(size) || size < 0 || size > USTAR_MAX_SIZE) {
      throw new RangeError(`payload file "${file.name}": "size" expected an integer from 0 to ${USTAR_MAX_SIZE} (8 GiB - 1), got ${size}`);
    }
  }

  const artifactProvides: Record<string, unknown> = { artifact_name: artifactName };
  if (options.providesGroup !== undefined) artifactProvides.artifact_group = options.providesGroup;
  const artifactDepends: Record<string, unknown> = {};
  if (options.artifactNameDepends?.length) artifactDepends.artifact_name = [...options.artifactNameDepends];
  artifactDepends.device_type = [...deviceTypes];
  if (options.dependsGroups?.length) artifactDepends.artifact_group = [...options.dependsGroups];
  const headerInfo = { payloads: [{ type: payloadType }], artifact_provides: artifactProvides, artifact_depends: artifactDepends };

  const softwareKey = `${options.softwareFilesystem ?? 'rootfs-image'}.${options.softwareName ?? payloadType}`;
  const provides: Record<string, string> = {};
  if (!options.noDefaultSoftwareVersion) provides[`${softwareKey}.version`] = options.softwareVersion ?? artifactName;
  Object.assign(provides, options.provides); // user values win over the default, as in mender-artifact
  const clears = [...(options.clearsProvides ?? [])];
  if (!options.noDefaultClearsProvides) clears.push(`${softwareKey}.*`);
  const typeInfo: Record<string, unknown> = { type: payloadType };
  if (options.depends !== undefined && Object.keys(options.depends).length > 0) typeInfo.artifact_depends = sortKeys(options.depends);
  if (Object.keys(provides).length > 0) typeInfo.artifact_provides = sortKeys(provides);
  if (clears.length > 0) typeInfo.clears_artifact_provides = clears;

  let metaData: string | undefined;
  if (options.metaData !== undefined) {
    if (!isObject(options.metaData)) {
      throw new TypeError(`"metaData" expected a JSON object, got ${JSON.stringify(options.metaData)}`);
    }
    metaData = goJson(options.metaData, true);
  }
  return { files, headerInfo: goJson(headerInfo, false), typeInfo: goJson(typeInfo, false), metaData };
}

function buildHeaderTar(plan: Plan): Uint8Array {
  const parts: Uint8Array[] = [];
  const add = (name: string, text: string) => {
    const body = utf8(text);
    parts.push(tarHeader(name, body.length, 0o600, 0, NOBODY), body, PADDING.subarray(0, padBytes(body.length)));
  };
  add('header-info', plan.headerInfo);
  add('headers/0000/type-info', plan.typeInfo);
  if (plan.metaData !== undefined) add('headers/0000/meta-data', plan.metaData);
  parts.push(END_OF_ARCHIVE);
  return joinBytes(parts);
}

function* payloadTarChunks(
  files: readonly PayloadFileSource[],
  digests: readonly Uint8Array[],
  mtime: number,
  owner: TarOwner,
): Generator<Uint8Array> {
  for (const [i, file] of files.entries()) {
    const size = sizeOf(file);
    yield* entryHeaders(file.name, size, file.mode ?? 0o644, file.mtime ?? mtime, owner);
    // Re-hash while writing: a chunk source that changed between passes would otherwise yield an
    // artifact whose manifest lies.
    const hash = createHash('sha256');
    let written = 0;
    for (const chunk of chunksOf(file)) {
      hash.update(chunk);
      written += chunk.length;
      if (written > size) break;
      yield chunk;
    }
    const digest = new Uint8Array(hash.digest());
    if (written !== size || !equalBytes(digest, digests[i]!)) {
      throw new RangeError(`payload file "${file.name}": its chunks changed between passes (${written} of ${size} bytes, sha256 ${toHex(digest)})`);
    }
    if (padBytes(size) > 0) yield PADDING.subarray(0, padBytes(size));
  }
  yield END_OF_ARCHIVE;
}

function payloadTarBytes(files: readonly PayloadFileSource[]): number {
  let total = END_OF_ARCHIVE.length;
  for (const file of files) {
    const size = sizeOf(file);
    for (const header of entryHeaders(file.name, size, 0, 0, ROOT)) total += header.length;
    total += size + padBytes(size);
  }
  return total;
}

function emitEntry(sink: (chunk: Uint8Array) => void, name: string, body: Uint8Array, mode: number, mtime: number, owner: TarOwner): void {
  emitHeader(sink, name, body.length, mode, mtime, owner);
  sink(body);
  emitPadding(sink, body.length);
}

function emitHeader(sink: (chunk: Uint8Array) => void, name: string, size: number, mode: number, mtime: number, owner: TarOwner): void {
  for (const header of entryHeaders(name, size, mode, mtime, owner)) sink(header);
}

function emitPadding(sink: (chunk: Uint8Array) => void, size: number): void {
  if (padBytes(size) > 0) sink(PADDING.subarray(0, padBytes(size)));
}

// The ustar header, preceded by a PAX header when the name does not fit (Go archive/tar).
function entryHeaders(name: string, size: number, mode: number, mtime: number, owner: TarOwner): Uint8Array[] {
  const header = tarHeader(name, size, mode, mtime, owner);
  if (utf8(name).length <= USTAR_NAME_BYTES) return [header];
  const pax = utf8(paxRecord('path', name));
  const slash = name.lastIndexOf('/');
  const paxName = `${name.slice(0, slash + 1)}PaxHeaders.0/${name.slice(slash + 1)}`;
  return [tarHeader(paxName, pax.length, 0, 0, NOBODY, 'x'), pax, PADDING.subarray(0, padBytes(pax.length)), header];
}

// "%d key=value\n" where %d counts the whole record, itself included.
function paxRecord(key: string, value: string): string {
  const body = utf8(` ${key}=${value}\n`).length;
  let length = body + String(body).length;
  if (String(length).length !== String(body).length) length = body + String(length).length;
  return `${length} ${key}=${value}\n`;
}

function tarHeader(name: string, size: number, mode: number, mtime: number, owner: TarOwner, type: '0' | 'x' = '0'): Uint8Array {
  const block = new Uint8Array(TAR_BLOCK_BYTES); // one ustar header
  const put = (at: number, width: number, text: string) => block.set(utf8(text).subarray(0, width), at);
  const octal = (at: number, width: number, value: number) => {
    const digits = value.toString(8);
    if (digits.length > width - 1) throw new RangeError(`tar entry "${name}": ${value} does not fit a ${width - 1}-digit octal field`);
    put(at, width, `${digits.padStart(width - 1, '0')}\0`);
  };
  put(0, 100, name); // truncated when a PAX path record carries the full name
  octal(100, 8, mode);
  octal(108, 8, owner.uid);
  octal(116, 8, owner.gid);
  octal(124, 12, size);
  octal(136, 12, mtime);
  block.fill(0x20, 148, 156); // checksum field counts as spaces
  put(156, 1, type);
  put(257, 8, 'ustar\u000000');
  put(265, 32, owner.uname);
  put(297, 32, owner.gname);
  if (type === '0') {
    // Go writes device numbers on regular entries only.
    octal(329, 8, 0);
    octal(337, 8, 0);
  }
  let sum = 0;
  for (const byte of block) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

function padBytes(size: number): number {
  return (TAR_BLOCK_BYTES - (size % TAR_BLOCK_BYTES)) % TAR_BLOCK_BYTES;
}

function sizeOf(file: PayloadFileSource): number {
  return 'data' in file ? file.data.length : file.size;
}

function chunksOf(file: PayloadFileSource): Iterable<Uint8Array> {
  return 'data' in file ? [file.data] : file.chunks();
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

function sha256Of(file: PayloadFileSource): Uint8Array {
  const hash = createHash('sha256');
  let total = 0;
  for (const chunk of chunksOf(file)) {
    hash.update(chunk);
    total += chunk.length;
  }
  if (total !== sizeOf(file)) {
    throw new RangeError(`payload file "${file.name}": "size" says ${sizeOf(file)} bytes, hashing its chunks gave ${total}`);
  }
  return new Uint8Array(hash.digest());
}

function compress(compression: 'none' | 'gzip', bytes: Uint8Array): Uint8Array {
  return compression === 'none' ? bytes : joinBytes(compressChunks([bytes]));
}

// One gzip member with a zero mtime and OS byte 255, like Go's compress/gzip (pgzip) header. Input
// goes to fflate in whole 64 KiB pushes, so the output does not depend on how the source is chunked.
function compressChunks(chunks: Iterable<Uint8Array>): Uint8Array[] {
  const out: Uint8Array[] = [];
  const gzip = new Gzip({ level: 6, mtime: 0 }, (data) => {
    if (out.length === 0 && data.length >= 10) data[9] = 0xff;
    out.push(data);
  });
  const staging = new Uint8Array(GZIP_PUSH_BYTES); // fflate copies each push into its window
  let filled = 0;
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length; ) {
      const take = Math.min(chunk.length - at, GZIP_PUSH_BYTES - filled);
      staging.set(chunk.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === GZIP_PUSH_BYTES) {
        gzip.push(staging);
        filled = 0;
      }
    }
  }
  gzip.push(staging.subarray(0, filled), true);
  return out;
}

function signManifest(pem: string, manifest: Uint8Array): string {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new TypeError(`signing key: expected a PEM private key (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType === 'rsa') return toBase64(new Uint8Array(sign('sha256', manifest, key)));
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return toBase64(new Uint8Array(sign('sha256', manifest, { key, dsaEncoding: 'ieee-p1363' })));
  }
  const what = key.asymmetricKeyType === 'ec' ? `ec ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType;
  throw new TypeError(`signing key: expected RSA or ECDSA P-256 (what mender-artifact verifies), got ${what}`);
}

function sortKeys<T>(map: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(map).sort()) out[key] = map[key]!;
  return out;
}

// JSON as Go's encoding/json writes it: HTML-safe escapes, exponents with two digits, and (for
// maps) sorted keys.
function goJson(value: unknown, sortMaps: boolean): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`JSON value expected a finite number, got ${value}`);
    return JSON.stringify(value).replace(/e([+-])(\d)$/, 'e$10$2');
  }
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (Array.isArray(value)) return `[${value.map((item) => goJson(item, sortMaps)).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (sortMaps) keys.sort();
    return `{${keys.map((key) => `${goJson(key, false)}:${goJson((value as Record<string, unknown>)[key], sortMaps)}`).join(',')}}`;
  }
  throw new TypeError(`JSON value expected string, number, boolean, array or object, got ${typeof value}`);
}
