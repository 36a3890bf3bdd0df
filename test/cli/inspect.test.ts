import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { createHash, generateKeyPairSync } from 'node:crypto';
import * as zlib from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { INSPECT_PLATFORM, READ_CHUNK_BYTES, run } from '../../simulator/cli/inspect.ts';
import { sha256Node } from '../../simulator/digest-node.ts';
import { inflateNode, inflateNodeIsNative } from '../../simulator/inflate-node.ts';
import { runCli } from './cli-harness.ts';
import { writeArtifact, writeArtifactTo } from '../../simulator/artifact-writer.ts';
import { createArtifactReader, type ArtifactReader } from '../../core/artifact/artifact-reader.ts';
import { MENDER_FIXTURES } from '../vectors.ts';

// Every reader the CLI makes, with write() spied on: the streaming test reads the chunk sizes.
vi.mock('../../core/artifact/artifact-reader.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../core/artifact/artifact-reader.ts')>();
  return {
    ...actual,
    createArtifactReader: vi.fn((options: Parameters<typeof actual.createArtifactReader>[0]) => {
      const reader = actual.createArtifactReader(options);
      vi.spyOn(reader, 'write');
      return reader;
    }),
  };
});

const cli = (argv: string[]) => runCli(run, argv);
const fixture = (name: string) => resolve(MENDER_FIXTURES, name);
const oneLine = (text: string) => expect(text.trimEnd().split('\n')).toHaveLength(1);
const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let dir: string;
const app = new Uint8Array(5000).map((_, i) => (i * 7) & 255);
let ecPriv: string;
let ecPub: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ota-inspect-'));
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  ecPriv = String(ec.privateKey.export({ type: 'sec1', format: 'pem' }));
  ecPub = join(dir, 'ec.pub.pem');
  writeFileSync(ecPub, String(ec.publicKey.export({ type: 'spki', format: 'pem' })));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ours(name: string, signed: boolean, compression: 'none' | 'gzip' = 'gzip'): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    writeArtifact({
      artifactName: 'rel-2',
      deviceTypes: ['board-a', 'board-b'],
      payloadType: 'zephyr-image',
      files: [{ name: 'app.bin', data: app }, { name: 'empty', data: new Uint8Array(0) }],
      provides: { 'zephyr-image.version': '2.0.0' },
      depends: { 'zephyr-image.version': ['1.0.0', '1.1.0'] },
      clearsProvides: ['zephyr-image.*'],
      metaData: { slot: 1 },
      artifactNameDepends: ['rel-1'],
      providesGroup: 'grp',
      compression,
      ...(signed ? { signingKey: ecPriv } : {}),
    }),
  );
  return path;
}

