import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { writeArtifact, writeArtifactTo, type WriteArtifactOptions } from '../../simulator/artifact-writer.ts';
import { fromBase64, fromUtf8, toHex, utf8 } from '../../base/bytes.ts';
import { realTool } from '../real-tools.ts';

// A tar walk just deep enough to look at what the writer produced (PAX path records included).
interface Entry {
  name: string;
  header: Uint8Array;
  body: Uint8Array;
}
function tarEntries(tar: Uint8Array): Entry[] {
  const out: Entry[] = [];
  let at = 0;
  let paxPath: string | undefined;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(fromUtf8(header.subarray(124, 135)), 8);
    const body = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (header[156] === 0x78) {
      paxPath = /\d+ path=(.*)\n/.exec(fromUtf8(body))?.[1];
      continue;
    }
    const name = paxPath ?? fromUtf8(header.subarray(0, 100)).replace(/\0.*$/s, '');
    paxPath = undefined;
    out.push({ name, header, body });
  }
  return out;
}
const entry = (tar: Uint8Array, name: string) => {
  const found = tarEntries(tar).find((e) => e.name === name);
  if (found === undefined) throw new Error(`no entry ${name}`);
  return found;
};
const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const text = (s: string) => utf8(s);

const BASE: WriteArtifactOptions = {
  artifactName: 'mod-1',
  deviceTypes: ['devA'],
  payloadType: 'single-file',
  files: [{ name: 'a.txt', data: text('hello\n') }],
  mtime: 1_700_000_000,
};

