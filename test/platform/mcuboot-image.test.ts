import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MCUBOOT_VECTORS, mcubootVector } from '../vectors.ts';
import { McubootImageVerifier, mcubootKeyBytes, parseMcubootHeader, type McubootVerdict } from '../../platform/mcuboot-image.ts';
import { parseTrailer, trailerLayout } from '../../platform/mcuboot-trailer.ts';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import { verifierNoble } from '../../platform/verifier-noble.ts';
import { sha256Noble } from '../../platform/digest-noble.ts';
import { isOtaError } from '../../base/errors.ts';
import { toHex } from '../../base/bytes.ts';
import type { PublicKey, Verifier } from '../../platform/verifier.ts';

interface VectorEntry {
  file: string;
  public_key: string | null;
  version: string;
  header: { hdr_size: number; img_size: number; protect_tlv_size: number; load_addr: number; flags: number };
  image_end: number;
  params: { slot_size: number; max_align?: number; confirm?: boolean; pad: boolean };
  trailer: null | Record<string, number | string | boolean>;
  expected: { valid: boolean; hash_ok: boolean; keyhash_ok: boolean | null; signature_ok: boolean | null };
}
const index = JSON.parse(readFileSync(resolve(MCUBOOT_VECTORS, 'index.json'), 'utf8')) as {
  vectors: VectorEntry[];
  keys: Record<string, { keyhash_sha256: string }>;
};

const key = (name: string): PublicKey => parsePublicKeyPem(readFileSync(resolve(MCUBOOT_VECTORS, name), 'utf8'));

async function verify(image: Uint8Array, options: { key?: PublicKey; chunk?: number; maxImageBytes?: number; verifier?: Verifier } = {}): Promise<McubootVerdict> {
  const v = new McubootImageVerifier({ sha256: sha256Noble, verifier: options.verifier ?? verifierNoble, key: options.key, maxImageBytes: options.maxImageBytes });
  const chunk = options.chunk ?? image.length;
  for (let at = 0; at < image.length; at += chunk) v.write(image.subarray(at, at + chunk));
  return v.end();
}

describe('MCUboot vectors, judged as index.json says', () => {
  for (const vector of index.vectors) {
    it(vector.file, async () => {
      const image = mcubootVector(vector.file);
      const withKey = vector.public_key === null ? undefined : key(vector.public_key);
      const verdict = await verify(image, { key: withKey });
      const { expected } = vector;
      expect(verdict.hash).toBe(expected.hash_ok ? 'valid' : 'invalid');
      expect(verdict.signature).toBe(expected.signature_ok === null ? 'absent' : expected.signature_ok ? 'valid' : 'invalid');
      expect(verdict.keyHashMatches).toBe(expected.keyhash_ok);
      expect(verdict.valid).toBe(expected.valid);
      expect(verdict.problem === undefined).toBe(expected.valid);
      expect(verdict.info).toEqual({
        version: vector.version,
        headerSize: vector.header.hdr_size,
        imageSize: vector.header.img_size,
        protectedTlvSize: vector.header.protect_tlv_size,
        loadAddr: vector.header.load_addr,
        flags: vector.header.flags,
        totalSize: vector.image_end,
      });
      if (withKey !== undefined) expect(verdict.signatureType).toBe(withKey.type === 'rsa' ? 'rsa-2048' : withKey.type);
      else expect(verdict.signatureType).toBeNull();
    });
  }

  it('the trailers of the padded vectors, at the alignment each was padded with', () => {
    for (const vector of index.vectors.filter((v) => v.trailer !== null)) {
      const image = mcubootVector(vector.file);
      const layout = trailerLayout({ slotBytes: vector.params.slot_size, writeGranule: vector.params.max_align!, maxImageSectors: 128 });
      const state = parseTrailer(image.subarray(layout.swapSizeOffset), layout);
      expect(state, vector.file).toEqual({
        magic: 'good',
        imageOk: vector.params.confirm ? 'set' : 'unset',
        copyDone: 'unset',
        swapType: 'none',
        imageIndex: 0,
        swapSize: undefined,
      });
      // index.json's raw bytes at the A=8 offsets it lists
      const t = vector.trailer!;
      expect(image[t.image_ok_off as number]).toBe(t.image_ok);
      expect(image[t.copy_done_off as number]).toBe(t.copy_done);
      expect(toHex(image.subarray(vector.params.slot_size - 16))).toBe(t.magic_hex);
    }
  });

  it('a verdict does not depend on how the stream is split', async () => {
    const signed = mcubootVector('ed25519-protected-tlvs.bin');
    const k = key('ed25519.pub.pem');
    for (const chunk of [1, 3, 4, 7, 31, 32, 33, 512, 513]) {
      const verdict = await verify(signed, { key: k, chunk });
      expect([chunk, verdict.valid, verdict.problem]).toEqual([chunk, true, undefined]);
    }
    const corrupt = mcubootVector('ed25519-signed-corrupt-signature.bin');
    for (const chunk of [1, 5, 64]) expect((await verify(corrupt, { key: k, chunk })).signature).toBe('invalid');
  });

  it('KEYHASH is SHA-256 of SPKI DER (ed25519, P-256) and of PKCS#1 DER (RSA)', () => {
    for (const [name, facts] of Object.entries(index.keys)) {
      const d = sha256Noble();
      d.update(mcubootKeyBytes(key(name)));
      expect(toHex(d.digest()), name).toBe(facts.keyhash_sha256);
    }
  });
});

