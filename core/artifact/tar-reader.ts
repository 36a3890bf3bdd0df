// Push-based tar reader (POSIX ustar, pax `x`/`g` records, GNU `L`/`K` long names), as Go's
// archive/tar writes and reads them for Mender Artifacts (research/mender-protocol.md §1.1).
// Content is handed on as subarrays of the input: no copies, no per-byte loops over file data.
import type { MaybePromise } from '../../platform/maybe-async.ts';
import { fromUtf8 } from '../../base/bytes.ts';
import { OtaError, badArgument, formatError } from '../../base/errors.ts';

export const TAR_BLOCK_BYTES = 512;
/** Cap for one pax record set or GNU long name: far above any name Mender allows. */
export const TAR_META_MAX_BYTES = 8 * 1024;
/**
 * Bytes accepted after the end-of-archive marker: a tar record's padding (GNU tar pads the archive
 * to 10240-byte records; Go's writer adds none). More is refused: those bytes are covered by no
 * checksum, and a stream that goes on past its end would otherwise be read (or inflated) forever.
 */
export const TAR_TRAILING_MAX_BYTES = 10240;

export interface TarEntry {
  /** Full path (pax `path`, GNU long name, or ustar prefix + name). */
  readonly name: string;
  readonly size: number;
  /** The typeflag character: '0' for regular files ('\0' is reported as '0'), '2' symlink, … */
  readonly type: string;
  /** Offset of the entry's first content byte in this tar stream. */
  readonly offset: number;
}

/** Receives entries in order; every call may return a Promise, which the reader awaits. */
export interface TarHandler {
  entry(entry: TarEntry): MaybePromise<void>;
  /** Next content bytes of the current entry; borrowed for the duration of the call. */
  data(bytes: Uint8Array): MaybePromise<void>;
  entryEnd(entry: TarEntry): MaybePromise<void>;
}

type State = 'header' | 'content' | 'padding' | 'meta' | 'skip' | 'zero' | 'end';

/** One tar stream pushed in chunks of any size (createTarReader). */
export interface TarReader {
  /** Bytes of the tar stream consumed so far. */
  readonly position: number;
  /** True once the end-of-archive marker (two zero blocks) was read. */
  readonly ended: boolean;
  /** Bytes written after the end-of-archive marker (at most TAR_TRAILING_MAX_BYTES: more is refused). */
  readonly trailing: number;
  /** The entry whose content is being read, if any. */
  readonly current: TarEntry | undefined;
  /**
   * Stops reading the current chunk after the handler call in progress returns; the content part
   * being handed over when this was called counts as not consumed. Used to resume at another offset.
   */
  pause(): void;
  /** Jumps `count` bytes forward inside the current entry's content (bytes the caller already has). */
  skipContent(count: number): void;
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Checks that the stream ended cleanly: after the end-of-archive marker, or (as Go's reader
   * accepts) exactly at an entry boundary. Throws OtaError('artifact-format') when truncated.
   */
  end(): void;
}

/**
 * Reads one tar stream pushed in chunks of any size. `label` names the stream in error messages
 * (e.g. "data/0000.tar"). Directories are skipped (reported, when `reportDirectories`, for a
 * handler that refuses them); pax and GNU name records are applied to the next entry; other entry
 * types are reported and left to the handler to judge. More than TAR_TRAILING_MAX_BYTES after the
 * end-of-archive marker is OtaError('artifact-format').
 */
export function createTarReader(handler: TarHandler, label: string, reportDirectories = false): TarReader {
  return new StreamTarReader(handler, label, reportDirectories);
}

