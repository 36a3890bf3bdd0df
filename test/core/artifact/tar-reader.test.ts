import { describe, expect, it } from 'vitest';
import { concatBytes, fromUtf8, utf8 } from '../../../base/bytes.ts';
import { OtaError } from '../../../base/errors.ts';
import { TAR_META_MAX_BYTES, TAR_TRAILING_MAX_BYTES, createTarReader, type TarEntry, type TarReader } from '../../../core/artifact/tar-reader.ts';
import { tarArchive, tarEntryBytes, tarHeader } from './tar-build.ts';

interface Seen {
  name: string;
  type: string;
  size: number;
  offset: number;
  data: string;
}

async function readTar(archive: Uint8Array, chunk = archive.length): Promise<Seen[]> {
  const seen: Seen[] = [];
  let parts: Uint8Array[] = [];
  let current: TarEntry | undefined;
  const reader = createTarReader(
    {
      entry: (e) => {
        current = e;
        parts = [];
      },
      data: (b) => void parts.push(b.slice()),
      entryEnd: (e) => {
        expect(e).toBe(current);
        seen.push({ name: e.name, type: e.type, size: e.size, offset: e.offset, data: fromUtf8(concatBytes(...parts)) });
      },
    },
    'test.tar',
  );
  for (let at = 0; at < archive.length; at += chunk) await reader.write(archive.subarray(at, at + chunk));
  reader.end();
  return seen;
}

const pax = (records: Record<string, string>) => {
  let body = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    body += `${len}${rest}`;
  }
  return utf8(body);
};

async function tarError(archive: Uint8Array): Promise<OtaError> {
  try {
    await readTar(archive, 100);
  } catch (error) {
    expect(error).toBeInstanceOf(OtaError);
    return error as OtaError;
  }
  throw new Error('expected an error');
}

