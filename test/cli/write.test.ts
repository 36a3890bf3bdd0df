import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { run } from '../../simulator/cli/write.ts';
import { runCli } from './cli-harness.ts';
import { writeArtifact } from '../../simulator/artifact-writer.ts';
import { fromUtf8 } from '../../base/bytes.ts';
import { realTool } from '../real-tools.ts';

const cli = (argv: string[]) => runCli(run, argv);

// The manifest names every entry's hash, so equal manifests mean equal header and payload contents.
function manifestOf(artifact: Uint8Array): string {
  const size = parseInt(fromUtf8(artifact.subarray(1024 + 124, 1024 + 135)), 8);
  expect(fromUtf8(artifact.subarray(1024, 1032))).toBe('manifest');
  return fromUtf8(artifact.subarray(1536, 1536 + size));
}

let dir: string;
let ecKey: string;
let ecPub: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ota-write-cli-'));
  writeFileSync(join(dir, 'app.bin'), new Uint8Array(70_000).map((_, i) => (i * 13) & 255));
  writeFileSync(join(dir, 'extra.txt'), 'extra\n');
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ url: 'https://x/y', count: 3 }));
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  ecKey = join(dir, 'ec.pem');
  ecPub = join(dir, 'ec.pub.pem');
  writeFileSync(ecKey, String(ec.privateKey.export({ type: 'sec1', format: 'pem' })));
  writeFileSync(ecPub, String(ec.publicKey.export({ type: 'spki', format: 'pem' })));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE_ARGS = () => ['module-image', '-n', 'rel-1', '-t', 'devA', '-t', 'devB', '-T', 'single-file', '-f', join(dir, 'app.bin')];

describe('ota-mcu write module-image', () => {
  it('writes what writeArtifact writes for the same flags', async () => {
    const out = join(dir, 'cli.mender');
    const args = [...BASE_ARGS(), '-f', join(dir, 'extra.txt'), '-p', 'single-file.abc.version:1:2', '--depends', 'foo:bar',
      '--clears-provides', 'x.*', '-m', join(dir, 'meta.json'), '-N', 'rel-0', '-g', 'grpX', '-G', 'grpY', '--compression', 'none', '-o', out];
    const result = await cli(args);
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
    const files = ['app.bin', 'extra.txt'].map((name) => ({ name, data: new Uint8Array(readFileSync(join(dir, name))) }));
    const expected = writeArtifact({
      artifactName: 'rel-1', deviceTypes: ['devA', 'devB'], payloadType: 'single-file', files,
      provides: { 'single-file.abc.version': '1:2' }, depends: { foo: 'bar' }, clearsProvides: ['x.*'],
      metaData: { url: 'https://x/y', count: 3 }, artifactNameDepends: ['rel-0'], providesGroup: 'grpX', dependsGroups: ['grpY'],
      compression: 'none',
    });
    expect(manifestOf(new Uint8Array(readFileSync(out)))).toBe(manifestOf(expected));
  });

  it('defaults to gzip', async () => {
    const out = join(dir, 'default.mender');
    expect((await cli([...BASE_ARGS(), '-o', out])).code).toBe(0);
    expect(manifestOf(new Uint8Array(readFileSync(out)))).toMatch(/  header\.tar\.gz\n/);
  });

  it.each([
    [['module-image', '-t', 'd', '-T', 't', '-o', 'x'], /-n\/--artifact-name is required/],
    [['module-image', '-n', 'n', '-T', 't', '-o', 'x'], /-t\/--device-type is required/],
    [['module-image', '-n', 'n', '-t', 'd', '-o', 'x'], /-T\/--type is required/],
    [['module-image', '-n', 'n', '-t', 'd', '-T', 't'], /-o\/--output-path is required/],
    [['module-image', '-n', 'n', '-t', 'd', '-T', 't', '-o', 'x', '--compression', 'lzma'], /--compression "lzma" is not supported.*64 MiB dictionary/],
    [['module-image', '-n', 'n', '-t', 'd', '-T', 't', '-o', 'x', '-p', 'novalue'], /--provides expected KEY:VALUE, got "novalue"/],
    [['module-image', '-n', 'n', '-t', 'd', '-T', 't', '-o', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['rootfs-image'], /expected "module-image", got "rootfs-image"/],
    [['module-image', '-n', 'n', '-t', 'd', '-T', 't', '-o', 'x', '-f', '/nonexistent/file'], /ENOENT.*\/nonexistent\/file/],
  ])('%o fails with one line on stderr', async (argv, message) => {
    const result = await cli(argv.map((a) => (a === 'x' ? join(dir, 'never.mender') : a)));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'never.mender'))).toBe(false);
  });

  it('leaves no file behind when writing fails midway', async () => {
    writeFileSync(join(dir, 'bad.pem'), 'not a key');
    const out = join(dir, 'bad.mender');
    const result = await cli([...BASE_ARGS(), '-k', join(dir, 'bad.pem'), '-o', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ota-mcu write: signing key: expected a PEM private key/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('rejects meta-data that is not a JSON object', async () => {
    writeFileSync(join(dir, 'list.json'), '[1,2]');
    const result = await cli([...BASE_ARGS(), '-m', join(dir, 'list.json'), '-o', join(dir, 'm.mender')]);
    expect(result.stderr).toMatch(/--meta-data .*list\.json: expected a JSON object, got an array/);
  });
});

describe.skipIf(!realTool('mender-artifact'))('ota-mcu write output, read by mender-artifact', () => {
  it.each(['none', 'gzip'])('is validated with -k and read back (%s)', async (compression) => {
    const out = join(dir, `signed-${compression}.mender`);
    expect((await cli([...BASE_ARGS(), '-k', ecKey, '--compression', compression, '-o', out])).code).toBe(0);
    const validate = spawnSync('mender-artifact', ['validate', '-k', ecPub, out], { encoding: 'utf8' });
    expect(validate.status, validate.stderr + validate.stdout).toBe(0);
    const read = spawnSync('mender-artifact', ['read', '-k', ecPub, out], { encoding: 'utf8' });
    expect(read.stdout).toContain('Signature: signed and verified correctly');
    expect(read.stdout).toContain("Compatible devices: '[devA devB]'");
    expect(read.stdout).toMatch(/name:\s+app\.bin\n\s+size:\s+70000\n/);
    expect(statSync(out).size % 512).toBe(0);
  });
});
