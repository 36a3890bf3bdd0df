// The dev server's state, kept in memory and made durable by a JSON-lines journal.
// Why a journal and not a database: node:sqlite needs Node >= 22 and we run on 20; a native module
// would be a build dependency for CI; the state is small (devices, deployments, logs). Every change
// appends one whole record as a line and fsyncs before the HTTP answer goes out; start-up replays
// the lines (last write wins) and compacts them into a fresh file (temp + fsync + rename), so the
// journal never grows beyond one run's changes. A torn last line (crash mid-append) is dropped.
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Collections, Kind } from './model.ts';
import { writeFileDurably } from './durable-file.ts';

const JOURNAL = 'journal.jsonl';

interface JournalLine {
  k: Kind;
  v?: Collections[Kind];
  /** Deleted record id. */
  d?: string;
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
  private fd: number | undefined;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    mkdirSync(join(dataDir, 'artifacts'), { recursive: true });
    this.replay();
    this.compact();
    this.fd = openSync(join(dataDir, JOURNAL), 'a');
  }

  get<K extends Kind>(kind: K, id: string): Collections[K] | undefined {
    return this.maps[kind].get(id) as Collections[K] | undefined;
  }

  /** Records in insertion order (creation order: a record keeps its place when it is updated). */
  list<K extends Kind>(kind: K): Collections[K][] {
    return [...(this.maps[kind] as Map<string, Collections[K]>).values()];
  }

  /** Stores a whole record durably. Callers pass a fresh or mutated record; it is written as is. */
  put<K extends Kind>(kind: K, record: Collections[K]): void {
    this.append({ k: kind, v: record });
    (this.maps[kind] as Map<string, Collections[K]>).set(record.id, record);
  }

  delete(kind: Kind, id: string): void {
    this.append({ k: kind, d: id });
    this.maps[kind].delete(id);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private append(line: JournalLine): void {
    if (this.fd === undefined) throw new Error('store is closed');
    appendFileSync(this.fd, JSON.stringify(line) + '\n');
    fsyncSync(this.fd);
  }

  private replay(): void {
    const path = join(this.dataDir, JOURNAL);
    if (!existsSync(path)) return;
    const lines = readFileSync(path, 'utf8').split('\n');
    // The text after the last '\n' is either '' or a torn append: ignored either way.
    lines.pop();
    lines.forEach((text, index) => {
      let line: JournalLine;
      try {
        line = JSON.parse(text) as JournalLine;
      } catch (error) {
        throw new Error(`${path} line ${index + 1}: not JSON (${(error as Error).message}); the journal is damaged`);
      }
      const map = this.maps[line.k] as Map<string, unknown> | undefined;
      if (map === undefined) throw new Error(`${path} line ${index + 1}: unknown record kind ${JSON.stringify(line.k)}`);
      if (line.d !== undefined) map.delete(line.d);
      else if (line.v !== undefined) {
        // Re-inserting keeps creation order stable across restarts (Map keeps first insertion).
        map.set(line.v.id, line.v);
      }
    });
  }

  /** Rewrites the journal as one line per live record (temp + fsync + rename). */
  compact(): void {
    let text = '';
    for (const kind of Object.keys(this.maps) as Kind[]) {
      for (const record of this.maps[kind].values()) text += JSON.stringify({ k: kind, v: record }) + '\n';
    }
    writeFileDurably(join(this.dataDir, JOURNAL), text);
    // Appends go to the new file: the old descriptor points at the replaced one.
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = openSync(join(this.dataDir, JOURNAL), 'a');
    }
  }
}