// A class, not a closure factory: on a preloaded XS device its methods stay in flash, where every
// closure a factory makes costs RAM (a function object and a copy of its byte code) per reader.
// Methods are TypeScript-private, on the prototype: XS gives every instance a slot for each ES
// #method.
class StreamTarReader implements TarReader {
  readonly #handler: TarHandler;
  readonly #label: string;
  readonly #reportDirectories: boolean;
  #trailing = 0; // bytes after the end-of-archive marker
  #state: State = 'header';
  readonly #block = new Uint8Array(TAR_BLOCK_BYTES); // 512 B: one header block, assembled across chunks
  #blockLength = 0;
  #meta: Uint8Array | undefined; // ≤ TAR_META_MAX_BYTES: pax records or a GNU long name, allocated on first use
  #metaLength = 0;
  #metaType = '';
  #remaining = 0; // content, padding, meta or skip bytes left in the current state
  #padding = 0; // padding that follows the current content
  #current: TarEntry | undefined;
  #position = 0; // bytes of the tar stream consumed
  #paused = false;
  // Overrides for the next entry, from pax `x` and GNU `L` records.
  #nextName: string | undefined;
  #nextSize: number | undefined;

  constructor(handler: TarHandler, label: string, reportDirectories: boolean) {
    this.#handler = handler;
    this.#label = label;
    this.#reportDirectories = reportDirectories;
  }

  get trailing(): number {
    return this.#trailing;
  }

  get position(): number {
    return this.#position;
  }

  get ended(): boolean {
    return this.#state === 'end';
  }

  get current(): TarEntry | undefined {
    return this.#state === 'content' ? this.#current : undefined;
  }

  pause(): void {
    this.#paused = true;
  }

