import { describe, it, expect } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { buildMcubootImage } from '../../simulator/mcuboot-imgtool.ts';
import { McubootImageVerifier, parseMcubootHeader, type McubootVerdict } from '../../platform/mcuboot-image.ts';
import { parseTrailer, trailerLayout } from '../../platform/mcuboot-trailer.ts';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import { verifierNoble } from '../../platform/verifier-noble.ts';
import { sha256Noble } from '../../platform/digest-noble.ts';
import { mcubootVector } from '../vectors.ts';
import { readU16LE } from '../../base/bytes.ts';
import type { PublicKey } from '../../platform/verifier.ts';

function keyPair(type: 'ed25519' | 'ec' | 'rsa'): { privateKeyPem: string; publicKey: PublicKey } {
  const { privateKey, publicKey } =
    type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKey: parsePublicKeyPem(publicKey.export({ type: 'spki', format: 'pem' }) as string),
  };
}

async function check(image: Uint8Array, key?: PublicKey): Promise<McubootVerdict> {
  const v = new McubootImageVerifier({ sha256: sha256Noble, verifier: verifierNoble, key });
  v.write(image);
  return v.end();
}

/**
 * The TLV areas as text: "info 6908 20", "tlv 10 32", ... ECDSA DER signatures vary by a byte or
 * two between signings, so their length and the area total that includes it are masked.
 */
function tlvLayout(image: Uint8Array): string[] {
  const info = parseMcubootHeader(image);
  const tlvStart = info.headerSize + info.imageSize;
  const infoAt = new Set([tlvStart, tlvStart + info.protectedTlvSize]); // 0x6908 (when present), 0x6907
  const rows: string[] = [];
  let ecdsa = false;
  for (let at = tlvStart; at < info.totalSize; ) {
    const [a, b] = [readU16LE(image, at), readU16LE(image, at + 2)];
    if (infoAt.has(at)) {
      rows.push(`info ${a.toString(16)} ${b}`);
      at += 4;
    } else {
      ecdsa ||= a === 0x22;
      rows.push(`tlv ${a.toString(16)} ${a === 0x22 ? 'der' : b}`);
      at += 4 + b;
    }
  }
  return ecdsa ? rows.map((row) => row.replace(/^info 6907 \d+$/, 'info 6907 *')) : rows;
}

