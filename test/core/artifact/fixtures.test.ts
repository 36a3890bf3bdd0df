// Every fixture in ../shared/specs/mender/fixtures, read at every chunking, against hard-coded facts
// and (when installed) against what `mender-artifact read` says about the same file.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { toHex } from '../../../base/bytes.ts';
import { isOtaError } from '../../../base/errors.ts';
import type { ArtifactSummary } from '../../../core/artifact/types.ts';
import { MENDER_FIXTURES, fixture } from '../../vectors.ts';
import { realTool } from '../../real-tools.ts';
import { fixtureKey, prng, readArtifact, readError } from './helpers.ts';
import { menderArtifact, menderRead } from './mender-read.ts';

const ROOTFS_SHA = '90b834666bd99804aad5f0d312a8862f91872e635fd6063d42fe787c4e1d84ee';
const APP_SHA = '8b66967f6bfb19b063a41d842a8de471ddaf15b13a78c33977ef23794fca29ca';
const ROOTFS_CLEARS = ['artifact_group', 'rootfs_image_checksum', 'rootfs-image.*'];

interface Facts {
  name: string;
  compression: 'none' | 'gzip';
  signed: boolean;
  deviceTypes: string[];
  provides: Record<string, string>;
  depends: Record<string, string | string[]>;
  type: string;
  payloadProvides: Record<string, string>;
  payloadDepends: Record<string, string | string[]>;
  clears: string[];
  metaData: Record<string, unknown> | null;
  files: [string, number, string][];
  key?: string;
}

const rootfs = (name: string, compression: 'none' | 'gzip', signed: boolean, key?: string): Facts => ({
  name,
  compression,
  signed,
  key,
  deviceTypes: ['fx-device'],
  provides: { artifact_name: name },
  depends: { device_type: ['fx-device'] },
  type: 'rootfs-image',
  payloadProvides: { 'rootfs-image.checksum': ROOTFS_SHA, 'rootfs-image.version': name },
  payloadDepends: {},
  clears: ROOTFS_CLEARS,
  metaData: null,
  files: [['rootfs.ext4', 16384, ROOTFS_SHA]],
});

const GOOD: Record<string, Facts> = {
  'rootfs-none-unsigned.mender': rootfs('fx-rootfs-none', 'none', false),
  'rootfs-gzip-unsigned.mender': rootfs('fx-rootfs-gzip', 'gzip', false),
  'rootfs-none-signed-ecdsa-p256.mender': rootfs('fx-rootfs-none-ecdsa', 'none', true, 'ecdsa-p256-public.pem'),
  'rootfs-gzip-signed-ecdsa-p256.mender': rootfs('fx-rootfs-ecdsa', 'gzip', true, 'ecdsa-p256-public.pem'),
  'rootfs-gzip-signed-rsa3072.mender': rootfs('fx-rootfs-rsa', 'gzip', true, 'rsa3072-public.pem'),
  'bootstrap-empty-payload.mender': {
    name: 'fx-bootstrap-1',
    compression: 'gzip',
    signed: false,
    deviceTypes: ['fx-device'],
    provides: { artifact_name: 'fx-bootstrap-1' },
    depends: { device_type: ['fx-device'] },
    type: '',
    payloadProvides: {},
    payloadDepends: {},
    clears: [],
    metaData: null,
    files: [],
  },
  'module-gzip-meta-depends-script.mender': {
    name: 'fx-module-1',
    compression: 'gzip',
    signed: false,
    deviceTypes: ['fx-device', 'fx-device-b'],
    provides: { artifact_name: 'fx-module-1', artifact_group: 'fx-group' },
    depends: { artifact_name: ['fx-prev-1', 'fx-prev-2'], device_type: ['fx-device', 'fx-device-b'], artifact_group: ['fx-dep-group'] },
    type: 'single-file',
    payloadProvides: { 'rootfs-image.single-file.version': 'fx-module-1', 'single-file.extra.version': '1.2' },
    payloadDepends: { foo: 'bar' },
    clears: ['rootfs-image.single-file.*'],
    metaData: { count: 3, list: ['a', 'b'], url: 'https://example.invalid/fw' },
    files: [['app.bin', 6000, APP_SHA]],
  },
  'module-gzip-augmented-signed-ecdsa-p256.mender': {
    name: 'fx-augmented-1',
    compression: 'gzip',
    signed: true,
    key: 'ecdsa-p256-public.pem',
    deviceTypes: ['fx-device'],
    provides: { artifact_name: 'fx-augmented-1' },
    depends: { device_type: ['fx-device'] },
    type: 'fx-delta',
    payloadProvides: { 'rootfs-image.fx-delta.version': 'fx-augmented-1' },
    payloadDepends: { 'rootfs-image.checksum': '0123abcd' }, // from header-augment's type-info
    clears: ['rootfs-image.fx-delta.*'],
    metaData: null,
    files: [
      ['app.bin', 6000, APP_SHA],
      ['delta.bin', 140, '7e33178bc6aaee12ec1272d52fb612a75a6aa388dd69bd8c45ea769bd193b291'],
    ],
  },
};