describe('artifact layout', () => {
  it('writes version, manifest, header.tar, data/0000.tar in that order, ending with two zero blocks', () => {
    const bytes = writeArtifact({ ...BASE, compression: 'none' });
    expect(tarEntries(bytes).map((e) => e.name)).toEqual(['version', 'manifest', 'header.tar', 'data/0000.tar']);
    expect(bytes.length % 512).toBe(0);
    expect(bytes.subarray(-1024).every((b) => b === 0)).toBe(true);
    expect(fromUtf8(entry(bytes, 'version').body)).toBe('{"format":"mender","version":3}');
  });

  it('lists payload files first, then the header and version, each hash over the stored bytes', () => {
    const b = new Uint8Array(1000).map((_, i) => i * 7);
    for (const compression of ['none', 'gzip'] as const) {
      const bytes = writeArtifact({ ...BASE, compression, files: [{ name: 'a.txt', data: text('hello\n') }, { name: 'b.bin', data: b }] });
      const header = compression === 'gzip' ? 'header.tar.gz' : 'header.tar';
      expect(fromUtf8(entry(bytes, 'manifest').body)).toBe(
        `${sha256Hex(text('hello\n'))}  data/0000/a.txt\n` +
          `${sha256Hex(b)}  data/0000/b.bin\n` +
          `${sha256Hex(entry(bytes, header).body)}  ${header}\n` +
          `${sha256Hex(text('{"format":"mender","version":3}'))}  version\n`,
      );
    }
  });

  it('renders header-info, type-info and meta-data as Go would (field order, sorted maps, omitted empties)', () => {
    const bytes = writeArtifact({
      ...BASE,
      compression: 'none',
      deviceTypes: ['devA', 'devB'],
      artifactNameDepends: ['prev-1', 'prev-2'],
      providesGroup: 'grpX',
      dependsGroups: ['grpY'],
      depends: { zeta: 'z', foo: ['bar', 'baz'] },
      provides: { 'single-file.abc.version': '1.2', 'a.first': 'x' },
      clearsProvides: ['foo.*'],
      metaData: { url: 'https://x/y?a=1&b=<2>', count: 3, tiny: 1e-7, nested: { z: 1, a: [true, null] } },
    });
    const header = tarEntries(entry(bytes, 'header.tar').body);
    expect(header.map((e) => e.name)).toEqual(['header-info', 'headers/0000/type-info', 'headers/0000/meta-data']);
    expect(fromUtf8(header[0]!.body)).toBe(
      '{"payloads":[{"type":"single-file"}],"artifact_provides":{"artifact_name":"mod-1","artifact_group":"grpX"},' +
        '"artifact_depends":{"artifact_name":["prev-1","prev-2"],"device_type":["devA","devB"],"artifact_group":["grpY"]}}',
    );
    expect(fromUtf8(header[1]!.body)).toBe(
      '{"type":"single-file","artifact_depends":{"foo":["bar","baz"],"zeta":"z"},' +
        '"artifact_provides":{"a.first":"x","rootfs-image.single-file.version":"mod-1","single-file.abc.version":"1.2"},' +
        '"clears_artifact_provides":["foo.*","rootfs-image.single-file.*"]}',
    );
    expect(fromUtf8(header[2]!.body)).toBe(
      '{"count":3,"nested":{"a":[true,null],"z":1},"tiny":1e-07,"url":"https://x/y?a=1\\u0026b=\\u003c2\\u003e"}',
    );
  });

  it('omits the defaults when asked, and writes no meta-data entry without meta-data', () => {
    const bytes = writeArtifact({ ...BASE, compression: 'none', noDefaultClearsProvides: true, noDefaultSoftwareVersion: true });
    const header = tarEntries(entry(bytes, 'header.tar').body);
    expect(header.map((e) => e.name)).toEqual(['header-info', 'headers/0000/type-info']);
    expect(fromUtf8(header[1]!.body)).toBe('{"type":"single-file"}');
    const renamed = writeArtifact({ ...BASE, compression: 'none', softwareFilesystem: 'fs', softwareName: 'foo', softwareVersion: '9' });
    expect(fromUtf8(tarEntries(entry(renamed, 'header.tar').body)[1]!.body)).toBe(
      '{"type":"single-file","artifact_provides":{"fs.foo.version":"9"},"clears_artifact_provides":["fs.foo.*"]}',
    );
  });

  it('stamps entries like mender-artifact: mtime 0 and no owner on version/manifest, the owner and mtime on header and data', () => {
    const bytes = writeArtifact({ ...BASE, compression: 'none', owner: { uid: 1000, gid: 1001, uname: 'alice', gname: 'staff' } });
    const field = (h: Uint8Array, at: number, len: number) => fromUtf8(h.subarray(at, at + len)).replace(/\0.*$/s, '');
    const version = entry(bytes, 'version').header;
    expect([field(version, 100, 8), field(version, 136, 12), field(version, 265, 32)]).toEqual(['0000600', '00000000000', '']);
    const data = entry(bytes, 'data/0000.tar').header;
    expect([field(data, 108, 8), field(data, 116, 8), field(data, 136, 12), field(data, 265, 32), field(data, 297, 32)]).toEqual([
      '0001750',
      '0001751',
      (1_700_000_000).toString(8),
      'alice',
      'staff',
    ]);
    const file = tarEntries(entry(bytes, 'data/0000.tar').body)[0]!.header;
    expect([field(file, 100, 8), field(file, 265, 32)]).toEqual(['0000644', 'alice']);
    // The checksum is the byte sum with the checksum field read as spaces, "%06o\0 ".
    const copy = data.slice();
    copy.fill(0x20, 148, 156);
    expect(fromUtf8(data.subarray(148, 156))).toBe(`${copy.reduce((a, b) => a + b, 0).toString(8).padStart(6, '0')}\0 `);
  });

  it('puts names over 100 bytes in a PAX path record', () => {
    const name = 'n'.repeat(150);
    const data = writeArtifact({ ...BASE, compression: 'none', files: [{ name, data: text('x') }] });
    const inner = entry(data, 'data/0000.tar').body;
    expect(inner[156]).toBe(0x78); // first header is the PAX one
    expect(fromUtf8(inner.subarray(0, 100))).toBe(`PaxHeaders.0/${name}`.slice(0, 100));
    expect(fromUtf8(inner.subarray(512, 512 + 160))).toBe(`160 path=${name}\n`);
    expect(tarEntries(inner).map((e) => e.name)).toEqual([name]);
  });

  it('pads files of 0, 1, 511, 512 and 513 bytes to whole blocks', () => {
    const sizes = [0, 1, 511, 512, 513];
    const files = sizes.map((size) => ({ name: `f${size}`, data: new Uint8Array(size).fill(size & 255) }));
    const inner = entry(writeArtifact({ ...BASE, compression: 'none', files }), 'data/0000.tar').body;
    expect(inner.length).toBe(sizes.reduce((sum, s) => sum + 512 + Math.ceil(s / 512) * 512, 1024));
    expect(tarEntries(inner).map((e) => [e.name, e.body.length, e.body.every((b) => b === (e.body.length & 255))])).toEqual(
      sizes.map((s) => [`f${s}`, s, true]),
    );
  });

  it('gzips header and payload as single members with a Go-style header', () => {
    const none = writeArtifact({ ...BASE, compression: 'none' });
    const gzip = writeArtifact({ ...BASE, compression: 'gzip' });
    expect(tarEntries(gzip).map((e) => e.name)).toEqual(['version', 'manifest', 'header.tar.gz', 'data/0000.tar.gz']);
    for (const [plain, packed] of [['header.tar', 'header.tar.gz'], ['data/0000.tar', 'data/0000.tar.gz']] as const) {
      const body = entry(gzip, packed).body;
      expect(toHex(body.subarray(0, 10))).toBe('1f8b08000000000000ff');
      expect(new Uint8Array(gunzipSync(body))).toEqual(entry(none, plain).body);
    }
  });

  it('writes gzip by default', () => {
    expect(tarEntries(writeArtifact(BASE)).map((e) => e.name)).toContain('data/0000.tar.gz');
  });
});

