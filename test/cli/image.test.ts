import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../../simulator/cli/image.ts';
import { runCli } from './cli-harness.ts';
import { MCUBOOT_VECTORS, mcubootVector } from '../vectors.ts';

const cli = (argv: string[]) => runCli(run, argv);
const vector = (name: string) => resolve(MCUBOOT_VECTORS, name);

interface VectorEntry {
  file: string;
  public_key: string | null;
  version: string;
  key_type: string | null;
  header: { hdr_size: number; img_size: number; protect_tlv_size: number };
  params?: { confirm?: boolean; pad: boolean };
  expected: { valid: boolean; hash_ok: boolean; signature_ok: boolean | null };
}
const index = JSON.parse(readFileSync(vector('index.json'), 'utf8')) as { vectors: VectorEntry[] };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ota-image-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ota-mcu image --json, every vector', () => {
  for (const v of index.vectors) {
    it(v.file, async () => {
      const args = [vector(v.file), '--json', ...(v.public_key === null ? [] : ['--key', vector(v.public_key)])];
      const { code, stdout, stderr } = await cli(args);
      expect(code).toBe(v.expected.valid ? 0 : 1);
      const trailer = v.params?.pad ? { magic: true, image_ok: v.params.confirm ? 'set' : 'unset', copy_done: 'unset' } : null;
      expect(stdout).toBe(
        JSON.stringify({
          version: v.version,
          header_size: v.header.hdr_size,
          image_size: v.header.img_size,
          protected_tlv_size: v.header.protect_tlv_size,
          hash: v.expected.hash_ok ? 'valid' : 'invalid',
          signature: v.expected.signature_ok === null ? 'absent' : v.expected.signature_ok ? 'valid' : 'invalid',
          signature_type: v.key_type,
          trailer,
        }) + '\n',
      );
      if (v.expected.valid) expect(stderr).toBe('');
      else expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    });
  }
});

describe('ota-mcu image', () => {
  it('names the failed check in one line', async () => {
    let r = await cli([vector('ed25519-signed-corrupt-payload.bin'), '--key', vector('ed25519.pub.pem')]);
    expect(r.stderr).toBe(`ota-mcu image: ${vector('ed25519-signed-corrupt-payload.bin')}: hash mismatch: SHA256 TLV 2aa54e59e677d0104bc4b074453b6116b0bc0e766e07bc5f58d32241710d2ee0, computed a082d376e7d6fe89d24ab9385014c96822d51a825dc6fd6b0c4fb0814cd817cb over bytes [0, 3512)\n`);
    r = await cli([vector('ed25519-signed-corrupt-signature.bin'), '--key', vector('ed25519.pub.pem')]);
    expect(r.stderr).toBe(`ota-mcu image: ${vector('ed25519-signed-corrupt-signature.bin')}: ED25519 signature TLV does not verify with the ed25519 key\n`);
  });

  it('without --key a signed image is valid on its hash and the signature is not checked', async () => {
    const r = await cli([vector('ed25519-signed.bin'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ hash: 'valid', signature: 'not-checked', signature_type: 'ed25519' });
    // ... and the corrupt signature passes too: nothing checks it.
    expect((await cli([vector('ed25519-signed-corrupt-signature.bin')])).code).toBe(0);
  });

  it('with a key the image was not signed by: exit 1', async () => {
    const r = await cli([vector('ed25519-signed.bin'), '--key', vector('ecdsa-p256.pub.pem')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/signed with ED25519, but the ecdsa-p256 key needs a ECDSA_SIG signature TLV\n$/);
    const unsigned = await cli([vector('unsigned-sha256.bin'), '--key', vector('rsa-2048.pub.pem')]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/no RSA2048_PSS signature TLV: the image is not signed\n$/);
  });

  it('the trailer alignment: inferred from the magic, or taken from --align', async () => {
    const a32 = vector('unsigned-padded-align32-confirm.bin');
    expect(JSON.parse((await cli([a32, '--json'])).stdout).trailer).toEqual({ magic: true, image_ok: 'set', copy_done: 'unset' });
    expect(JSON.parse((await cli([a32, '--json', '--align', '32'])).stdout).trailer).toEqual({ magic: true, image_ok: 'set', copy_done: 'unset' });
    // Read at A=8 the A=32 magic is not the A=8 one, and S-24 is magic padding (erased).
    expect(JSON.parse((await cli([a32, '--json', '--align', '8'])).stdout).trailer).toEqual({ magic: false, image_ok: 'unset', copy_done: 'unset' });
  });

  it('a padded file with an erased trailer, and one with bad flags', async () => {
    const image = mcubootVector('ed25519-padded-test.bin');
    image.fill(0xff, image.length - 16);
    const erased = join(dir, 'erased.bin');
    writeFileSync(erased, image);
    expect(JSON.parse((await cli([erased, '--json'])).stdout).trailer).toEqual({ magic: false, image_ok: 'unset', copy_done: 'unset' });
    const bad = mcubootVector('ed25519-padded-confirm.bin');
    bad[bad.length - 24] = 0x02;
    bad[bad.length - 32] = 0x01;
    const badPath = join(dir, 'bad.bin');
    writeFileSync(badPath, bad);
    expect(JSON.parse((await cli([badPath, '--json'])).stdout).trailer).toEqual({ magic: true, image_ok: 'bad', copy_done: 'set' });
  });

  it('a foreign file: nulls in --json, exit 1', async () => {
    const path = join(dir, 'foreign.bin');
    writeFileSync(path, new Uint8Array(100).fill(0x41));
    const r = await cli([path, '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('{"version":null,"header_size":null,"image_size":null,"protected_tlv_size":null,"hash":"invalid","signature":"absent","signature_type":null,"trailer":null}\n');
    expect(r.stderr).toBe(`ota-mcu image: ${path}: MCUboot header ih_magic: expected 0x96f3b83d, got 0x41414141\n`);
  });

  it('a human summary without --json', async () => {
    const r = await cli([vector('ed25519-padded-confirm.bin'), '--key', vector('ed25519.pub.pem')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '2.0.0+1: MCUboot image, header 512 bytes, payload 1500 bytes, protected TLVs 0 bytes\n' +
        '  hash:      valid\n' +
        '  signature: valid (ed25519)\n' +
        '  trailer:   magic good, image_ok set, copy_done unset\n',
    );
  });

  it('usage errors and unreadable inputs: one line, exit 1', async () => {
    for (const args of [[], ['a', 'b'], [vector('ed25519-signed.bin'), '--align', '3'], [join(dir, 'missing.bin')], [vector('ed25519-signed.bin'), '--key', vector('index.json')], ['--bogus']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^ota-mcu image: [^\n]+\n$/);
    }
  });
});
