// Both directions against Debian's mender-artifact 3.9: artifacts it writes, read by `ota-mcu inspect`
// (the reader), and artifacts our writer writes, accepted and read back by it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { run as inspect, type InspectJson } from '../../simulator/cli/inspect.ts';
import { writeArtifact, type WriteArtifactOptions } from '../../simulator/artifact-writer.ts';
import { realTool } from '../real-tools.ts';
import { runCli } from '../cli/cli-harness.ts';
import { menderArtifact, menderRead, type MenderReadFacts } from '../core/artifact/mender-read.ts';

const HAS_TOOL = realTool('mender-artifact');

interface KeyFiles {
  privatePem: string; // path, in the PEM form mender-artifact 3.9 reads (PKCS#1 / SEC1)
  publicPem: string; // path, SPKI
}
let dir: string;
const keys: Record<'rsa2048' | 'rsa3072' | 'rsa4096' | 'ec' | 'otherEc', KeyFiles> = {} as never;

beforeAll(() => {
  if (!HAS_TOOL) return;
  dir = mkdtempSync(join(tmpdir(), 'ota-real-ma-'));
  const make = (name: keyof typeof keys, pair: ReturnType<typeof generateKeyPairSync>, type: 'pkcs1' | 'sec1') => {
    const privatePem = join(dir, `${name}.pem`);
    const publicPem = join(dir, `${name}.pub.pem`);
    writeFileSync(privatePem, String(pair.privateKey.export({ type, format: 'pem' })));
    writeFileSync(publicPem, String(pair.publicKey.export({ type: 'spki', format: 'pem' })));
    keys[name] = { privatePem, publicPem };
  };
  for (const bits of [2048, 3072, 4096] as const) make(`rsa${bits}`, generateKeyPairSync('rsa', { modulusLength: bits }), 'pkcs1');
  make('ec', generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'sec1');
  make('otherEc', generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'sec1');
});
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});


async function inspectJson(path: string, key?: string): Promise<{ code: number; json: InspectJson | undefined; stderr: string }> {
  const { code, stdout, stderr } = await runCli(inspect, [path, '--json', ...(key === undefined ? [] : ['--key', key])]);
  expect(stdout === '' || stdout.trimEnd().split('\n').length === 1, stdout).toBe(true);
  return { code, json: stdout === '' ? undefined : (JSON.parse(stdout) as InspectJson), stderr };
}


/** Checks that inspect's JSON says what `mender-artifact read` says. */
function expectSameFacts(json: InspectJson, read: MenderReadFacts): void {
  expect(json.artifact_name).toBe(read.name);
  expect(json.device_types).toEqual(read.deviceTypes);
  expect(json.provides.artifact_group ?? '').toBe(read.providesGroup);
  expect(json.depends.artifact_name ?? []).toEqual(read.dependsArtifacts);
  expect(json.depends.artifact_group ?? []).toEqual(read.dependsGroups);
  expect(json.payloads).toHaveLength(read.payloads.length);
  json.payloads.forEach((payload, i) => {
    const theirs = read.payloads[i]!;
    expect(payload.type).toBe(theirs.type);
    expect(payload.provides).toEqual(theirs.provides);
    expect(payload.depends).toEqual(theirs.depends);
    expect(payload.clears_provides).toEqual(theirs.clearsProvides);
    expect(payload.meta_data).toEqual(theirs.metaData);
    expect(payload.files).toEqual(theirs.files.map(({ name, size, checksum }) => ({ name, size, sha256: checksum })));
  });
}

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
let serial = 0;

/** Writes payload files and runs `mender-artifact write module-image`; returns the artifact path. */
function toolWrite(files: { name: string; data: Uint8Array }[], extra: string[] = []): string {
  const sub = join(dir, `in-${++serial}`);
  spawnSync('mkdir', ['-p', sub]);
  for (const file of files) writeFileSync(join(sub, file.name), file.data);
  const out = join(dir, `tool-${serial}.mender`);
  const result = menderArtifact(['write', 'module-image', '-n', `rel-${serial}`, '-t', 'board-a', '-T', 'single-file', ...files.flatMap((f) => ['-f', join(sub, f.name)]), ...extra, '-o', out]);
  expect(result.status, result.stderr).toBe(0);
  return out;
}

function bytesOf(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 131 + seed * 17 + (i >> 9)) & 255;
  return out;
}

