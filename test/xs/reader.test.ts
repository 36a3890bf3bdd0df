// The artifact reader inside the real Moddable XS engine, on the shared fixtures: the same facts
// and the same named errors as on Node, for any chunking, with the portable crypto and inflate
// running in XS.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XsHarness } from '../../simulator/xs/harness.ts';
import { readInNode, readInXs } from '../../simulator/xs/measure.ts';
import { fixture, MENDER_FIXTURES } from '../vectors.ts';

const ARTIFACTS = readdirSync(MENDER_FIXTURES).filter((name) => name.endsWith('.mender')).sort();
const pem = (name: string) => readFileSync(resolve(MENDER_FIXTURES, name), 'utf8');

/** The fixtures' payload patterns (SOURCES.md): byte i = (a*i+b) mod m. */
function pattern(size: number, a: number, b: number, m: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (a * i + b) % m;
  return out;
}
const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let harness: XsHarness;
beforeAll(async () => {
  harness = await XsHarness.start({ name: 'reader-test' });
});
afterAll(async () => harness?.close());

describe('artifact reader under XS: same results as on Node', () => {
  it('finds every fixture', () => {
    expect(ARTIFACTS.length).toBeGreaterThanOrEqual(10);
  });

  for (const name of ARTIFACTS) {
    it(name, async () => {
      const artifact = fixture(name);
      const node = await readInNode(artifact, 4096);
      const xs = await readInXs(harness, artifact, { chunkSize: 4096, digest: 'noble' });
      expect(xs.result).toEqual(node.result);
      expect(xs.compute).toBeGreaterThan(0);
    });
  }
});

describe('artifact reader under XS: known facts', () => {
  it('reads the uncompressed rootfs fixture: name, device type, payload hash', async () => {
    const { result } = await readInXs(harness, fixture('rootfs-none-unsigned.mender'), { chunkSize: 4096, digest: 'noble' });
    expect(result.error).toBeUndefined();
    expect(result.facts).toMatchObject({ version: 3, artifactName: 'fx-rootfs-none', deviceTypes: ['fx-device'], compression: 'none', signature: 'unsigned' });
    expect(result.facts?.files).toEqual([
      { payloadIndex: 0, name: 'rootfs.ext4', size: 16384, sha256: sha256Hex(pattern(16384, 7, 3, 251)) },
    ]);
    expect(result.sinkBytes).toBe(16384);
  });

  it('inflates gzip in XS (fflate) and gets the same payload', async () => {
    const { result } = await readInXs(harness, fixture('rootfs-gzip-unsigned.mender'), { chunkSize: 4096, digest: 'noble' });
    expect(result.facts).toMatchObject({ compression: 'gzip', artifactName: 'fx-rootfs-gzip' });
    expect(result.facts?.files[0]?.sha256).toBe(sha256Hex(pattern(16384, 7, 3, 251)));
  });

  it('gives the same result for chunkings 1, 7, 512 and seeded random sizes', async () => {
    for (const name of ['rootfs-none-unsigned.mender', 'module-gzip-meta-depends-script.mender']) {
      const artifact = fixture(name);
      const reference = (await readInXs(harness, artifact, { chunkSize: 4096, digest: 'noble' })).result;
      expect(reference.error).toBeUndefined();
      for (const chunkSize of [1, 7, 512]) {
        expect((await readInXs(harness, artifact, { chunkSize, digest: 'noble' })).result, `${name} in ${chunkSize}-byte chunks`).toEqual(reference);
      }
      const { value } = await harness.job<{ facts: unknown }>('readArtifact', { artifact, chunking: { seed: 7, max: 3000 }, digest: 'noble' });
      expect(value.facts).toEqual(reference.facts);
    }
  });

  it('module-image with meta-data and depends: the payload file and its type', async () => {
    const { result } = await readInXs(harness, fixture('module-gzip-meta-depends-script.mender'), { chunkSize: 4096, digest: 'noble' });
    expect(result.facts).toMatchObject({ artifactName: 'fx-module-1', deviceTypes: ['fx-device', 'fx-device-b'] });
    expect(result.facts?.payloads[0]?.type).toBe('single-file');
    expect(result.facts?.files).toEqual([{ payloadIndex: 0, name: 'app.bin', size: 6000, sha256: sha256Hex(pattern(6000, 13, 5, 253)) }]);
  });

  it('verifies ECDSA P-256 and RSA-3072 signatures in XS, and rejects a wrong key', async () => {
    const ecdsa = pem('ecdsa-p256-public.pem');
    const rsa = pem('rsa3072-public.pem');
    for (const [name, key] of [
      ['rootfs-gzip-signed-ecdsa-p256.mender', ecdsa],
      ['rootfs-none-signed-ecdsa-p256.mender', ecdsa],
      ['rootfs-gzip-signed-rsa3072.mender', rsa],
      ['module-gzip-augmented-signed-ecdsa-p256.mender', ecdsa],
    ] as const) {
      const good = await readInXs(harness, fixture(name), { chunkSize: 4096, digest: 'noble', keyPem: key });
      expect(good.result.error, name).toBeUndefined();
      expect(good.result.facts?.signature, name).toBe('valid');
      const wrong = await readInXs(harness, fixture(name), { chunkSize: 4096, digest: 'noble', keyPem: key === ecdsa ? rsa : ecdsa });
      expect(wrong.result.error?.code, name).toMatch(/^signature-invalid$/);
      expect(wrong.result.sinkBytes, `${name}: no payload byte before the signature`).toBe(0);
    }
  });

  it('refuses an unsigned artifact when a key is set', async () => {
    const { result } = await readInXs(harness, fixture('rootfs-none-unsigned.mender'), { chunkSize: 4096, digest: 'noble', keyPem: pem('ecdsa-p256-public.pem') });
    expect(result.error?.code).toBe('signature-missing');
  });

  it('fails the corrupt payload with a checksum error naming the file, and discards what it streamed', async () => {
    const { result } = await readInXs(harness, fixture('rootfs-none-unsigned-CORRUPT-payload.mender'), { chunkSize: 4096, digest: 'noble' });
    expect(result.error?.name).toBe('OtaError');
    expect(result.error?.code).toBe('checksum-mismatch');
    expect(result.error?.message).toMatch(/rootfs\.ext4/);
    expect(result.error?.message).toMatch(/90b83466/);
    expect(result.discards).toBe(1);
  });

  it('refuses lzma (xz) naming the compression', async () => {
    const { result } = await readInXs(harness, fixture('rootfs-lzma-unsigned.mender'), { chunkSize: 4096, digest: 'noble' });
    expect(result.error?.code).toBe('artifact-unsupported');
    expect(result.error?.message).toMatch(/xz/);
  });

  it('a truncated artifact fails as artifact-format, never hangs', async () => {
    const artifact = fixture('rootfs-gzip-unsigned.mender').subarray(0, 3000);
    const node = await readInNode(artifact, 4096);
    const xs = await readInXs(harness, artifact, { chunkSize: 4096, digest: 'noble' });
    expect(xs.result.error?.code).toBe('artifact-format');
    expect(xs.result).toEqual(node.result);
  });

  it('the host (native) digest gives the same facts as noble in XS', async () => {
    const artifact = fixture('rootfs-gzip-signed-ecdsa-p256.mender');
    const noble = await readInXs(harness, artifact, { chunkSize: 4096, digest: 'noble' });
    const host = await readInXs(harness, artifact, { chunkSize: 4096, digest: 'host' });
    expect(host.result).toEqual(noble.result);
  });
});