describe('ota-mcu inspect --json', () => {
  it('prints exactly one JSON object with the documented fields, in order', async () => {
    const { code, stdout, stderr } = await cli([ours('signed.mender', true), '--key', ecPub, '--json']);
    expect(code, stderr).toBe(0);
    expect(stderr).toBe('');
    oneLine(stdout);
    const json = JSON.parse(stdout);
    expect(Object.keys(json)).toEqual(['format', 'version', 'artifact_name', 'device_types', 'compression', 'signature', 'provides', 'depends', 'payloads']);
    expect(json).toEqual({
      format: 'mender',
      version: 3,
      artifact_name: 'rel-2',
      device_types: ['board-a', 'board-b'],
      compression: 'gzip',
      signature: 'valid',
      provides: { artifact_name: 'rel-2', artifact_group: 'grp' },
      depends: { artifact_name: ['rel-1'], device_type: ['board-a', 'board-b'] },
      payloads: [
        {
          type: 'zephyr-image',
          provides: { 'rootfs-image.zephyr-image.version': 'rel-2', 'zephyr-image.version': '2.0.0' },
          depends: { 'zephyr-image.version': ['1.0.0', '1.1.0'] },
          clears_provides: ['zephyr-image.*', 'rootfs-image.zephyr-image.*'],
          meta_data: { slot: 1 },
          files: [
            { name: 'app.bin', size: 5000, sha256: sha256Hex(app) },
            { name: 'empty', size: 0, sha256: sha256Hex(new Uint8Array(0)) },
          ],
        },
      ],
    });
    expect(Object.keys(json.payloads[0])).toEqual(['type', 'provides', 'depends', 'clears_provides', 'meta_data', 'files']);
  });

  it('says "not-checked" for a signed artifact without --key, "unsigned" for an unsigned one (exit 0)', async () => {
    const signed = await cli([ours('signed2.mender', true, 'none'), '--json']);
    expect([signed.code, JSON.parse(signed.stdout).signature, JSON.parse(signed.stdout).compression]).toEqual([0, 'not-checked', 'none']);
    const unsigned = await cli([ours('unsigned.mender', false), '--json']);
    expect([unsigned.code, JSON.parse(unsigned.stdout).signature]).toEqual([0, 'unsigned']);
  });

  it('prints the facts with "invalid" and one stderr line, exit 1, for a wrong key', async () => {
    const { code, stdout, stderr } = await cli([fixture('rootfs-gzip-signed-ecdsa-p256.mender'), '--key', ecPub, '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ artifact_name: 'fx-rootfs-ecdsa', signature: 'invalid' });
    expect(stderr).toMatch(/^ota-mcu inspect: signature-invalid: /);
    oneLine(stderr);
  });

  it('checks the fixtures signatures with their keys', async () => {
    for (const [name, key] of [['rootfs-gzip-signed-ecdsa-p256.mender', 'ecdsa-p256-public.pem'], ['rootfs-gzip-signed-rsa3072.mender', 'rsa3072-public.pem']]) {
      const { code, stdout, stderr } = await cli([fixture(name!), '--key', fixture(key!), '--json']);
      expect(code, stderr).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({
        signature: 'valid',
        payloads: [{ type: 'rootfs-image', files: [{ name: 'rootfs.ext4', size: 16384, sha256: '90b834666bd99804aad5f0d312a8862f91872e635fd6063d42fe787c4e1d84ee' }] }],
      });
    }
  });

  it('prints "unsigned" and fails when --key is given for an unsigned artifact', async () => {
    const { code, stdout, stderr } = await cli([fixture('rootfs-gzip-unsigned.mender'), '--key', fixture('ecdsa-p256-public.pem'), '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).signature).toBe('unsigned');
    expect(stderr).toMatch(/^ota-mcu inspect: signature-missing: /);
  });
});

describe('ota-mcu inspect failures: exit 1, one line naming the problem, nothing on stdout', () => {
  it.each([
    ['the corrupt payload fixture', [fixture('rootfs-none-unsigned-CORRUPT-payload.mender')], /checksum-mismatch: .*rootfs\.ext4/],
    ['an xz artifact', [fixture('rootfs-lzma-unsigned.mender')], /artifact-unsupported: .*xz/],
    ['a missing file', [join('/nonexistent', 'x.mender')], /ENOENT/],
    ['a key file that is not a public key', [fixture('rootfs-none-unsigned.mender'), '--key', fixture('rootfs-none-unsigned.mender')], /--key .*: PEM/],
    ['no artifact', [], /expected one ARTIFACT, got 0/],
    ['an unknown flag', [fixture('rootfs-none-unsigned.mender'), '--bogus'], /Unknown option '--bogus'/],
  ])('%s', async (_, argv, message) => {
    const { code, stdout, stderr } = await cli([...argv, '--json']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    oneLine(stderr);
  });

  it('a truncated artifact', async () => {
    const whole = writeArtifact({ artifactName: 'x', deviceTypes: ['d'], payloadType: 't', files: [{ name: 'a', data: app }], compression: 'none' });
    const path = join(dir, 'truncated.mender');
    writeFileSync(path, whole.subarray(0, whole.length - 3000));
    const { code, stdout, stderr } = await cli([path]);
    expect([code, stdout]).toEqual([1, '']);
    expect(stderr).toMatch(/^ota-mcu inspect: artifact-format: /);
    oneLine(stderr);
  });
});

describe('ota-mcu inspect, human output', () => {
  it('summarises name, signature, device types, payload and files', async () => {
    const { code, stdout } = await cli([ours('human.mender', true), '--key', ecPub]);
    expect(code).toBe(0);
    expect(stdout).toContain('rel-2: mender artifact v3, compression gzip');
    expect(stdout).toContain('signature:    valid');
    expect(stdout).toContain('device types: board-a, board-b');
    expect(stdout).toContain('payload 0: zephyr-image');
    expect(stdout).toContain(`app.bin  5000 bytes  sha256 ${sha256Hex(app)}`);
  });
});

describe('ota-mcu inspect streams', () => {
  it('feeds the reader 1 MiB reads, never the whole file', async () => {
    const path = join(dir, 'big.mender');
    const chunks: Uint8Array[] = [];
    writeArtifactTo(
      {
        artifactName: 'big', deviceTypes: ['d'], payloadType: 't', compression: 'none',
        files: [{ name: 'big.bin', size: 4 << 20, chunks: () => Array.from({ length: 64 }, (_, i) => new Uint8Array(65536).fill(i)) }],
      },
      (chunk) => chunks.push(chunk.slice()),
    );
    writeFileSync(path, Buffer.concat(chunks));
    const created = vi.mocked(createArtifactReader);
    created.mockClear();
    expect((await cli([path])).code).toBe(0);
    expect(created).toHaveBeenCalledTimes(1);
    const reader: ArtifactReader = created.mock.results[0]!.value;
    const sizes = vi.mocked(reader.write).mock.calls.map(([chunk]) => chunk.length);
    expect(READ_CHUNK_BYTES).toBe(1 << 20);
    expect(Math.max(...sizes)).toBe(READ_CHUNK_BYTES);
    expect(sizes.length).toBeGreaterThanOrEqual(5);
  });
});

describe('ota-mcu inspect on a host', () => {
  it('hashes with node:crypto and inflates with node:zlib (Node >= 20.15)', () => {
    expect(INSPECT_PLATFORM.sha256).toBe(sha256Node);
    expect(INSPECT_PLATFORM.inflate).toBe(inflateNode);
    expect(inflateNodeIsNative).toBe(typeof (zlib as { crc32?: unknown }).crc32 === 'function'); // zlib.crc32: Node >= 20.15
  });
});