describe.skipIf(!HAS_TOOL)('artifacts from mender-artifact, read by ota-mcu inspect', () => {
  it.each(['none', 'gzip'])('files of 0, 1, 511, 512, 513 bytes and larger multiples of 512 (%s)', async (compression) => {
    const files = [0, 1, 511, 512, 513, 1024, 4096, 65536, 1_048_576].map((size, i) => ({ name: `f${size}.bin`, data: bytesOf(size, i) }));
    const path = toolWrite(files, ['--compression', compression]);
    const { code, json, stderr } = await inspectJson(path);
    expect(code, stderr).toBe(0);
    expect(json!.compression).toBe(compression);
    expect(json!.signature).toBe('unsigned');
    expect(json!.payloads[0]!.files).toEqual(files.map((f) => ({ name: f.name, size: f.data.length, sha256: sha256Hex(f.data) })));
    expectSameFacts(json!, menderRead(path));
  });

  it('a file name longer than 100 bytes', async () => {
    const name = `${'long-name.'.repeat(15)}bin`; // 153 bytes: a PAX path record in the payload tar
    const path = toolWrite([{ name, data: bytesOf(700, 1) }], ['--compression', 'none']);
    const { code, json, stderr } = await inspectJson(path);
    expect(code, stderr).toBe(0);
    expect(json!.payloads[0]!.files.map((f) => f.name)).toEqual([name]);
  });

  it('twenty files in one payload, with every header option', async () => {
    const files = Array.from({ length: 20 }, (_, i) => ({ name: `part-${String(i).padStart(2, '0')}.bin`, data: bytesOf(100 * i + 3, i) }));
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ url: 'https://example.com/x', count: 3, list: ['a', 'b'] }));
    const path = toolWrite(files, ['-t', 'board-b', '-N', 'rel-0', '-g', 'grp-x', '-G', 'grp-y', '-p', 'single-file.abc.version:1.2',
      '-d', 'foo:bar', '--clears-provides', 'old.*', '-m', join(dir, 'meta.json')]);
    const { code, json, stderr } = await inspectJson(path);
    expect(code, stderr).toBe(0);
    expect(json!.payloads[0]!.files).toHaveLength(20);
    expect(json!.device_types).toEqual(['board-a', 'board-b']);
    expect(json!.payloads[0]!.meta_data).toEqual({ count: 3, list: ['a', 'b'], url: 'https://example.com/x' });
    expectSameFacts(json!, menderRead(path));
  });

  it.each([['rsa2048'], ['rsa3072'], ['rsa4096'], ['ec']] as const)('a %s signature: valid with the key, not-checked without, invalid with another key', async (name) => {
    const key = keys[name];
    for (const compression of ['none', 'gzip']) {
      const path = toolWrite([{ name: 'app.bin', data: bytesOf(5000, 2) }], ['--compression', compression, '-k', key.privatePem]);
      const good = await inspectJson(path, key.publicPem);
      expect([good.code, good.json!.signature], good.stderr).toEqual([0, 'valid']);
      expectSameFacts(good.json!, menderRead(path, ['-k', key.publicPem]));
      const unchecked = await inspectJson(path);
      expect([unchecked.code, unchecked.json!.signature]).toEqual([0, 'not-checked']);
      const wrong = await inspectJson(path, (name === 'ec' ? keys.otherEc : keys.ec).publicPem);
      expect(wrong.code).toBe(1);
      expect(wrong.json!.signature).toBe('invalid');
      expect(wrong.stderr).toMatch(/^ota-mcu inspect: signature-invalid: .*manifest/);
      expect(wrong.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });

  it('an unsigned artifact under --key fails as unsigned', async () => {
    const path = toolWrite([{ name: 'app.bin', data: bytesOf(10, 3) }]);
    const { code, json, stderr } = await inspectJson(path, keys.ec.publicPem);
    expect(code).toBe(1);
    expect(json!.signature).toBe('unsigned');
    expect(stderr).toMatch(/^ota-mcu inspect: signature-missing: /);
  });

  it('an edited manifest fails: the signature with the key, the checksum without', async () => {
    const path = toolWrite([{ name: 'app.bin', data: bytesOf(3000, 4) }], ['--compression', 'none', '-k', keys.ec.privatePem]);
    const bytes = new Uint8Array(readFileSync(path));
    // The manifest body starts at 1536 (version header + body, manifest header); its first line is
    // data/0000/app.bin's hash. Change one hex digit and keep the tar header checksum valid.
    expect(new TextDecoder().decode(bytes.subarray(1536 + 66, 1536 + 83))).toBe('data/0000/app.bin');
    bytes[1536] = bytes[1536] === 0x30 ? 0x31 : 0x30;
    const edited = join(dir, 'edited.mender');
    writeFileSync(edited, bytes);
    expect(menderArtifact(['validate', '-k', keys.ec.publicPem, edited]).status).not.toBe(0);
    const withKey = await inspectJson(edited, keys.ec.publicPem);
    expect(withKey.code).toBe(1);
    expect(withKey.stderr).toMatch(/signature-invalid/);
    const withoutKey = await inspectJson(edited);
    expect(withoutKey.code).toBe(1);
    expect(withoutKey.json).toBeUndefined();
    expect(withoutKey.stderr).toMatch(/^ota-mcu inspect: checksum-mismatch: .*data\/0000\/app\.bin/);
  });
});