describe('TarReader', () => {
  const simple = tarArchive([
    { name: 'a', data: utf8('hello') },
    { name: 'empty', data: new Uint8Array(0) },
    { name: 'b', data: utf8('x'.repeat(1000)) },
  ]);

  it('reads entries, offsets and content the same at every split point', async () => {
    const whole = await readTar(simple);
    expect(whole.map((e) => [e.name, e.size, e.offset, e.data.length])).toEqual([
      ['a', 5, 512, 5],
      ['empty', 0, 1536, 0],
      ['b', 1000, 2048, 1000],
    ]);
    for (const chunk of [1, 2, 3, 511, 512, 513, 4096]) expect(await readTar(simple, chunk)).toEqual(whole);
  });

  it('applies pax path and size records, ignores global pax records and GNU K', async () => {
    const longName = 'n'.repeat(300);
    const archive = tarArchive([
      { name: 'pax_global_header', data: pax({ comment: 'hi' }), type: 'g' },
      { name: 'PaxHeaders/x', data: pax({ path: longName, mtime: '1.5' }), type: 'x' },
      { name: 'short', data: utf8('content') },
      { name: '././@LongLink', data: utf8('ignored-link-target\0'), type: 'K' },
      { name: 'after', data: utf8('1') },
    ]);
    expect((await readTar(archive, 7)).map((e) => e.name)).toEqual([longName, 'after']);

    // A pax size overrides the ustar size field (Go does this for files ≥ 8 GiB).
    const withSize = concatBytes(
      tarEntryBytes({ name: 'PaxHeaders/y', data: pax({ size: '3' }), type: 'x' }),
      tarHeader('y', 0),
      utf8('abc'),
      new Uint8Array(509),
      new Uint8Array(1024),
    );
    expect(await readTar(withSize, 5)).toEqual([{ name: 'y', type: '0', size: 3, offset: 1536, data: 'abc' }]);
  });

  it('joins the ustar prefix field; reads base-256 sizes and signed checksums', async () => {
    const prefixed = concatBytes(tarHeader('file', 2, '0', (b) => b.set(utf8('some/dir'), 345)), utf8('ok'), new Uint8Array(510 + 1024));
    expect((await readTar(prefixed))[0]!.name).toBe('some/dir/file');

    const base256 = concatBytes(tarHeader('big', 0, '0', (b) => b.set([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4], 124)), utf8('four'), new Uint8Array(508 + 1024));
    expect((await readTar(base256))[0]!.size).toBe(4);

    const header = tarHeader('é', 1, '0', (b) => (b[300] = 0xff)); // bytes ≥ 0x80 make signed and unsigned sums differ
    let signedSum = 0;
    for (let i = 0; i < 512; i++) signedSum += i >= 148 && i < 156 ? 32 : header[i]! > 127 ? header[i]! - 256 : header[i]!;
    header.set(utf8(signedSum.toString(8).padStart(6, '0') + '\0 '), 148);
    expect((await readTar(concatBytes(header, utf8('1'), new Uint8Array(511 + 1024))))[0]!.name).toBe('é');
  });

  it('skips directories; reports links with no content', async () => {
    const archive = tarArchive([
      { name: 'dir/', data: new Uint8Array(0), type: '5' },
      { name: 'link', data: new Uint8Array(0), type: '2' },
      { name: 'dir/f', data: utf8('z') },
    ]);
    expect((await readTar(archive, 3)).map((e) => [e.name, e.type])).toEqual([
      ['link', '2'],
      ['dir/f', '0'],
    ]);
  });

  it('names the problem and the byte offset', async () => {
    const headerFlip = simple.slice();
    headerFlip[1024 + 10]! ^= 1; // header of "empty" at 1024
    expect((await tarError(headerFlip)).message).toMatch(/^test\.tar: tar header at byte 1024: bad checksum/);

    const badSize = concatBytes(tarHeader('x', 0, '0', (b) => b.set(utf8('12345678z01\0'), 124)), new Uint8Array(1024));
    expect((await tarError(badSize)).message).toBe('test.tar: tar header at byte 0: unreadable size field');

    const zeroThenData = concatBytes(new Uint8Array(512), tarHeader('x', 0));
    expect((await tarError(zeroThenData)).message).toBe('test.tar: tar header at byte 512: expected a second zero block, got data');

    const bigPax = concatBytes(tarHeader('p', TAR_META_MAX_BYTES + 1, 'x'), new Uint8Array(1024));
    expect((await tarError(bigPax)).message).toMatch(/pax header of 8193 bytes, over 8192/);

    const badPax = tarArchive([{ name: 'p', data: utf8('99 path=x\n'), type: 'x' }, { name: 'y', data: utf8('1') }]);
    expect((await tarError(badPax)).message).toMatch(/pax header at byte 512: malformed record of length 99/);

    const paxSize = tarArchive([{ name: 'p', data: pax({ size: '-1' }), type: 'x' }, { name: 'y', data: utf8('1') }]);
    expect((await tarError(paxSize)).message).toMatch(/size expected a decimal byte count, got "-1"/);

    const notUtf8 = concatBytes(tarHeader('x', 0, '0', (b) => (b[0] = 0xff)), new Uint8Array(1024));
    expect((await tarError(notUtf8)).message).toBe('test.tar: tar header at byte 0: name is not UTF-8');

    expect((await tarError(simple.subarray(0, 600))).message).toBe('test.tar: truncated at byte 600 in "a"');
    expect((await tarError(simple.subarray(0, 100))).message).toBe('test.tar: truncated at byte 100');
  });

  it('pause() stops the current chunk and skipContent() jumps inside an entry', async () => {
    const data = utf8('0123456789'.repeat(100));
    const archive = tarArchive([{ name: 'f', data }]);
    const got: string[] = [];
    let reader!: TarReader;
    let pausedOnce = false;
    reader = createTarReader(
      {
        entry: () => {
          if (!pausedOnce) {
            pausedOnce = true;
            reader.pause();
          }
        },
        data: (b) => void got.push(fromUtf8(b)),
        entryEnd: () => void got.push('<end>'),
      },
      't',
    );
    await reader.write(archive);
    expect(got).toEqual([]); // paused right after the header
    reader.skipContent(990);
    expect(reader.position).toBe(512 + 990);
    await reader.write(archive.subarray(512 + 990));
    expect(got).toEqual(['0123456789', '<end>']);
    reader.end();
    expect(() => reader.skipContent(1)).toThrow(RangeError);
  });

  it('ignores up to a tar record (10240 bytes) after the end-of-archive marker, refuses more', async () => {
    expect((await readTar(concatBytes(simple, utf8('trailing junk')))).length).toBe(3);
    expect((await readTar(concatBytes(simple, new Uint8Array(TAR_TRAILING_MAX_BYTES)), 1000)).length).toBe(3);
    await expect(readTar(concatBytes(simple, new Uint8Array(TAR_TRAILING_MAX_BYTES + 1)), 1000)).rejects.toThrow(
      `test.tar: ${TAR_TRAILING_MAX_BYTES + 1} bytes after the end-of-archive marker, over ${TAR_TRAILING_MAX_BYTES}`,
    );
  });
});