function expectFacts(summary: ArtifactSummary, facts: Facts, signature: ArtifactSummary['signature']): void {
  expect(summary.version).toBe(3);
  expect(summary.artifactName).toBe(facts.name);
  expect(summary.compression).toBe(facts.compression);
  expect(summary.signature).toBe(signature);
  expect(summary.deviceTypes).toEqual(facts.deviceTypes);
  expect(summary.provides).toEqual(facts.provides);
  expect(summary.depends).toEqual(facts.depends);
  expect(summary.payloads).toHaveLength(1);
  const payload = summary.payloads[0]!;
  expect(payload.index).toBe(0);
  expect(payload.type).toBe(facts.type);
  expect(payload.provides).toEqual(facts.payloadProvides);
  expect(payload.depends).toEqual(facts.payloadDepends);
  expect(payload.clearsProvides).toEqual(facts.clears);
  expect(payload.metaData).toEqual(facts.metaData);
  expect(payload.files.map((f) => [f.name, toHex(f.sha256)])).toEqual(facts.files.map(([n, , s]) => [n, s]));
  expect(summary.files.map((f) => [f.name, f.size, toHex(f.sha256)])).toEqual(facts.files);
}

const CHUNKINGS: [string, number | (() => number)][] = [
  ['1', 1],
  ['7', 7],
  ['512', 512],
  ['4096', 4096],
  ['random (seed 1)', ((r) => () => 1 + Math.floor(r() * 3000))(prng(1))],
  ['random (seed 2)', ((r) => () => 1 + Math.floor(r() * 20))(prng(2))],
];

describe('fixtures: facts at every chunking', () => {
  for (const [file, facts] of Object.entries(GOOD)) {
    it(file, async () => {
      const artifact = fixture(file);
      for (const [label, chunk] of CHUNKINGS) {
        const { summary, recorded, heads } = await readArtifact(artifact, { chunk });
        expectFacts(summary, facts, facts.signed ? 'not-checked' : 'unsigned');
        expect(heads, `chunking ${label}`).toHaveLength(1);
        expect(summary.augmented).toBe(file.includes('augmented')); // the unsigned augment parts are flagged
        // The sink got each file whole, in order, and its bytes hash to the manifest's value.
        expect(recorded.events).toEqual(facts.files.flatMap(([n, size]) => [`open ${n} ${size} @0`, `close ${n}`]));
        for (const [n, size, sha] of facts.files) {
          expect(recorded.files.get(n)!.length).toBe(size);
          expect(createHash('sha256').update(recorded.files.get(n)!).digest('hex')).toBe(sha);
        }
      }
    });
  }
});

describe('fixtures: signatures', () => {
  for (const [file, facts] of Object.entries(GOOD).filter(([, f]) => f.signed)) {
    it(`${file} verifies with ${facts.key} and fails with the other key`, async () => {
      const { summary } = await readArtifact(fixture(file), { key: fixtureKey(facts.key!), chunk: 7 });
      expectFacts(summary, facts, 'valid');
      const other = facts.key === 'rsa3072-public.pem' ? 'ecdsa-p256-public.pem' : 'rsa3072-public.pem';
      const error = await readError(fixture(file), { key: fixtureKey(other) });
      expect(error.code).toBe('signature-invalid');
      expect(error.message).toMatch(/^manifest\.sig: /);
      expect(error.recorded.events).toEqual([]); // nothing reached the sink
    });
  }

  it('refuses unsigned artifacts when a key is configured', async () => {
    for (const file of ['rootfs-none-unsigned.mender', 'rootfs-gzip-unsigned.mender', 'module-gzip-meta-depends-script.mender']) {
      const error = await readError(fixture(file), { key: fixtureKey('ecdsa-p256-public.pem') });
      expect(error.code).toBe('signature-missing');
      expect(error.message).toMatch(/manifest\.sig/);
    }
  });
});

