// Artifacts built at test time by Debian's mender-artifact 3.9: odd file sizes, long names, twenty
// files, RSA-2048/3072/4096 and ECDSA signatures, gzip and none, a wrong key, an edited manifest.
// The reader must report what `mender-artifact read` reports, and reject what it should.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromUtf8, toHex, utf8 } from '../../../base/bytes.ts';
import { parsePublicKeyPem } from '../../../platform/public-key.ts';
import type { PublicKey } from '../../../platform/verifier.ts';
import { realTool } from '../../real-tools.ts';
import { readArtifact, readError } from './helpers.ts';
import { menderArtifact, menderRead } from './mender-read.ts';
import { replaceEntry, tarArchive, tarSplit } from './tar-build.ts';

const HAVE_TOOL = realTool('mender-artifact');
const dir = mkdtempSync(join(tmpdir(), 'ota-mcu-ma-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LONG_NAME = `${'long-name-'.repeat(12)}end.bin`; // 123 bytes: needs a pax record in the data tar
const SIZES = [0, 1, 511, 512, 513, 1024, 10 * 512];

function payloadFile(name: string, size: number, seed: number): string {
  const path = join(dir, name);
  writeFileSync(path, new Uint8Array(size).map((_, i) => (i * 17 + seed) & 255));
  return path;
}

function build(out: string, files: string[], extra: string[] = []): Uint8Array {
  const path = join(dir, out);
  const args = ['write', 'module-image', '-T', 'single-file', '-n', out, '-t', 'dev-a', '-t', 'dev-b', '-o', path, ...extra];
  for (const f of files) args.push('-f', f);
  const result = menderArtifact(args);
  if (result.status !== 0) throw new Error(`mender-artifact ${args.join(' ')}: ${result.stderr}`);
  return new Uint8Array(readFileSync(path));
}

async function expectSameAsMender(name: string, bytes: Uint8Array, key?: PublicKey) {
  const theirs = menderRead(join(dir, name));
  const { summary, recorded } = await readArtifact(bytes, { key, chunk: 777 });
  expect(summary.artifactName).toBe(theirs.name);
  expect(summary.deviceTypes).toEqual(theirs.deviceTypes);
  const payload = summary.payloads[0]!;
  const p = theirs.payloads[0]!;
  expect(payload.type).toBe(p.type);
  expect(payload.provides).toEqual(p.provides);
  expect(payload.clearsProvides).toEqual(p.clearsProvides);
  expect(summary.files.map((f) => ({ name: f.name, size: f.size, checksum: toHex(f.sha256) }))).toEqual(p.files);
  for (const f of summary.files) expect(createHash('sha256').update(recorded.files.get(f.name)!).digest('hex')).toBe(toHex(f.sha256));
  return summary;
}

describe.skipIf(!HAVE_TOOL)('artifacts written by mender-artifact', () => {
  let files: string[] = [];
  beforeAll(() => {
    files = [...SIZES.map((size, i) => payloadFile(`size-${size}.bin`, size, i)), payloadFile(LONG_NAME, 700, 99)];
  });

  for (const compression of ['none', 'gzip'] as const) {
    it(`sizes ${SIZES.join(', ')} and a ${LONG_NAME.length}-byte name, compression ${compression}`, async () => {
      const name = `sizes-${compression}`;
      const bytes = build(name, files, ['--compression', compression]);
      const summary = await expectSameAsMender(name, bytes);
      expect(summary.compression).toBe(compression);
      expect(summary.files.map((f) => f.size)).toEqual([...SIZES, 700]);
      expect(summary.files.at(-1)!.name).toBe(LONG_NAME);
    });
  }

  it('twenty files in one payload', async () => {
    const twenty = Array.from({ length: 20 }, (_, i) => payloadFile(`part-${i}.bin`, 300 * i + 5, i));
    const summary = await expectSameAsMender('twenty', build('twenty', twenty));
    expect(summary.files).toHaveLength(20);
  });

  const keys: Record<string, { privatePem: string; publicKey: PublicKey }> = {};
  const signers = [
    ['rsa-2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['rsa-3072', () => generateKeyPairSync('rsa', { modulusLength: 3072 })],
    ['rsa-4096', () => generateKeyPairSync('rsa', { modulusLength: 4096 })],
    ['ecdsa-p256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ] as const;
  beforeAll(() => {
    for (const [label, make] of signers) {
      const pair = make();
      // mender-artifact 3.9 reads only PKCS#1 RSA and SEC1 EC private keys.
      const privatePem = pair.privateKey.export({ type: label.startsWith('rsa') ? 'pkcs1' : 'sec1', format: 'pem' }) as string;
      writeFileSync(join(dir, `${label}.pem`), privatePem);
      const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
      writeFileSync(join(dir, `${label}.pub.pem`), publicPem);
      keys[label] = { privatePem, publicKey: parsePublicKeyPem(publicPem) };
    }
  });

  for (const [label] of signers) {
    for (const compression of label === 'ecdsa-p256' ? (['none', 'gzip'] as const) : (['gzip'] as const)) {
      it(`${label} signature (${compression}): valid with its key, invalid with another, not-checked without`, async () => {
        const name = `signed-${label}-${compression}`;
        const bytes = build(name, files.slice(0, 3), ['-k', join(dir, `${label}.pem`), '--compression', compression]);
        const summary = await expectSameAsMender(name, bytes, keys[label]!.publicKey);
        expect(summary.signature).toBe('valid');
        const other = label === 'ecdsa-p256' ? 'rsa-2048' : 'ecdsa-p256';
        expect((await readError(bytes, { key: keys[other]!.publicKey })).code).toBe('signature-invalid');
        expect((await readArtifact(bytes)).summary.signature).toBe('not-checked');
      });
    }
  }

  it('an edited manifest: signature-invalid when signed, checksum errors when not', async () => {
    const signed = build('edit-signed', files.slice(1, 3), ['-k', join(dir, 'ecdsa-p256.pem')]);
    const editHash = (bytes: Uint8Array) =>
      tarArchive(replaceEntry(tarSplit(bytes), 'manifest', (e) => ({ ...e, data: utf8(fromUtf8(e.data).replace(/^([0-9a-f])/, (c) => (c === '0' ? '1' : '0'))) })));
    const badSigned = editHash(signed);
    const error = await readError(badSigned, { key: keys['ecdsa-p256']!.publicKey });
    expect(error.code).toBe('signature-invalid');
    writeFileSync(join(dir, 'edit-signed-bad.mender'), badSigned);
    writeFileSync(join(dir, 'edit-signed.mender'), signed);
    expect(menderArtifact(['validate', '-k', join(dir, 'ecdsa-p256.pub.pem'), join(dir, 'edit-signed.mender')]).status).toBe(0);
    expect(menderArtifact(['validate', '-k', join(dir, 'ecdsa-p256.pub.pem'), join(dir, 'edit-signed-bad.mender')]).status).not.toBe(0);
    // Without a key the edited first line (a payload file's hash) is caught by the checksum.
    const unsignedError = await readError(editHash(build('edit-unsigned', files.slice(1, 3))));
    expect(unsignedError.code).toBe('checksum-mismatch');
    expect(unsignedError.message).toMatch(/^data\/0000\/size-1\.bin: expected sha256/);
  });
});
