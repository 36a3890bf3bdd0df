// Fuzz: a seeded PRNG mutates real artifacts (bit flips, truncation, edited tar header fields,
// edited JSON) and the reader must always end in a result or an OtaError: never another error
// type, never a hang. When it does accept a mutant, what reached the sink must still match.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fromUtf8, toHex, utf8 } from '../../../base/bytes.ts';
import { OtaError } from '../../../base/errors.ts';
import { writeArtifact } from '../../../simulator/artifact-writer.ts';
import { MENDER_FIXTURES, fixture } from '../../vectors.ts';
import { fixtureKey, prng, readArtifact, recordingSink } from './helpers.ts';
import { replaceEntry, tarArchive, tarSplit } from './tar-build.ts';

const SEED = 20261121;
const CASES_PER_KIND = 1000;
const CASE_TIMEOUT_MS = 2000;

const bases: { name: string; bytes: Uint8Array }[] = [
  ...readdirSync(MENDER_FIXTURES)
    .filter((f) => f.endsWith('.mender') && !f.includes('lzma'))
    .map((f) => ({ name: f, bytes: fixture(f) })),
  {
    name: 'generated-none-3-files',
    bytes: writeArtifact({
      artifactName: 'fz', deviceTypes: ['d'], payloadType: 'x', compression: 'none', mtime: 0,
      files: [0, 513, 1500].map((n, i) => ({ name: `f${i}.bin`, data: new Uint8Array(n).fill(i + 1) })),
      metaData: { a: 1, b: ['x'] }, depends: { k: ['v1', 'v2'] },
    }),
  },
];

/** Offsets of every tar header block in an artifact (outer entries only). */
function headerOffsets(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let at = 0;
  for (const entry of tarSplit(bytes)) {
    out.push(at);
    at += 512 + Math.ceil(entry.data.length / 512) * 512;
  }
  return out;
}

function recomputeChecksum(block: Uint8Array): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.set(utf8(sum.toString(8).padStart(6, '0') + '\0 '), 148);
}

type Mutator = (bytes: Uint8Array, r: () => number) => Uint8Array;
const pick = <T>(items: readonly T[], r: () => number): T => items[Math.floor(r() * items.length)]!;

const MUTATORS: Record<string, Mutator> = {
  'bit flips': (bytes, r) => {
    const out = bytes.slice();
    const flips = 1 + Math.floor(r() * 4);
    for (let i = 0; i < flips; i++) out[Math.floor(r() * out.length)]! ^= 1 << Math.floor(r() * 8);
    return out;
  },
  truncation: (bytes, r) => bytes.subarray(0, Math.floor(r() * bytes.length)),
  'tar header fields': (bytes, r) => {
    const out = bytes.slice();
    const at = pick(headerOffsets(bytes), r);
    const block = out.subarray(at, at + 512);
    const field = pick(['size', 'size-huge', 'size-base256', 'checksum', 'type', 'name', 'magic'] as const, r);
    if (field === 'size') block.set(utf8(Math.floor(r() * 40000).toString(8).padStart(11, '0') + '\0'), 124);
    if (field === 'size-huge') block.set(utf8('77777777777\0'), 124);
    if (field === 'size-base256') block.set([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, Math.floor(r() * 256), Math.floor(r() * 256)], 124);
    if (field === 'checksum') block.set(utf8(Math.floor(r() * 0o777777).toString(8).padStart(6, '0') + '\0 '), 148);
    if (field === 'type') block[156] = pick([0x30, 0x31, 0x32, 0x35, 0x78, 0x67, 0x4c, 0x4b, 0x53, 0x00, 0x7a], r);
    if (field === 'name') block.set(utf8(pick(['manifest', 'version', 'data/0000.tar', 'header.tar', '../x', 'data/9999.tar.gz', 'header.tar.zst'], r) + '\0'), 0);
    if (field === 'magic') block.set(utf8('ustar  \0'), 257);
    if (field !== 'checksum' && r() < 0.8) recomputeChecksum(block); // mostly get past the checksum
    return out;
  },
  'edited JSON': (bytes, r) => {
    // Rewrite a JSON file inside an uncompressed header.tar and fix the manifest, so the JSON
    // parser (not the checksum) sees the damage; for other artifacts, edit the version entry.
    const entries = tarSplit(bytes);
    const header = entries.find((e) => e.name === 'header.tar');
    const edit = (text: string) => {
      const kind = Math.floor(r() * 5);
      if (kind === 0) return text.slice(0, Math.floor(r() * text.length));
      if (kind === 1) return text.replace(/"[^"]*"/, pick(['1', 'null', '[]', '{}', '"x"', 'true'], r));
      if (kind === 2) return text.replace(/\[[^\]]*\]/, pick(['[]', '"s"', '[1,2]', 'null'], r));
      if (kind === 3) return text.replace(/:/, pick(['::', ',', ':{'], r));
      const i = Math.floor(r() * text.length);
      return text.slice(0, i) + String.fromCharCode(Math.floor(r() * 128)) + text.slice(i + 1);
    };
    if (!header || entries.some((e) => e.name === 'manifest.sig') || r() < 0.2) {
      return tarArchive(replaceEntry(entries, 'version', (e) => ({ ...e, data: utf8(edit(fromUtf8(e.data))) })));
    }
    const files = tarSplit(header.data);
    const target = pick(files.filter((f) => f.data.length > 0), r);
    const newHeader = tarArchive(files.map((f) => (f === target ? { ...f, data: utf8(edit(fromUtf8(f.data))) } : f)));
    const sha = createHash('sha256').update(newHeader).digest('hex');
    let out = replaceEntry(entries, 'header.tar', (e) => ({ ...e, data: newHeader }));
    out = replaceEntry(out, 'manifest', (e) => ({ ...e, data: utf8(fromUtf8(e.data).replace(/^[0-9a-f]{64}(?=  header\.tar$)/m, sha)) }));
    return tarArchive(out);
  },
};

