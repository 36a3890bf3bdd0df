import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../../base/bytes.ts';
import { parseManifest } from '../../../core/artifact/manifest.ts';

const H1 = 'a'.repeat(64);
const H2 = '0123456789abcdef'.repeat(4);

describe('parseManifest', () => {
  it('reads sha256sum lines in order', () => {
    const lines = parseManifest(utf8(`${H1}  data/0000/app.bin\n${H2}  header.tar.gz\n`), 'manifest');
    expect(lines.map((l) => [l.name, toHex(l.sha256)])).toEqual([
      ['data/0000/app.bin', H1],
      ['header.tar.gz', H2],
    ]);
  });

  it('ignores a final line without a newline and blank lines, trims lines (as Go does)', () => {
    const lines = parseManifest(utf8(`\n  ${H1}  version  \n\n${H2}  ignored`), 'manifest');
    expect(lines.map((l) => l.name)).toEqual(['version']);
  });

  it('refuses malformed lines, uppercase hex, one space, and duplicates across manifest-augment', () => {
    expect(() => parseManifest(utf8(`${H1} version\n`), 'manifest')).toThrow(/^manifest line 1: expected "<64 lowercase hex>  <name>"/);
    expect(() => parseManifest(utf8(`${H1.toUpperCase()}  version\n`), 'manifest')).toThrow(/line 1/);
    expect(() => parseManifest(utf8(`${H1.slice(1)}  version\n`), 'manifest')).toThrow(/line 1/);
    expect(() => parseManifest(utf8(`${H1}  a b\n`), 'manifest')).toThrow(/line 1/);
    expect(() => parseManifest(utf8(`${H1}  v\n${H2}  v\n`), 'manifest')).toThrow('manifest line 2: "v" is listed twice');
    expect(() => parseManifest(utf8(`${H1}  v\n`), 'manifest-augment', new Set(['v']))).toThrow('manifest-augment line 1: "v" is listed twice');
    expect(() => parseManifest(Uint8Array.of(0xff, 0x0a), 'manifest')).toThrow('manifest: not UTF-8 text');
  });
});