describe.skipIf(!HAS_TOOL)('artifacts from our writer, read by mender-artifact', () => {
  const options = (compression: 'none' | 'gzip', signingKey?: string): WriteArtifactOptions => ({
    artifactName: `ours-${compression}`,
    deviceTypes: ['board-a', 'board-b'],
    payloadType: 'zephyr-image',
    files: [{ name: 'zephyr.signed.bin', data: bytesOf(70_000, 5) }, { name: 'notes.txt', data: new TextEncoder().encode('hello\n') }],
    provides: { 'zephyr-image.version': '1.1.0' },
    depends: { 'zephyr-image.version': '1.0.0' },
    clearsProvides: ['zephyr-image.*'],
    metaData: { slot: 1, tags: ['a', 'b'] },
    artifactNameDepends: ['ours-prev'],
    providesGroup: 'grp-x',
    dependsGroups: ['grp-y'],
    compression,
    ...(signingKey === undefined ? {} : { signingKey: readFileSync(signingKey, 'utf8') }),
  });

  it.each([
    ['none', undefined],
    ['gzip', undefined],
    ['none', 'ec'],
    ['gzip', 'ec'],
    ['none', 'rsa3072'],
    ['gzip', 'rsa2048'],
  ] as const)('%s, signed with %s: validated, and read gives the facts we wrote', async (compression, keyName) => {
    const key = keyName === undefined ? undefined : keys[keyName];
    const path = join(dir, `ours-${compression}-${keyName ?? 'unsigned'}.mender`);
    writeFileSync(path, writeArtifact(options(compression, key?.privatePem)));
    const validate = menderArtifact(['validate', ...(key === undefined ? [] : ['-k', key.publicPem]), path]);
    expect(validate.status, validate.stdout + validate.stderr).toBe(0);
    const facts = menderRead(path, key === undefined ? [] : ['-k', key.publicPem]);
    expect(facts.signature).toBe(key === undefined ? 'no signature' : 'signed and verified correctly');
    expect(facts).toMatchObject({ name: `ours-${compression}`, deviceTypes: ['board-a', 'board-b'], providesGroup: 'grp-x', dependsArtifacts: ['ours-prev'], dependsGroups: ['grp-y'] });
    expect(facts.payloads).toEqual([
      {
        type: 'zephyr-image',
        provides: { 'rootfs-image.zephyr-image.version': `ours-${compression}`, 'zephyr-image.version': '1.1.0' },
        depends: { 'zephyr-image.version': '1.0.0' },
        clearsProvides: ['zephyr-image.*', 'rootfs-image.zephyr-image.*'],
        metaData: { slot: 1, tags: ['a', 'b'] },
        files: [
          { name: 'zephyr.signed.bin', size: 70_000, checksum: sha256Hex(bytesOf(70_000, 5)) },
          { name: 'notes.txt', size: 6, checksum: sha256Hex(new TextEncoder().encode('hello\n')) },
        ],
      },
    ]);
    // And our reader agrees with the tool on the same file.
    const ours = await inspectJson(path, key?.publicPem);
    expect(ours.code, ours.stderr).toBe(0);
    expectSameFacts(ours.json!, facts);
  });

  it('a signed artifact of ours fails mender-artifact validate with another key', () => {
    const path = join(dir, 'ours-wrong-key.mender');
    writeFileSync(path, writeArtifact(options('gzip', keys.ec.privatePem)));
    expect(menderArtifact(['validate', '-k', keys.otherEc.publicPem, path]).status).not.toBe(0);
  });
});
