// The dev server's state, kept in memory and made durable by a JSON-lines journal.
// Why a journal and not a database: node:sqlite needs Node >= 22 and we run on 20; a native module
// would be a build dependency for CI; the state is small (devices, deployments, logs).
//
// The journal is a snapshot followed by a log. Every change appends one line and fsyncs before
// the HTTP answer goes out; a line holds what changed, not the whole record: a new record whole,
// an update as a patch of the fields that changed, with arrays that grew or shrank written as
// their appended items and dropped indices. (Writing whole records made the journal grow with the
// square of device input: each status report rewrote the record's whole history.) When the log
// outgrows the snapshot (and COMPACT_MIN_LOG_BYTES), the journal is rewritten as a fresh snapshot
// (temp + fsync + rename), so the file stays within twice the state at the last compaction plus
// COMPACT_MIN_LOG_BYTES. Start-up replays the lines and compacts.
//
// Crashes: a crash mid-append leaves a torn last line, dropped at load; a crash mid-compaction
// leaves the old journal (the rename is atomic). A failed append (ENOSPC, EIO) is cut off again
// (ftruncate) so that the next line does not glue onto it; if even that fails, the next change
// rewrites the journal whole from memory first.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Collections, Kind } from './model.ts';
import { writeFileDurably } from './durable-file.ts';

const JOURNAL = 'journal.jsonl';
/** The log may always grow this much past the snapshot before a compaction. */
const COMPACT_MIN_LOG_BYTES = 1024 * 1024;

type AnyRecord = Collections[Kind];

interface JournalLine {
  k: Kind;
  /** A whole record (created, or replaced when a patch would be no shorter). */
  v?: AnyRecord;
  /** Deleted record id. */
  d?: string;
  /** Patched record id, with: */
  p?: string;
  /** fields set to these values, */
  s?: Record<string, unknown>;
  /** fields removed, */
  u?: string[];
  /** array fields: these indices of the old array dropped, */
  r?: Record<string, number[]>;
  /** then these items appended. */
  a?: Record<string, unknown[]>;
}

export interface StoreOptions {
  /** See COMPACT_MIN_LOG_BYTES; tests lower it to see compactions. */
  compactMinLogBytes?: number;
}

export class Store {
  readonly dataDir: string;
  private readonly maps: { [K in Kind]: Map<string, Collections[K]> } = {
    device: new Map(),
    artifact: new Map(),
    deployment: new Map(),
    'device-deployment': new Map(),
    secrets: new Map(),
  };
  private readonly compactMinLogBytes: number;
  private fd: number | undefined;
  /** Bytes of the journal known to be whole lines. */
  private fileBytes = 0;
  /** Bytes of the snapshot the journal starts with. */
  private snapshotBytes = 0;
  /** Set when a failed append could not be cut off: the journal must be rewritten before appending. */
  private damaged = false;

  constructor(dataDir: string, options: StoreOptions = {}) {
    this.dataDir = dataDir;
    this.compactMinLogBytes = options.compactMinLogBytes ?? COMPACT_MIN_LOG_BYTES;
    mkdirSync(join(dataDir, 'artifacts'), { recursive: true });
    this.replay();
    this.compact();
  }

  get<K extends Kind>(kind: K, id: string): Collections[K] | undefined {
    return this.maps[kind].get(id) as Collections[K] | undefined;
  }

  /** Records in insertion order (creation order: a record keeps its place when it is updated). */
  list<K extends Kind>(kind: K): Collections[K][] {
    return [...(this.maps[kind] as Map<string, Collections[K]>).values()];
  }

  /**
   * Stores a record durably. Records are treated as immutable: pass a new object, with new arrays
   * for the fields that changed (unchanged fields and array items may be shared with the old
   * record: that is how the journal line is kept to what changed).
   */
  put<K extends Kind>(kind: K, record: Collections[K]): void {
    const map = this.maps[kind] as Map<string, Collections[K]>;
    const old = map.get(record.id);
    const line = old === undefined || old === record ? { k: kind, v: record } : patchLine(kind, old, record);
    if (line !== undefined) this.append(line);
    map.set(record.id, record);
  }