async function readWithTimeout(bytes: Uint8Array, r: () => number, withKey: boolean) {
  const sink = recordingSink();
  const chunk = pick([1 + Math.floor(r() * 64), 512, 4096, 1 + Math.floor(r() * 9000)], r);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: no result within ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
  });
  try {
    const key = withKey ? fixtureKey('ecdsa-p256-public.pem') : undefined;
    const result = await Promise.race([readArtifact(bytes, { sink, chunk, key }), timeout]);
    return { ok: true as const, result, sink };
  } catch (error) {
    return { ok: false as const, error, sink };
  } finally {
    clearTimeout(timer);
  }
}

describe('fuzz: mutated real artifacts', () => {
  for (const [kind, mutate] of Object.entries(MUTATORS)) {
    it(`${kind}: ${CASES_PER_KIND} cases end in a result or an OtaError`, async () => {
      const r = prng(SEED + kind.length);
      const codes = new Map<string, number>();
      let accepted = 0;
      for (let i = 0; i < CASES_PER_KIND; i++) {
        const base = pick(bases, r);
        const mutant = mutate(base.bytes, r);
        const outcome = await readWithTimeout(mutant, r, base.name.includes('ecdsa') && r() < 0.3);
        if (outcome.ok) {
          accepted++;
          // Whatever was accepted was delivered intact: every file the sink closed hashes to the summary.
          for (const file of outcome.result.summary.files) {
            expect(createHash('sha256').update(outcome.sink.recorded.files.get(file.name)!).digest('hex')).toBe(toHex(file.sha256));
          }
          continue;
        }
        if (!(outcome.error instanceof OtaError)) {
          throw new Error(`case ${i} (${base.name}, ${kind}): expected an OtaError, got ${String((outcome.error as Error)?.stack ?? outcome.error)}`);
        }
        codes.set(outcome.error.code, (codes.get(outcome.error.code) ?? 0) + 1);
        expect(outcome.error.message.length).toBeGreaterThan(10);
        // A failure after the sink saw bytes was always followed by discard(same error).
        if (outcome.sink.recorded.events.some((e) => e.startsWith('open'))) expect(outcome.sink.recorded.discarded).toBe(outcome.error);
      }
      expect(codes.size).toBeGreaterThan(0);
      expect(accepted).toBeLessThan(CASES_PER_KIND);
    });
  }
});