describe('fixtures: the bad ones', () => {
  it('CORRUPT payload: checksum-mismatch naming the file and both hashes; the sink discards', async () => {
    for (const [, chunk] of CHUNKINGS) {
      const error = await readError(fixture('rootfs-none-unsigned-CORRUPT-payload.mender'), { chunk });
      expect(error.code).toBe('checksum-mismatch');
      expect(error.message).toBe(
        `data/0000/rootfs.ext4: expected sha256 ${ROOTFS_SHA} (manifest), got 04894ffe5aaf9a0aa065bd0b52fe69e64972e72bbca5342ce1ca1ccf70eef037`,
      );
      expect(error.recorded.events).toEqual(['open rootfs.ext4 16384 @0', 'discard checksum-mismatch']);
      expect(error.recorded.discarded).toBe(error);
    }
  });

  it('lzma: artifact-unsupported naming xz and the 64 MiB dictionary', async () => {
    const error = await readError(fixture('rootfs-lzma-unsigned.mender'), { chunk: 1 });
    expect(isOtaError(error, 'artifact-unsupported')).toBe(true);
    expect(error.message).toMatch(/^header\.tar\.xz: xz needs a 64 MiB dictionary/);
  });
});

describe.skipIf(!realTool('mender-artifact'))('fixtures: the same facts as mender-artifact read', () => {
  for (const file of Object.keys(GOOD)) {
    it(file, async () => {
      const path = resolve(MENDER_FIXTURES, file);
      const theirs = menderRead(path);
      const { summary } = await readArtifact(fixture(file));
      const payload = summary.payloads[0]!;
      expect(summary.artifactName).toBe(theirs.name);
      expect(summary.deviceTypes).toEqual(theirs.deviceTypes);
      expect(summary.provides.artifact_group ?? '').toBe(theirs.providesGroup);
      expect(summary.depends.artifact_name ?? []).toEqual(theirs.dependsArtifacts);
      expect(summary.depends.artifact_group ?? []).toEqual(theirs.dependsGroups);
      expect(theirs.signature).toEqual(summary.signature === 'unsigned' ? 'no signature' : expect.stringMatching(/^signed but no key/));
      expect(theirs.payloads).toHaveLength(1);
      const p = theirs.payloads[0]!;
      expect(payload.type).toBe(p.type);
      expect(payload.provides).toEqual(p.provides);
      expect(payload.depends).toEqual(p.depends);
      expect(payload.clearsProvides).toEqual(p.clearsProvides);
      expect(payload.metaData).toEqual(p.metaData);
      expect(summary.files.map((f) => ({ name: f.name, size: f.size, checksum: toHex(f.sha256) }))).toEqual(p.files);
    });
  }

  it('agrees with mender-artifact validate on keys, the corrupt payload and lzma', async () => {
    const fx = (name: string) => resolve(MENDER_FIXTURES, name);
    expect(menderArtifact(['validate', '-k', fx('ecdsa-p256-public.pem'), fx('rootfs-gzip-signed-ecdsa-p256.mender')]).status).toBe(0);
    expect(menderArtifact(['validate', '-k', fx('rsa3072-public.pem'), fx('rootfs-gzip-signed-ecdsa-p256.mender')]).status).not.toBe(0);
    expect(menderArtifact(['validate', fx('rootfs-none-unsigned-CORRUPT-payload.mender')]).status).not.toBe(0);
    // mender-artifact itself reads xz; a device cannot (see the lzma test above).
    expect(menderArtifact(['validate', fx('rootfs-lzma-unsigned.mender')]).status).toBe(0);
  });
});