  delete(kind: Kind, id: string): void {
    this.append({ k: kind, d: id });
    this.maps[kind].delete(id);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Rewrites the journal as one line per live record (temp + fsync + rename). */
  compact(): void {
    const lines: string[] = [];
    for (const kind of Object.keys(this.maps) as Kind[]) {
      for (const record of this.maps[kind].values()) lines.push(JSON.stringify({ k: kind, v: record }) + '\n');
    }
    const text = lines.join('');
    const path = join(this.dataDir, JOURNAL);
    writeFileDurably(path, text);
    // Appends go to the new file: the old descriptor points at the replaced one.
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = openSync(path, 'a');
    this.fileBytes = this.snapshotBytes = Buffer.byteLength(text);
    this.damaged = false;
  }

  private append(line: JournalLine): void {
    if (this.fd === undefined) throw new Error('store is closed');
    if (this.damaged) this.compact();
    const bytes = Buffer.from(JSON.stringify(line) + '\n', 'utf8');
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at, bytes.length - at);
      fsyncSync(this.fd);
    } catch (error) {
      this.cutBack();
      throw error;
    }
    this.fileBytes += bytes.length;
    if (this.fileBytes - this.snapshotBytes > Math.max(this.snapshotBytes, this.compactMinLogBytes)) this.compact();
  }

  /** After a failed append: drop whatever part of the line reached the file. */
  private cutBack(): void {
    try {
      if (fstatSync(this.fd!).size !== this.fileBytes) {
        ftruncateSync(this.fd!, this.fileBytes);
        fsyncSync(this.fd!);
      }
    } catch {
      this.damaged = true;
    }
  }

  private replay(): void {
    const path = join(this.dataDir, JOURNAL);
    if (!existsSync(path)) return;
    const lines = readFileSync(path, 'utf8').split('\n');
    // The text after the last '\n' is either '' or a torn append: ignored either way.
    lines.pop();
    lines.forEach((text, index) => {
      const where = `${path} line ${index + 1}`;
      let line: JournalLine;
      try {
        line = JSON.parse(text) as JournalLine;
      } catch (error) {
        throw new Error(`${where}: not JSON (${(error as Error).message}); the journal is damaged`);
      }
      const map = this.maps[line.k] as Map<string, AnyRecord> | undefined;
      if (map === undefined) throw new Error(`${where}: unknown record kind ${JSON.stringify(line.k)}`);
      if (line.d !== undefined) map.delete(line.d);
      else if (line.v !== undefined) {
        // Re-inserting keeps creation order stable across restarts (Map keeps first insertion).
        map.set(line.v.id, line.v);
      } else if (line.p !== undefined) {
        const record = map.get(line.p);
        if (record === undefined) throw new Error(`${where}: patch for unknown ${line.k} ${JSON.stringify(line.p)}; the journal is damaged`);
        applyPatch(record as unknown as Record<string, unknown>, line, where);
      }
    });
  }
}

/** The journal line turning `old` into `next`: a patch, or the whole record when that is no longer; undefined if nothing changed. */
function patchLine(kind: Kind, old: AnyRecord, next: AnyRecord): JournalLine | undefined {
  const before = old as unknown as Record<string, unknown>;
  const after = next as unknown as Record<string, unknown>;
  const line: JournalLine = { k: kind, p: next.id };
  let changed = false;
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = before[key];
    const is = after[key];
    if (was === is) continue;
    changed = true;
    if (is === undefined) (line.u ??= []).push(key);
    else if (Array.isArray(was) && Array.isArray(is)) {
      const diff = arrayDiff(was, is);
      if (diff === undefined) (line.s ??= {})[key] = is;
      else {
        if (diff.dropped.length > 0) (line.r ??= {})[key] = diff.dropped;
        if (diff.added.length > 0) (line.a ??= {})[key] = diff.added;
      }
    } else (line.s ??= {})[key] = is;
  }
  if (!changed) return undefined;
  return line;
}

/**
 * `next` as `prev` with some items dropped and some appended (items compared by identity: callers
 * share unchanged items); undefined when it is not that shape or writing it whole is as short.
 */
function arrayDiff(prev: unknown[], next: unknown[]): { dropped: number[]; added: unknown[] } | undefined {
  const dropped: number[] = [];
  let j = 0;
  for (let i = 0; i < prev.length; i++) {
    if (j < next.length && next[j] === prev[i]) j++;
    else dropped.push(i);
  }
  const added = next.slice(j);
  return added.length + dropped.length < next.length ? { dropped, added } : undefined;
}

/** Applies a patch line to a record read from the journal (private to the replay: changed in place). */
function applyPatch(record: Record<string, unknown>, line: JournalLine, where: string): void {
  for (const [key, indices] of Object.entries(line.r ?? {})) {
    const items = record[key];
    if (!Array.isArray(items)) throw new Error(`${where}: "${key}" is not an array; the journal is damaged`);
    const drop = new Set(indices);
    record[key] = items.filter((_, i) => !drop.has(i));
  }
  for (const [key, added] of Object.entries(line.a ?? {})) {
    const items = record[key];
    if (!Array.isArray(items)) throw new Error(`${where}: "${key}" is not an array; the journal is damaged`);
    for (const item of added) items.push(item);
  }
  Object.assign(record, line.s ?? {});
  for (const key of line.u ?? []) delete record[key];
}