describe('McubootImageVerifier: bad images and keys', () => {
  const ed = () => key('ed25519.pub.pem');

  it('without a key, a signed image is valid on its hash and the signature is not checked', async () => {
    const verdict = await verify(mcubootVector('ed25519-signed.bin'));
    expect(verdict).toMatchObject({ valid: true, hash: 'valid', signature: 'not-checked', signatureType: 'ed25519', keyHashMatches: null });
  });

  it('with a key, an unsigned image is rejected: no signature TLV', async () => {
    const verdict = await verify(mcubootVector('unsigned-sha256.bin'), { key: ed() });
    expect(verdict).toMatchObject({ valid: false, hash: 'valid', signature: 'absent' });
    expect(verdict.problem).toMatch(/no ED25519 signature TLV/);
  });

  it('a key of another type: the signature TLV it needs is missing', async () => {
    const verdict = await verify(mcubootVector('ed25519-signed.bin'), { key: key('ecdsa-p256.pub.pem') });
    expect(verdict).toMatchObject({ valid: false, signature: 'invalid', keyHashMatches: false, signatureType: 'ed25519' });
    expect(verdict.problem).toMatch(/signed with ED25519, but the ecdsa-p256 key needs a ECDSA_SIG/);
  });

  it('another key of the same type: KEYHASH does not match, the signature is skipped, the image rejected', async () => {
    const other: PublicKey = { type: 'ed25519', raw: new Uint8Array(32).fill(7) };
    const verdict = await verify(mcubootVector('ed25519-signed.bin'), { key: other });
    expect(verdict).toMatchObject({ valid: false, hash: 'valid', signature: 'invalid', keyHashMatches: false });
    expect(verdict.problem).toMatch(/KEYHASH does not match the key/);
  });

  it('hash mismatch names both digests and stops before the signature', async () => {
    let calls = 0;
    const counting: Verifier = { verify: (...args) => (calls++, verifierNoble.verify(...args)) };
    const verdict = await verify(mcubootVector('ed25519-signed-corrupt-payload.bin'), { key: ed(), verifier: counting });
    expect(verdict.problem).toBe(
      'hash mismatch: SHA256 TLV 2aa54e59e677d0104bc4b074453b6116b0bc0e766e07bc5f58d32241710d2ee0, computed a082d376e7d6fe89d24ab9385014c96822d51a825dc6fd6b0c4fb0814cd817cb over bytes [0, 3512)',
    );
    expect(calls).toBe(0);
  });

  it('bad header magic', async () => {
    const image = mcubootVector('ed25519-signed.bin');
    image[0] ^= 1;
    const verdict = await verify(image, { key: ed() });
    expect(verdict).toMatchObject({ valid: false, hash: 'invalid', signature: 'absent' });
    expect(verdict.info).toBeUndefined();
    expect(verdict.problem).toBe('MCUboot header ih_magic: expected 0x96f3b83d, got 0x96f3b83c');
  });

  it('NON_BOOTABLE and encrypted flags are refused', async () => {
    for (const [flag, word] of [[0x10, 'NON_BOOTABLE'], [0x4, 'encrypted']] as const) {
      const image = mcubootVector('unsigned-sha256.bin');
      image[16] = flag;
      const verdict = await verify(image);
      expect(verdict.valid).toBe(false);
      expect(verdict.problem).toContain(word);
    }
  });

  it('truncated images: in the header, the payload and the TLVs', async () => {
    const image = mcubootVector('ed25519-signed.bin');
    for (const length of [0, 20, 600, 3512, 3515, 3600, 3655]) {
      const verdict = await verify(image.subarray(0, length), { key: ed() });
      expect(verdict.valid, `${length}`).toBe(false);
      expect(verdict.problem, `${length}`).toMatch(/^image truncated: /);
    }
    expect((await verify(image.subarray(0, 3600), { key: ed() })).problem).toBe('image truncated: 3600 bytes, expected 3656');
  });

  it('bytes after the image (padding, trailer) are ignored', async () => {
    const image = mcubootVector('ed25519-padded-test.bin');
    expect((await verify(image, { key: ed(), chunk: 1000 })).valid).toBe(true);
  });

  it('a wrong TLV info magic, and a protected size that does not match its area', async () => {
    const image = mcubootVector('ed25519-signed.bin');
    image[3512] = 0x00;
    expect((await verify(image)).problem).toBe('TLV info at byte 3512: expected magic 0x6907, got 0x6900');

    const prot = mcubootVector('ed25519-protected-tlvs.bin');
    prot[10] = 24; // ih_protect_tlv_size 20 -> 24
    expect((await verify(prot)).problem).toBe('protected TLV info at byte 2560: it_tlv_tot 20 != ih_protect_tlv_size 24');

    const missing = mcubootVector('ed25519-signed.bin');
    missing[10] = 20; // says protected TLVs exist, but the first info is 0x6907
    expect((await verify(missing)).problem).toBe('TLV info at byte 3512: expected protected magic 0x6908 (ih_protect_tlv_size 20), got 0x6907');
  });

  it('a TLV running past the area end, and a SHA256 TLV of the wrong length', async () => {
    const image = mcubootVector('ed25519-signed.bin');
    image[3592 - 2] = 65; // ED25519 TLV length 64 -> 65
    expect((await verify(image)).problem).toBe('TLV 0x0024 at byte 3588: length 65 runs past the TLV area end 3656');

    const short = mcubootVector('unsigned-sha256.bin');
    short[1266 + 4 + 2] = 31; // SHA256 len 32 -> 31, and the area grows by nothing: the last byte becomes stray
    const verdict = await verify(short);
    expect(verdict.valid).toBe(false);
    expect(verdict.problem).toBe('TLV 0x0010 at byte 1270: SHA256 length expected 32, got 31');
  });

  it('an image without a SHA256 TLV is rejected', async () => {
    const image = mcubootVector('unsigned-sha256.bin');
    image[1270] = 0x11; // SHA256 -> SHA384 type, which this verifier does not take
    const verdict = await verify(image);
    expect(verdict).toMatchObject({ valid: false, hash: 'invalid' });
    expect(verdict.problem).toBe('no SHA256 TLV: the image hash is mandatory');
  });

  it('the TLV end must fit the slot capacity', async () => {
    const image = mcubootVector('ed25519-signed.bin');
    expect((await verify(image, { maxImageBytes: 3656 })).valid).toBe(true);
    expect((await verify(image, { maxImageBytes: 3655 })).problem).toBe("TLV area ends at byte 3656, beyond the slot's 3655 bytes for an image");
    expect((await verify(image, { maxImageBytes: 3000 })).problem).toMatch(/does not fit the slot's 3000 bytes/);
  });

  it('keys MCUboot cannot be built with, and a key without a verifier, are programmer errors', () => {
    const rsa3072: PublicKey = { type: 'rsa', modulus: new Uint8Array(384).fill(0xc1), exponent: Uint8Array.of(1, 0, 1), bits: 3072 };
    expect(() => new McubootImageVerifier({ sha256: sha256Noble, verifier: verifierNoble, key: rsa3072 })).toThrow(/got rsa 3072/);
    expect(() => new McubootImageVerifier({ sha256: sha256Noble, key: ed() })).toThrow(TypeError);
  });

  it('misuse throws: write after end, end twice', async () => {
    const v = new McubootImageVerifier({ sha256: sha256Noble, verifier: verifierNoble });
    v.write(mcubootVector('unsigned-sha256.bin'));
    await v.end();
    expect(() => v.write(new Uint8Array(1))).toThrow(/after end/);
    await expect(v.end()).rejects.toThrow(/twice/);
  });
});

describe('parseMcubootHeader', () => {
  it('reads the fields, and totalSize once the bytes reach the TLV info', () => {
    const image = mcubootVector('ed25519-protected-tlvs.bin');
    expect(parseMcubootHeader(image.subarray(0, 32))).toEqual({
      version: '1.2.3+4', headerSize: 512, imageSize: 2048, protectedTlvSize: 20, loadAddr: 0, flags: 0, totalSize: 0,
    });
    expect(parseMcubootHeader(image).totalSize).toBe(2724);
  });

  it('OtaError image-invalid naming the field', () => {
    const image = mcubootVector('unsigned-sha256.bin');
    image[8] = 16; // ih_hdr_size 32 -> 16
    let error: unknown;
    try {
      parseMcubootHeader(image);
    } catch (e) {
      error = e;
    }
    expect(isOtaError(error, 'image-invalid')).toBe(true);
    expect((error as Error).message).toBe('MCUboot header ih_hdr_size: expected at least 32, got 16');
    expect(() => parseMcubootHeader(new Uint8Array(31))).toThrow(RangeError);
  });
});