  skipContent(count: number): void {
    if (this.#state !== 'content' || count < 0 || count > this.#remaining) {
      throw badArgument('"count"', `0-${this.#state === 'content' ? this.#remaining : 0}`, count, RangeError);
    }
    this.#remaining -= count;
    this.#position += count;
    this.#paused = false;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#paused = false;
    let at = 0;
    while (at < chunk.length && !this.#paused) {
      // Bytes of this chunk the current state takes (header states: up to a whole block).
      const state = this.#state;
      const take = Math.min(state === 'header' || state === 'zero' ? TAR_BLOCK_BYTES - this.#blockLength : this.#remaining, chunk.length - at);
      switch (state) {
        case 'header':
        case 'zero':
          this.#block.set(chunk.subarray(at, at + take), this.#blockLength);
          this.#blockLength += take;
          at += take;
          this.#position += take;
          if (this.#blockLength === TAR_BLOCK_BYTES) {
            this.#blockLength = 0;
            await this.onBlock();
          }
          break;
        case 'content':
          if (take > 0) {
            await this.#handler.data(chunk.subarray(at, at + take));
            if (this.#paused) return;
            this.#remaining -= take;
            this.#position += take;
            at += take;
          }
          if (this.#remaining === 0) await this.endContent();
          break;
        case 'meta':
          this.#meta!.set(chunk.subarray(at, at + take), this.#metaLength);
          this.#metaLength += take;
          this.#remaining -= take;
          this.#position += take;
          at += take;
          if (this.#remaining === 0) this.endMeta();
          break;
        case 'padding':
        case 'skip':
          this.#remaining -= take;
          this.#position += take;
          at += take;
          if (this.#remaining === 0) {
            if (state === 'skip') this.toPadding();
            else this.#state = 'header';
          }
          break;
        case 'end':
          // Go's reader stops at the end marker and ignores what follows (tar record padding); a
          // record's worth is taken, more is refused (unchecked bytes, or a stream with no end).
          this.#position += chunk.length - at;
          this.#trailing += chunk.length - at;
          if (this.#trailing > TAR_TRAILING_MAX_BYTES) {
            throw this.error(`${this.#trailing} bytes after the end-of-archive marker, over ${TAR_TRAILING_MAX_BYTES}`);
          }
          return;
      }
    }
    // A zero-size entry completes as soon as its header is read, even if the chunk ended there.
    if (!this.#paused && this.#state === 'content' && this.#remaining === 0) await this.endContent();
  }

  end(): void {
    const state = this.#state;
    if (state === 'end') return;
    if (state === 'header' && this.#blockLength === 0 && this.#nextName === undefined && this.#nextSize === undefined) return;
    if (state === 'zero' && this.#blockLength === 0) return;
    const current = this.#current;
    const where = current && (state === 'content' || state === 'padding') ? ` in "${current.name}"` : '';
    throw this.error(`truncated at byte ${this.#position}${where}`);
  }

  private error(message: string): OtaError {
    return formatError(`${this.#label}: ${message}`);
  }

  /** After content or meta: its padding, then the next header. */
  private toPadding(): void {
    this.#state = this.#padding > 0 ? 'padding' : 'header';
    this.#remaining = this.#padding;
    this.#padding = 0;
  }

  private async onBlock(): Promise<void> {
    const block = this.#block;
    const headerAt = this.#position - TAR_BLOCK_BYTES;
    if (isZeroBlock(block)) {
      // Two zero blocks end the archive; a zero block followed by a header is corrupt (as Go says).
      this.#state = this.#state === 'zero' ? 'end' : 'zero';
      return;
    }
    const header = (message: string) => this.error(`tar header at byte ${headerAt}: ${message}`);
    if (this.#state === 'zero') throw header('expected a second zero block, got data');
    const stored = parseOctal(block, 148, 8);
    if (stored === undefined) throw header('unreadable checksum field');
    const [unsigned, signed] = checksums(block);
    if (stored !== unsigned && stored !== signed) throw header(`bad checksum (stored ${stored}, computed ${unsigned})`);
    const typeByte = block[156]!;
    const type = typeByte === 0 ? '0' : String.fromCharCode(typeByte);
    let size = parseSize(block, 124, 12);
    if (size === undefined) throw header('unreadable size field');
    if (this.#nextSize !== undefined) size = this.#nextSize;

    if ('xgLK'.includes(type)) { // pax (x, g) or GNU long name (L, K): metadata for the next entry
      if (size > TAR_META_MAX_BYTES) {
        throw header(`${type === 'L' || type === 'K' ? 'GNU long name' : 'pax header'} of ${size} bytes, over ${TAR_META_MAX_BYTES}`);
      }
      this.#nextSize = undefined;
      this.#metaType = type;
      this.#meta ??= new Uint8Array(TAR_META_MAX_BYTES);
      this.#metaLength = 0;
      this.#remaining = size;
      this.#padding = padTo512(size);
      this.#state = 'meta';
      if (size === 0) this.endMeta();
      return;
    }

    let name = this.#nextName;
    if (name === undefined) {
      name = cString(block, 0, 100, () => header('name is not UTF-8'));
      // POSIX ustar: a 155-byte prefix joins the name (GNU tar uses those bytes for times instead).
      if (block[257] === 0x75 && block[262] === 0 && block[263] === 0x30 && block[264] === 0x30) {
        const prefix = cString(block, 345, 155, () => header('prefix is not UTF-8'));
        if (prefix) name = `${prefix}/${name}`;
      }
    }
    this.#nextName = undefined;
    this.#nextSize = undefined;
    if (type === '5' && !this.#reportDirectories) {
      // Directories carry no content in practice; skip whatever size says, as Go does.
      this.#state = size > 0 ? 'skip' : 'header';
      this.#remaining = size;
      this.#padding = padTo512(size);
      return;
    }
    // Hard and symbolic links, devices and FIFOs have no content whatever size says (Go: size 0).
    const hasContent = !/^[1-6]$/.test(type);
    const entry: TarEntry = { name, size: hasContent ? size : 0, type, offset: this.#position };
    this.#current = entry;
    this.#state = 'content';
    this.#remaining = entry.size;
    this.#padding = padTo512(entry.size);
    await this.#handler.entry(entry);
  }

  private async endContent(): Promise<void> {
    this.toPadding();
    await this.#handler.entryEnd(this.#current!);
  }

  private endMeta(): void {
    const bytes = this.#meta!.subarray(0, this.#metaLength);
    const at = this.#position - this.#metaLength;
    if (this.#metaType === 'L') {
      let end = bytes.indexOf(0);
      if (end < 0) end = bytes.length;
      this.#nextName = decodeOr(bytes.subarray(0, end), () => this.error(`GNU long name at byte ${at}: not UTF-8`));
    } else if (this.#metaType === 'x') {
      this.applyPax(bytes, at);
    } // 'g' (global pax) and 'K' (long link name) do not affect what Mender reads.
    this.toPadding();
  }

  /** pax records: "%d %s=%s\n", the length counting the whole record (POSIX.1-2008 pax). */
  private applyPax(bytes: Uint8Array, at: number): void {
    let i = 0;
    while (i < bytes.length) {
      const record = (message: string) => this.error(`pax header at byte ${at + i}: ${message}`);
      const malformed = () => record('malformed record');
      const space = bytes.indexOf(0x20, i);
      if (space < 0 || space - i > 12) throw malformed();
      const length = Number(decodeOr(bytes.subarray(i, space), malformed));
      if (!Number.isSafeInteger(length) || length <= space - i + 1 || i + length > bytes.length || bytes[i + length - 1] !== 0x0a) {
        throw record(`malformed record of length ${length}`);
      }
      const text = decodeOr(bytes.subarray(space + 1, i + length - 1), malformed);
      const eq = text.indexOf('=');
      if (eq <= 0) throw malformed();
      const key = text.slice(0, eq);
      const value = text.slice(eq + 1);
      if (key === 'path') this.#nextName = value;
      else if (key === 'size') {
        if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
          throw record(`size expected a decimal byte count, got "${value.slice(0, 20)}"`);
        }
        this.#nextSize = Number(value);
      }
      i += length;
    }
  }
}

function padTo512(size: number): number {
  const rest = size % TAR_BLOCK_BYTES;
  return rest === 0 ? 0 : TAR_BLOCK_BYTES - rest;
}

function isZeroBlock(block: Uint8Array): boolean {
  // Word-wise over the 512-byte block (header path only, not content).
  const words = new Uint32Array(block.buffer, block.byteOffset, TAR_BLOCK_BYTES / 4);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/** Header checksum with the checksum field read as spaces: unsigned sum, and the signed sum old tars wrote. */
function checksums(block: Uint8Array): [number, number] {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < TAR_BLOCK_BYTES; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return [unsigned, signed];
}

/** An octal field (NUL/space padded); undefined when it holds anything else. */
function parseOctal(block: Uint8Array, at: number, length: number): number | undefined {
  let value = 0;
  let digits = 0;
  let i = at;
  const end = at + length;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++; // leading padding
  if (i === end) return 0;
  for (; i < end; i++) {
    const b = block[i]!;
    if (b >= 0x30 && b <= 0x37) {
      value = value * 8 + (b - 0x30);
      digits++;
    } else break;
  }
  for (; i < end; i++) if (block[i] !== 0x20 && block[i] !== 0) return undefined; // trailing padding only
  return digits > 0 ? value : undefined;
}

/** The size field: octal, or GNU base-256 (high bit set) for sizes ≥ 8 GiB. */
function parseSize(block: Uint8Array, at: number, length: number): number | undefined {
  if (block[at]! & 0x80) {
    if (block[at]! !== 0x80) return undefined; // negative or absurdly large
    let value = 0;
    for (let i = at + 1; i < at + length; i++) value = value * 256 + block[i]!;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  return parseOctal(block, at, length);
}

function cString(block: Uint8Array, at: number, length: number, fail: () => OtaError): string {
  let end = block.indexOf(0, at);
  if (end < 0 || end > at + length) end = at + length;
  return decodeOr(block.subarray(at, end), fail);
}

function decodeOr(bytes: Uint8Array, fail: () => OtaError): string {
  try {
    return fromUtf8(bytes);
  } catch {
    throw fail();
  }
}