describe('streaming sources', () => {
  const pattern = (i: number) => new Uint8Array(4096).fill(i & 255);
  const chunked = (count: number) => ({ name: 'big.bin', size: count * 4096, chunks: function* () { for (let i = 0; i < count; i++) yield pattern(i); } });

  it('gives the same bytes as the whole-file form', () => {
    const whole = new Uint8Array(100 * 4096);
    for (let i = 0; i < 100; i++) whole.set(pattern(i), i * 4096);
    for (const compression of ['none', 'gzip'] as const) {
      const a = writeArtifact({ ...BASE, compression, files: [chunked(100)] });
      const b = writeArtifact({ ...BASE, compression, files: [{ name: 'big.bin', data: whole }] });
      expect(toHex(createHash('sha256').update(a).digest())).toBe(toHex(createHash('sha256').update(b).digest()));
    }
  });

  it('streams a 64 MiB payload to the sink without a chunk larger than the source chunks', () => {
    const count = 16 * 1024; // × 4 KiB = 64 MiB
    let total = 0;
    let largest = 0;
    writeArtifactTo({ ...BASE, compression: 'none', files: [chunked(count)] }, (chunk) => {
      total += chunk.length;
      largest = Math.max(largest, chunk.length);
    });
    expect(total).toBeGreaterThan(64 * 1024 * 1024);
    expect(total % 512).toBe(0);
    expect(largest).toBeLessThanOrEqual(4096);
  });

  it('refuses a source whose chunks do not add up to its size', () => {
    const bad = { name: 'x', size: 10, chunks: () => [new Uint8Array(9)] };
    expect(() => writeArtifact({ ...BASE, files: [bad] })).toThrow(/payload file "x": "size" says 10 bytes, hashing its chunks gave 9/);
  });

  it('refuses a source that changes between the hashing and the writing pass', () => {
    let call = 0;
    const fickle = { name: 'x', size: 4, chunks: () => [new Uint8Array(4).fill(call++)] };
    expect(() => writeArtifact({ ...BASE, compression: 'none', files: [fickle] })).toThrow(/payload file "x": its chunks changed between passes/);
  });
});

describe('signing', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = (key: { export(o: object): string | Buffer }, type: string) => String(key.export({ type, format: 'pem' }));

  it('signs the manifest with ECDSA P-256 as base64 raw r‖s', () => {
    const bytes = writeArtifact({ ...BASE, signingKey: pem(ec.privateKey, 'sec1') });
    expect(tarEntries(bytes).map((e) => e.name)).toEqual(['version', 'manifest', 'manifest.sig', 'header.tar.gz', 'data/0000.tar.gz']);
    const sig = fromBase64(fromUtf8(entry(bytes, 'manifest.sig').body));
    expect(sig.length).toBe(64);
    expect(verify('sha256', entry(bytes, 'manifest').body, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
  });

  it('signs with RSA PKCS#1 v1.5 SHA-256, from PKCS#1 or PKCS#8 PEM', () => {
    for (const type of ['pkcs1', 'pkcs8']) {
      const bytes = writeArtifact({ ...BASE, signingKey: pem(rsa.privateKey, type) });
      const sig = fromBase64(fromUtf8(entry(bytes, 'manifest.sig').body));
      expect(sig.length).toBe(256);
      expect(verify('sha256', entry(bytes, 'manifest').body, rsa.publicKey, sig)).toBe(true);
    }
  });

  it('refuses keys mender-artifact cannot verify, and text that is no key', () => {
    const ed = generateKeyPairSync('ed25519');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => writeArtifact({ ...BASE, signingKey: pem(ed.privateKey, 'pkcs8') })).toThrow(/signing key: expected RSA or ECDSA P-256.*got ed25519/);
    expect(() => writeArtifact({ ...BASE, signingKey: pem(p384.privateKey, 'sec1') })).toThrow(/got ec secp384r1/);
    expect(() => writeArtifact({ ...BASE, signingKey: 'not a key' })).toThrow(/signing key: expected a PEM private key/);
  });
});