describe('buildMcubootImage', () => {
  for (const type of ['ed25519', 'ec', 'rsa'] as const) {
    it(`a ${type} image is judged valid by the verifier, and invalid under another key`, async () => {
      const signer = keyPair(type);
      const image = buildMcubootImage({ version: '3.1.4+15', payload: new Uint8Array(5000).fill(0xa5), privateKeyPem: signer.privateKeyPem });
      const verdict = await check(image, signer.publicKey);
      expect(verdict).toMatchObject({ valid: true, hash: 'valid', signature: 'valid', keyHashMatches: true });
      expect(verdict.info?.version).toBe('3.1.4+15');
      const stranger = keyPair(type);
      expect((await check(image, stranger.publicKey)).valid).toBe(false);
    });
  }

  it('lays out the header and TLVs like the imgtool vectors (same version, payload, header size)', () => {
    const cases = [
      { file: 'ed25519-signed.bin', key: keyPair('ed25519') },
      { file: 'ecdsa-p256-signed.bin', key: keyPair('ec') },
      { file: 'rsa-2048-signed.bin', key: keyPair('rsa') },
      { file: 'unsigned-sha256.bin', key: undefined },
    ];
    for (const { file, key } of cases) {
      const vector = mcubootVector(file);
      const info = parseMcubootHeader(vector);
      const payload = vector.subarray(info.headerSize, info.headerSize + info.imageSize);
      const rebuilt = buildMcubootImage({ version: info.version, payload, headerSize: info.headerSize, privateKeyPem: key?.privateKeyPem });
      // Same header bytes and the same hashed region, so the same SHA256 TLV.
      expect(rebuilt.subarray(0, info.headerSize + info.imageSize), file).toEqual(vector.subarray(0, info.headerSize + info.imageSize));
      expect(tlvLayout(rebuilt), file).toEqual(tlvLayout(vector));
      if (key === undefined) expect(rebuilt).toEqual(vector);
    }
  });

  it('protected TLVs: byte-identical layout to the vector, and hashed', async () => {
    const vector = mcubootVector('ed25519-protected-tlvs.bin');
    const info = parseMcubootHeader(vector);
    const signer = keyPair('ed25519');
    const rebuilt = buildMcubootImage({
      version: info.version,
      payload: vector.subarray(512, 512 + info.imageSize),
      privateKeyPem: signer.privateKeyPem,
      protectedTlvs: [
        { type: 0x50, value: Uint8Array.of(7, 0, 0, 0) },
        { type: 0xa0, value: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) },
      ],
    });
    const hashedEnd = info.headerSize + info.imageSize + info.protectedTlvSize;
    expect(rebuilt.subarray(0, hashedEnd)).toEqual(vector.subarray(0, hashedEnd));
    expect(rebuilt.subarray(hashedEnd, hashedEnd + 40)).toEqual(vector.subarray(hashedEnd, hashedEnd + 40)); // info + SHA256 TLV
    expect(rebuilt.length).toBe(vector.length);
    expect(tlvLayout(rebuilt)).toEqual(['info 6908 20', 'tlv 50 4', 'tlv a0 4', 'info 6907 144', 'tlv 10 32', 'tlv 1 32', 'tlv 24 64']);
    expect((await check(rebuilt, signer.publicKey)).valid).toBe(true);
  });

  it('pad and confirm write the trailer imgtool writes (A=8 and A=32)', () => {
    const test = mcubootVector('ed25519-padded-test.bin');
    const confirm = mcubootVector('ed25519-padded-confirm.bin');
    const info = parseMcubootHeader(test);
    const payload = test.subarray(512, 512 + info.imageSize);
    const signer = keyPair('ed25519');
    const padded = buildMcubootImage({ version: '2.0.0+1', payload, privateKeyPem: signer.privateKeyPem, pad: true, slotBytes: 32768 });
    const confirmed = buildMcubootImage({ version: '2.0.0+1', payload, privateKeyPem: signer.privateKeyPem, confirm: true, slotBytes: 32768 });
    // Outside the signature TLVs (another key), the files are identical.
    const sigStart = info.totalSize - 64 - 4 - 32 - 4;
    for (const [built, vector] of [[padded, test], [confirmed, confirm]] as const) {
      expect(built.length).toBe(32768);
      expect(built.subarray(0, sigStart)).toEqual(vector.subarray(0, sigStart));
      expect(built.subarray(info.totalSize)).toEqual(vector.subarray(info.totalSize));
    }

    const align32 = mcubootVector('unsigned-padded-align32-confirm.bin');
    const a32 = parseMcubootHeader(align32);
    const rebuilt = buildMcubootImage({
      version: a32.version, payload: align32.subarray(32, 32 + a32.imageSize), headerSize: 32, align: 32, confirm: true, slotBytes: 32768,
    });
    expect(rebuilt).toEqual(align32);
    const layout = trailerLayout({ slotBytes: 32768, writeGranule: 32, maxImageSectors: 128 });
    expect(parseTrailer(rebuilt.subarray(layout.swapSizeOffset), layout)).toMatchObject({ magic: 'good', imageOk: 'set', copyDone: 'unset' });
  });

  it('refuses what imgtool refuses', () => {
    const payload = new Uint8Array(10);
    expect(() => buildMcubootImage({ version: '1.2', payload })).toThrow(/"version" expected/);
    expect(() => buildMcubootImage({ version: '256.0.0', payload })).toThrow(/"version" expected/);
    expect(() => buildMcubootImage({ version: '1.0.0', payload, headerSize: 16 })).toThrow(RangeError);
    expect(() => buildMcubootImage({ version: '1.0.0', payload, pad: true })).toThrow(/slotBytes/);
    expect(() => buildMcubootImage({ version: '1.0.0', payload: new Uint8Array(30000), pad: true, slotBytes: 32768 })).toThrow(/does not fit/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => buildMcubootImage({ version: '1.0.0', payload, privateKeyPem: p384 })).toThrow(/got ec secp384r1/);
  });
});
