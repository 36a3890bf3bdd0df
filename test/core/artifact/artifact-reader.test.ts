// ArtifactReader behaviours: entry order, names, checks, sink protocol, backpressure, lifecycle,
// tar details (pax, GNU long names, directories), compression and version errors.
import { describe, expect, it } from 'vitest';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { concatBytes, fromUtf8, toHex, utf8 } from '../../../base/bytes.ts';
import { OtaError } from '../../../base/errors.ts';
import { createArtifactReader } from '../../../core/artifact/artifact-reader.ts';
import { writeArtifact, type WriteArtifactOptions } from '../../../simulator/artifact-writer.ts';
import { inflateFflate } from '../../../platform/inflate-fflate.ts';
import { parsePublicKeyPem } from '../../../platform/public-key.ts';
import { fixture } from '../../vectors.ts';
import { newReader, readArtifact, readError, recordingSink } from './helpers.ts';
import { replaceEntry, tarArchive, tarEntryBytes, tarHeader, tarSplit, type RawEntry } from './tar-build.ts';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (size: number, seed = 1) => new Uint8Array(size).map((_, i) => (i * 7 + seed * 13) & 255);

function artifact(options: Partial<WriteArtifactOptions> = {}): Uint8Array {
  return writeArtifact({
    artifactName: 'gen-1',
    deviceTypes: ['dev-a'],
    payloadType: 'single-file',
    files: [{ name: 'app.bin', data: bytesOf(3000) }],
    compression: 'none',
    mtime: 0,
    ...options,
  });
}

/** Rebuilds an artifact after editing its outer entries. */
function edited(base: Uint8Array, edit: (entries: RawEntry[]) => RawEntry[]): Uint8Array {
  return tarArchive(edit(tarSplit(base)));
}

function editManifest(base: Uint8Array, edit: (text: string) => string): Uint8Array {
  return edited(base, (entries) => replaceEntry(entries, 'manifest', (e) => ({ ...e, data: utf8(edit(fromUtf8(e.data))) })));
}