describe('bad options', () => {
  it.each([
    [{ artifactName: '' }, /"artifactName" expected a non-empty string/],
    [{ deviceTypes: [] }, /"deviceTypes" expected at least one/],
    [{ payloadType: '' }, /"payloadType" expected a non-empty string/],
    [{ files: [{ name: 'sp ace', data: new Uint8Array(1) }] }, /payload file "sp ace": only letters, digits/],
    [{ files: [{ name: 'dir/x', data: new Uint8Array(1) }] }, /payload file "dir\/x": only letters/],
    [{ files: [{ name: 'a', data: new Uint8Array(1) }, { name: 'a', data: new Uint8Array(2) }] }, /payload file "a" is given twice/],
    [{ metaData: [1, 2] as unknown as Record<string, unknown> }, /"metaData" expected a JSON object/],
    [{ files: [{ name: 'huge', size: 2 ** 33, chunks: () => [] }] }, /payload file "huge": "size" expected an integer from 0 to 8589934591/],
    [{ files: [{ name: 'neg', size: -1, chunks: () => [] }] }, /payload file "neg": "size" expected an integer/],
  ])('%o is refused', (override, message) => {
    expect(() => writeArtifact({ ...BASE, ...override } as WriteArtifactOptions)).toThrow(message);
  });
});

// The layout claim itself: with compression none, mender-artifact 3.9 writes the same bytes.
describe.skipIf(!realTool('mender-artifact'))('same bytes as mender-artifact 3.9 (compression none)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ota-writer-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const FILE_MTIME = 1_600_000_000;
  function compare(args: string[], options: Omit<WriteArtifactOptions, 'mtime' | 'owner'>, files: { name: string; data: Uint8Array }[]): void {
    for (const file of files) {
      const path = join(dir, file.name);
      writeFileSync(path, file.data);
      chmodSync(path, 0o644);
      utimesSync(path, FILE_MTIME, FILE_MTIME);
    }
    const out = join(dir, 'ref.mender');
    const fileArgs = files.flatMap((f) => ['-f', join(dir, f.name)]);
    const run = spawnSync('mender-artifact', ['write', 'module-image', ...args, ...fileArgs, '--compression', 'none', '-o', out], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const ref = new Uint8Array(readFileSync(out));
    // mender-artifact stamps header.tar and data/ with the writing user and the time of writing.
    const header = entry(ref, 'header.tar').header;
    const str = (at: number, len: number) => fromUtf8(header.subarray(at, at + len)).replace(/\0.*$/s, '');
    const owner = { uid: parseInt(str(108, 8), 8), gid: parseInt(str(116, 8), 8), uname: str(265, 32), gname: str(297, 32) };
    const mtime = parseInt(str(136, 12), 8);
    const ours = writeArtifact({
      ...options,
      compression: 'none',
      mtime,
      owner,
      files: files.map((f) => ({ name: f.name, data: f.data, mtime: FILE_MTIME })),
    });
    expect(toHex(ours)).toBe(toHex(ref));
  }

  it('with every header option and meta-data', () => {
    const meta = { url: 'https://x/y', count: 3, list: ['a', 'b'] };
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
    compare(
      ['-T', 'single-file', '-n', 'mod-1', '-t', 'devA', '-t', 'devB', '-N', 'prev-1', '-N', 'prev-2', '-g', 'grpX', '-G', 'grpY',
        '-d', 'foo:bar', '-p', 'single-file.abc.version:1.2', '--clears-provides', 'x.*', '-m', join(dir, 'meta.json')],
      {
        artifactName: 'mod-1', deviceTypes: ['devA', 'devB'], payloadType: 'single-file', artifactNameDepends: ['prev-1', 'prev-2'],
        providesGroup: 'grpX', dependsGroups: ['grpY'], depends: { foo: 'bar' }, provides: { 'single-file.abc.version': '1.2' },
        clearsProvides: ['x.*'], metaData: meta,
      },
      [{ name: 'a.txt', data: text('hello\n') }],
    );
  });

  it('with no payload files', () => {
    compare(['-T', 't', '-n', 'n', '-t', 'd'], { artifactName: 'n', deviceTypes: ['d'], payloadType: 't' }, []);
  });

  it('with a 150-byte name and files of 0, 1, 511, 512, 513 and 2048 bytes', () => {
    const files: { name: string; data: Uint8Array }[] = [0, 1, 511, 512, 513, 2048].map((size) => ({ name: `f-${size}.bin`, data: new Uint8Array(size).map((_, i) => i * 31 + size) }));
    files.push({ name: 'L'.repeat(150), data: text('long') });
    compare(['-T', 't', '-n', 'n', '-t', 'd'], { artifactName: 'n', deviceTypes: ['d'], payloadType: 't' }, files);
  });
});
