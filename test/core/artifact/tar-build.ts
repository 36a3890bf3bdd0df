// Test helper: builds small ustar archives entry by entry, and splits existing ones, so tests can
// reorder, rename, drop or edit artifact entries. Not the writer (simulator/artifact-writer.ts).
import { concatBytes, fromUtf8, joinBytes, utf8 } from '../../../base/bytes.ts';

export interface RawEntry {
  name: string;
  data: Uint8Array;
  /** Typeflag character, default '0'. */
  type?: string;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** One 512-byte ustar header; `edit` may change bytes before the checksum is computed. */
export function tarHeader(name: string, size: number, type = '0', edit?: (block: Uint8Array) => void): Uint8Array {
  const block = new Uint8Array(512);
  block.set(utf8(name).subarray(0, 100), 0);
  block.set(utf8(octal(0o600, 8)), 100);
  block.set(utf8(octal(0, 8)), 108);
  block.set(utf8(octal(0, 8)), 116);
  block.set(utf8(octal(size, 12)), 124);
  block.set(utf8(octal(0, 12)), 136);
  block[156] = type.charCodeAt(0);
  block.set(utf8('ustar\0' + '00'), 257);
  edit?.(block);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.set(utf8(sum.toString(8).padStart(6, '0') + '\0 '), 148);
  return block;
}

export function tarEntryBytes(entry: RawEntry): Uint8Array {
  const padding = (512 - (entry.data.length % 512)) % 512;
  return concatBytes(tarHeader(entry.name, entry.data.length, entry.type ?? '0'), entry.data, new Uint8Array(padding));
}

export function tarArchive(entries: RawEntry[], end = true): Uint8Array {
  return joinBytes([...entries.map(tarEntryBytes), new Uint8Array(end ? 1024 : 0)]);
}

/** Splits a plain ustar archive (as mender-artifact writes it: no pax) into entries. */
export function tarSplit(archive: Uint8Array): RawEntry[] {
  const out: RawEntry[] = [];
  for (let at = 0; at + 512 <= archive.length; ) {
    const header = archive.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const name = fromUtf8(header.subarray(0, 100)).replace(/\0.*$/s, '');
    const size = parseInt(fromUtf8(header.subarray(124, 136)).replace(/\0.*$/s, '').trim(), 8);
    out.push({ name, data: archive.slice(at + 512, at + 512 + size), type: String.fromCharCode(header[156]! || 0x30) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

export function replaceEntry(entries: RawEntry[], name: string, edit: (entry: RawEntry) => RawEntry | undefined): RawEntry[] {
  const out: RawEntry[] = [];
  for (const entry of entries) {
    if (entry.name !== name) out.push(entry);
    else {
      const next = edit(entry);
      if (next) out.push(next);
    }
  }
  return out;
}