describe('ArtifactReader: generated artifacts', () => {
  it('streams files of 0, 1, 511, 512, 513 and 4096 bytes in order, gzip and none', async () => {
    const files = [0, 1, 511, 512, 513, 4096].map((size, i) => ({ name: `f${size}.bin`, data: bytesOf(size, i) }));
    for (const compression of ['none', 'gzip'] as const) {
      for (const chunk of [1, 511, 4096]) {
        const { summary, recorded } = await readArtifact(artifact({ files, compression }), { chunk });
        expect(summary.compression).toBe(compression);
        expect(summary.files.map((f) => [f.name, f.size, toHex(f.sha256)])).toEqual(files.map((f) => [f.name, f.data.length, sha(f.data)]));
        for (const f of files) expect(recorded.files.get(f.name)).toEqual(f.data);
      }
    }
  });

  it('gives uncompressed files their artifact offset; gzip ones none', async () => {
    const data = bytesOf(2000);
    const plain = artifact({ files: [{ name: 'a.bin', data }] });
    const offsets: (number | undefined)[] = [];
    const sink = recordingSink();
    const open = sink.open;
    sink.open = (file, at) => {
      offsets.push(file.artifactOffset);
      return open(file, at);
    };
    await readArtifact(plain, { sink });
    expect(plain.subarray(offsets[0]!, offsets[0]! + data.length)).toEqual(data);
    offsets.length = 0;
    await readArtifact(artifact({ files: [{ name: 'a.bin', data }], compression: 'gzip' }), { sink });
    expect(offsets).toEqual([undefined]);
  });

  it('reads names longer than 100 bytes (pax path records from Go) and GNU L long names', async () => {
    const long = 'x'.repeat(150) + '.bin';
    const viaPax = artifact({ files: [{ name: long, data: bytesOf(700) }] });
    expect((await readArtifact(viaPax, { chunk: 7 })).summary.files[0]!.name).toBe(long);

    // The same payload tar rewritten with a GNU 'L' record instead of pax.
    const gnu = edited(viaPax, (entries) =>
      replaceEntry(entries, 'data/0000.tar', (e) => {
        const content = bytesOf(700);
        const name = utf8(long + '\0');
        const data = concatBytes(tarEntryBytes({ name: '././@LongLink', data: name, type: 'L' }), tarEntryBytes({ name: long.slice(0, 100), data: content }), new Uint8Array(1024));
        return { ...e, data };
      }),
    );
    expect((await readArtifact(gnu, { chunk: 1 })).summary.files[0]!.name).toBe(long);
  });

  it('skips directory entries in the outer tar, refuses them in data/NNNN.tar (a payload holds regular files only)', async () => {
    const base = artifact();
    const withDirs = (innerDir: boolean) =>
      edited(base, (entries) => {
        const at = entries.findIndex((e) => e.name.startsWith('data/'));
        const data = entries[at]!;
        const inner = tarSplit(data.data);
        const innerWithDir = innerDir ? tarArchive([{ name: 'sub/', data: new Uint8Array(0), type: '5' }, ...inner]) : data.data;
        return [...entries.slice(0, at), { name: 'data/', data: new Uint8Array(0), type: '5' }, { ...data, data: innerWithDir }];
      });
    const { summary } = await readArtifact(withDirs(false), { chunk: 100 });
    expect(summary.files.map((f) => f.name)).toEqual(['app.bin']);
    const error = await readError(withDirs(true), { chunk: 100 });
    expect(error.code).toBe('artifact-format');
    expect(error.message).toBe(`data/0000.tar: "sub/" at byte 512: expected a regular file, got tar type '5'`);
  });

  it('refuses a directory in data/NNNN.tar whose size would have it skip unchecked bytes (1 MiB, compressed)', async () => {
    const base = artifact({ compression: 'gzip' });
    let inflated = 0;
    const counting = {
      pushBytes: inflateFflate.pushBytes,
      gunzip() {
        const stream = inflateFflate.gunzip();
        return {
          push: (bytes: Uint8Array) => {
            const out = stream.push(bytes);
            inflated += out.length;
            return out;
          },
          end: () => stream.end(),
        };
      },
    };
    const hidden = edited(base, (entries) =>
      replaceEntry(entries, 'data/0000.tar.gz', (e) => {
        const inner = gunzipSync(e.data);
        const dir = concatBytes(tarHeader('sub/', 1024 * 1024, '5'), new Uint8Array(1024 * 1024));
        return { ...e, data: gzipSync(concatBytes(dir, inner)) };
      }),
    );
    const error = await readError(hidden, { inflate: counting });
    expect(error.message).toBe(`data/0000.tar.gz: "sub/" at byte 512: expected a regular file, got tar type '5'`);
    expect(inflated).toBeLessThan(1024 * 1024); // the first pushes only, not the 1 MiB behind the directory
  });

  it('stops at the end marker of a compressed payload: more than a tar record after it is refused, not inflated in full', async () => {
    const base = artifact({ compression: 'gzip' });
    let inflated = 0;
    const counting = {
      pushBytes: inflateFflate.pushBytes,
      gunzip() {
        const stream = inflateFflate.gunzip();
        return {
          push: (bytes: Uint8Array) => {
            const out = stream.push(bytes);
            inflated += out.length;
            return out;
          },
          end: () => stream.end(),
        };
      },
    };
    const padded = (extra: number) =>
      edited(base, (entries) => replaceEntry(entries, 'data/0000.tar.gz', (e) => ({ ...e, data: gzipSync(concatBytes(gunzipSync(e.data), new Uint8Array(extra))) })));
    // A tar record's padding (GNU tar) is fine.
    expect((await readArtifact(padded(9 * 1024))).summary.files[0]!.name).toBe('app.bin');
    const error = await readError(padded(16 * 1024 * 1024), { inflate: counting });
    expect(error.code).toBe('artifact-format');
    expect(error.message).toMatch(/^data\/0000\.tar\.gz: \d+ bytes after the end-of-archive marker, over 10240$/);
    expect(inflated).toBeLessThan(1024 * 1024);
  });

  it('reads twenty files in one payload, and RSA/ECDSA-signed artifacts from the writer', async () => {
    const files = Array.from({ length: 20 }, (_, i) => ({ name: `part-${i}.bin`, data: bytesOf(100 * i + 1, i) }));
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (const pair of [ec, rsa]) {
      const signed = artifact({ files, compression: 'gzip', signingKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string });
      const key = parsePublicKeyPem(pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
      const { summary } = await readArtifact(signed, { key, chunk: 333 });
      expect(summary.signature).toBe('valid');
      expect(summary.files).toHaveLength(20);
      expect(summary.payloads[0]!.files.map((f) => f.name)).toEqual(files.map((f) => f.name));
    }
  });
});

describe('ArtifactReader: integrity errors', () => {
  it('a data file the manifest does not list', async () => {
    const bad = editManifest(artifact(), (text) => text.replace(/^.*data\/0000\/app\.bin\n/m, ''));
    const error = await readError(bad);
    expect(error.code).toBe('artifact-format');
    expect(error.message).toBe('data/0000/app.bin: not in the manifest');
  });

  it('a listed file that never arrives', async () => {
    const hash = sha(utf8('x'));
    const bad = editManifest(artifact(), (text) => `${hash}  data/0000/missing.bin\n${text}`);
    const error = await readError(bad);
    expect(error.code).toBe('artifact-format');
    expect(error.message).toBe('data/0000/missing.bin: in the manifest, not in the artifact');
    expect(error.recorded.events).toEqual(['open app.bin 3000 @0', 'close app.bin', 'discard artifact-format']);
  });

  it('a data entry missing entirely', async () => {
    const bad = edited(artifact(), (entries) => entries.filter((e) => !e.name.startsWith('data/')));
    expect((await readError(bad)).message).toBe('data/0000/app.bin: in the manifest, not in the artifact');
  });

  it('an edited header: checksum-mismatch naming header.tar', async () => {
    const bad = edited(artifact(), (entries) =>
      replaceEntry(entries, 'header.tar', (e) => {
        const data = e.data.slice();
        data[600]! ^= 1; // inside header-info's content
        return { ...e, data };
      }),
    );
    const error = await readError(bad);
    expect(error.code).toBe('checksum-mismatch');
    expect(error.message).toMatch(/^header\.tar: expected sha256 [0-9a-f]{64} \(manifest\), got [0-9a-f]{64}$/);
  });

  it('an edited version entry', async () => {
    const bad = edited(artifact(), (entries) => replaceEntry(entries, 'version', (e) => ({ ...e, data: utf8('{"format":"mender","version": 3}') })));
    const error = await readError(bad);
    expect(error.code).toBe('checksum-mismatch');
    expect(error.message).toMatch(/^version: expected sha256/);
  });

  it('a malformed manifest line names the line', async () => {
    const bad = editManifest(artifact(), (text) => text.replace('  version', ' version'));
    const error = await readError(bad);
    expect(error.code).toBe('artifact-format');
    expect(error.message).toMatch(/^manifest line 3: expected "<64 lowercase hex>  <name>"/);
  });
});

describe('ArtifactReader: structure errors', () => {
  const base = artifact();
  const order = async (entries: RawEntry[], pattern: RegExp) => {
    const error = await readError(tarArchive(entries));
    expect(error.code).toBe('artifact-format');
    expect(error.message).toMatch(pattern);
  };

  it('enforces the entry order of §1.1', async () => {
    const [version, manifest, header, data] = tarSplit(base) as [RawEntry, RawEntry, RawEntry, RawEntry];
    await order([manifest, version, header, data], /^artifact: "manifest" at byte 512: expected version first$/);
    await order([version, header, manifest, data], /"header\.tar" .* expected manifest after version/);
    await order([version, manifest, data, header], /"data\/0000\.tar" .* expected manifest\.sig, manifest-augment or header\.tar\[\.gz\]/);
    await order([version, manifest, header, header], /"header\.tar" .* expected data\/NNNN\.tar\[\.gz\] after the header/);
    await order([version, manifest, header, { ...data, name: 'data/0001.tar' }], /expected data\/0000\.tar/);
    await order([version, manifest, header, { ...data, name: 'data/x.tar' }], /"data\/x\.tar" at byte \d+: expected data\/NNNN\.tar/);
    await order([version, manifest, header, { ...data, type: '2' }], /expected a regular file, got tar type '2'/);
  });

  it('refuses a payload file name with forbidden characters', async () => {
    const bad = edited(base, (entries) =>
      replaceEntry(entries, 'data/0000.tar', (e) => ({ ...e, data: tarArchive(tarSplit(e.data).map((f) => ({ ...f, name: 'a b.bin' }))) })),
    );
    expect((await readError(bad)).message).toMatch(/"a b\.bin" at byte 512: expected letters, digits or "_-\.," only/);
  });

  it('format version 2 and unknown versions', async () => {
    const v = (text: string) => edited(base, (entries) => replaceEntry(entries, 'version', (e) => ({ ...e, data: utf8(text) })));
    const v2 = await readError(v('{"format":"mender","version":2}'));
    expect(v2.code).toBe('artifact-unsupported');
    expect(v2.message).toMatch(/^version: expected format version 3, got 2$/);
    const v9 = await readError(v('{"format":"mender","version":9}'));
    expect(v9.message).toBe('version: expected format version 3, got 9');
    expect((await readError(v('{"format":"other","version":3}'))).message).toBe('version: expected format "mender", got "other"');
    expect((await readError(v('not json'))).message).toMatch(/^version: invalid JSON/);
    expect((await readError(v('[3]'))).message).toBe('version: expected a JSON object, got an array');
  });

  it('zstd and xz name the compression and why', async () => {
    const renamed = (from: string, to: string) =>
      edited(base, (entries) => replaceEntry(entries, from, (e) => ({ ...e, name: to })));
    const zst = await readError(renamed('data/0000.tar', 'data/0000.tar.zst'));
    expect(zst.code).toBe('artifact-unsupported');
    expect(zst.message).toMatch(/^data\/0000\.tar\.zst: zstd needs a window of several MiB, too much for a device; use gzip or none$/);
    const xz = await readError(renamed('data/0000.tar', 'data/0000.tar.xz'));
    expect(xz.message).toMatch(/^data\/0000\.tar\.xz: xz needs a 64 MiB dictionary/);
  });

  it('a bad tar header checksum names the byte offset', async () => {
    const bad = base.slice();
    bad[1024]! ^= 0x01; // the manifest entry's header starts at byte 1024 (version is 512 + 512)
    const error = await readError(bad);
    expect(error.message).toMatch(/^artifact: tar header at byte 1024: bad checksum \(stored \d+, computed \d+\)$/);
  });

  it('truncation: inside an entry and before the header', async () => {
    expect((await readError(base.subarray(0, 1500))).message).toBe('artifact: truncated at byte 1500');
    expect((await readError(base.subarray(0, 1600))).message).toBe('artifact: truncated at byte 1600 in "manifest"');
    const manifestEnd = 1536 + Math.ceil(tarSplit(base)[1]!.data.length / 512) * 512;
    expect((await readError(base.subarray(0, manifestEnd))).message).toBe(`artifact: truncated at byte ${manifestEnd}, before the header`);
  });

  it('header-info problems are named; a header without header-info first is refused', async () => {
    // Rebuild header.tar with a broken header-info and fix the manifest checksum to match.
    const withHeader = (files: RawEntry[]) => {
      const header = tarArchive(files);
      const entries = replaceEntry(tarSplit(base), 'header.tar', (e) => ({ ...e, data: header }));
      return replaceEntry(entries, 'manifest', (e) => ({ ...e, data: utf8(fromUtf8(e.data).replace(/^[0-9a-f]{64}(?=  header\.tar$)/m, sha(header))) }));
    };
    const original = tarSplit(tarSplit(base).find((e) => e.name === 'header.tar')!.data);
    const typeInfo = original.find((e) => e.name === 'headers/0000/type-info')!;
    const bad1 = await readError(tarArchive(withHeader([{ name: 'header-info', data: utf8('{"payloads":[{"type":"x"}],"artifact_provides":{"artifact_name":"n"},"artifact_depends":{}}') }, typeInfo])));
    expect(bad1.message).toBe('header.tar/header-info.artifact_depends.device_type: expected a non-empty array of device types');
    const bad2 = await readError(tarArchive(withHeader([typeInfo, original[0]!])));
    expect(bad2.message).toBe('header.tar: expected header-info first, got "headers/0000/type-info"');
    const bad3 = await readError(tarArchive(withHeader([original[0]!])));
    expect(bad3.message).toBe('header.tar: headers/0000/type-info is missing');
    const bad4 = await readError(tarArchive(withHeader([original[0]!, { ...typeInfo, data: utf8('{"type":"other"}') }])));
    expect(bad4.message).toBe('header.tar: headers/0000/type-info: expected header-info\'s type "single-file", got "other"');
  });

  it('a gzip header.tar that does not inflate but matches its checksum reports the gzip problem', async () => {
    const gz = artifact({ compression: 'gzip' });
    const junk = utf8('not gzip at all');
    const entries = replaceEntry(tarSplit(gz), 'header.tar.gz', (e) => ({ ...e, data: junk }));
    const fixed = replaceEntry(entries, 'manifest', (e) => ({ ...e, data: utf8(fromUtf8(e.data).replace(/^[0-9a-f]{64}(?=  header\.tar\.gz$)/m, sha(junk))) }));
    const error = await readError(tarArchive(fixed));
    expect(error.code).toBe('artifact-format');
    expect(error.message).toMatch(/gzip header: expected magic 1f8b/);
  });
});

describe('ArtifactReader: sink protocol and lifecycle', () => {
  it('awaits onHead before the first payload byte; a throwing gate stops the read without discard', async () => {
    const sink = recordingSink(true);
    const events = sink.recorded.events;
    await readArtifact(artifact(), { sink, onHead: async (head) => void events.push(`head ${head.artifactName}`) });
    expect(events).toEqual(['head gen-1', 'open app.bin 3000 @0', 'close app.bin']);

    const gated = recordingSink();
    const error = await readError(artifact(), {
      sink: gated,
      onHead: () => {
        throw new OtaError('incompatible', 'device type dev-b is not in [dev-a]');
      },
    }).catch((e) => e);
    expect(error.code).toBe('incompatible');
    const plain = await readError(artifact(), { onHead: () => { throw new Error('boom'); } });
    expect(plain.code).toBe('aborted');
    expect(plain.message).toBe('onHead threw: boom');
    expect(plain.recorded.events).toEqual([]);
  });

  it('backpressure: write() does not resolve until the sink does', async () => {
    let release!: () => void;
    let writes = 0;
    const sink = recordingSink();
    sink.write = () => {
      writes++;
      return new Promise<void>((r) => (release = r));
    };
    const reader = newReader({ sink });
    const bytes = artifact();
    let done = false;
    const pending = reader.write(bytes).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(writes).toBe(1);
    expect(done).toBe(false);
    await expect(reader.write(bytes)).rejects.toThrow(/while a write\(\) is pending/);
    await expect(reader.end()).rejects.toThrow('end() while a write() is pending');
    release();
    await pending;
    expect(done).toBe(true);
    await reader.end();
  });

  it('a failing sink write discards and rejects with an OtaError; later calls reject the same', async () => {
    const sink = recordingSink();
    sink.write = () => {
      throw new OtaError('flash-io', 'write at 0x1000 failed');
    };
    const reader = newReader({ sink });
    const error = await reader.write(artifact()).catch((e) => e);
    expect(error.code).toBe('flash-io');
    expect(sink.recorded.discarded).toBe(error);
    await expect(reader.write(new Uint8Array(1))).rejects.toBe(error);
    await expect(reader.end()).rejects.toBe(error);
  });

  it('lifecycle misuse throws', async () => {
    const reader = newReader({ sink: recordingSink() });
    await reader.write(artifact());
    await reader.end();
    await expect(reader.write(new Uint8Array(1))).rejects.toThrow(/after end/);
    await expect(reader.end()).rejects.toThrow('end() after end()');
    await expect(reader.write('x' as never)).rejects.toThrow(TypeError);
    expect(() => newReader({ sink: {} as never })).toThrow(TypeError);
  });

  it('names a missing or incomplete option, and what it got', () => {
    const sink = recordingSink();
    expect(() => newReader({ sink: { ...sink, close: undefined } as never })).toThrow('"sink" expected a PayloadSink (open, write, close, discard), got an object');
    expect(() => newReader({ sink, sha256: 'sha256' as never })).toThrow('"sha256" expected a Sha256Factory, got "sha256"');
    expect(() => newReader({ sink, inflate: {} as never })).toThrow('"inflate" expected an Inflate, got an object');
    expect(() => newReader({ sink, verifier: null as never })).toThrow('"verifier" expected a Verifier, got null');
    expect(() => createArtifactReader(undefined as never)).toThrow('"sha256" expected a Sha256Factory, got nothing');
  });

  it('ignores data after the end-of-archive marker, and accepts an archive without it (as Go does)', async () => {
    const base = artifact();
    await readArtifact(concatBytes(base, new Uint8Array(10240)));
    await readArtifact(base.subarray(0, base.length - 1024));
  });

  it('refuses more than a tar record (10240 bytes) after the artifact\'s end-of-archive marker', async () => {
    const base = artifact();
    const error = await readError(concatBytes(base, new Uint8Array(10241)));
    expect(error.code).toBe('artifact-format');
    expect(error.message).toBe('artifact: 10241 bytes after the end-of-archive marker, over 10240');
  });

  it("pushes at most the Inflate's pushBytes at once, so a 0xff-padded image never inflates in one huge piece", async () => {
    // An image padded with 0xff to its slot: ~1 MiB that gzip squeezes to about a KiB.
    const image = new Uint8Array(1024 * 1024).fill(0xff);
    image.set(bytesOf(2000), 0);
    const gz = artifact({ files: [{ name: 'image.bin', data: image }], compression: 'gzip' });
    const pushes: number[] = [];
    const outputs: number[] = [];
    const inflate = {
      pushBytes: 64,
      gunzip() {
        const stream = inflateFflate.gunzip();
        return {
          push(compressed: Uint8Array) {
            pushes.push(compressed.length);
            const out = stream.push(compressed);
            outputs.push(out.length);
            return out;
          },
          end: () => stream.end(),
        };
      },
    };
    const { recorded } = await readArtifact(gz, { inflate, chunk: 64 * 1024 });
    expect(recorded.files.get('image.bin')).toEqual(image);
    expect(Math.max(...pushes)).toBeLessThanOrEqual(64);
    expect(Math.max(...outputs)).toBeLessThanOrEqual(64 * 1032 + 32 * 1024); // DEFLATE's worst ratio, plus a window
    expect(Math.max(...outputs)).toBeGreaterThan(16 * 1024); // the padding really compressed that hard
  });

  it('reads a gzip data tar made by another gzip (node zlib)', async () => {
    const gz = artifact({ compression: 'gzip' });
    const rezipped = edited(gz, (entries) =>
      replaceEntry(entries, 'data/0000.tar.gz', (e) => ({ ...e, data: new Uint8Array(gzipSync(new Uint8Array(gunzipSync(e.data)), { level: 1 })) })),
    );
    expect((await readArtifact(rezipped, { chunk: 50 })).summary.files[0]!.size).toBe(3000);
  });
});

describe('ArtifactReader: the tar header helper is sane', () => {
  it('tarHeader checksums validate', async () => {
    expect(tarHeader('a', 1).length).toBe(512);
    expect(fixture('rootfs-none-unsigned.mender').length % 512).toBe(0);
  });
});
