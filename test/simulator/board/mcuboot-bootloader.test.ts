import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { rig, image, writeSlot, SLOT_BYTES, SECTOR_BYTES } from './mcuboot-rig.ts';
import { MCUBOOT_VECTORS, mcubootVector } from '../../vectors.ts';
import { readTrailer, trailerLayoutFor } from '../../../platform/mcuboot-trailer.ts';
import { parsePublicKeyPem } from '../../../platform/public-key.ts';
import { isOtaError } from '../../../base/errors.ts';

const trailers = async (r: ReturnType<typeof rig>) => {
  const pick = async (f: typeof r.primary) => {
    const t = await readTrailer(f, trailerLayoutFor(f));
    return `${t.magic}/${t.imageOk}/${t.copyDone}/${t.swapType}`;
  };
  return { primary: await pick(r.primary), secondary: await pick(r.secondary) };
};

describe('bootMcuboot: swap mode flows', () => {
  it('a factory image boots with no swap', async () => {
    const r = rig();
    expect(await r.boot()).toEqual({ version: '1.0.0+1', swap: 'none' });
    expect(await trailers(r)).toEqual({ primary: 'unset/unset/unset/none', secondary: 'unset/unset/unset/none' });
  });

  it('test → boot on trial → no confirm → revert → old image, then it stays', async () => {
    const r = rig();
    await writeSlot(r.bootControl, image('2.0.0+2'));
    await r.bootControl.setPendingTest();
    expect(await trailers(r)).toEqual({ primary: 'unset/unset/unset/none', secondary: 'good/unset/unset/test' });

    expect(await r.boot()).toEqual({ version: '2.0.0+2', swap: 'test' });
    // What run_norevert asserts: primary GOOD/UNSET/SET, secondary trailer erased; the old image kept.
    expect(await trailers(r)).toEqual({ primary: 'good/unset/set/test', secondary: 'unset/unset/unset/none' });
    expect(r.secondary.snapshot().subarray(0, 6000)).toEqual(image('1.0.0+1').subarray(0, 6000));
    expect(await r.bootControl.state()).toMatchObject({ runningVersion: '2.0.0+2', isTestBoot: true, lastBootReverted: false });

    expect(await r.boot()).toEqual({ version: '1.0.0+1', swap: 'revert' });
    expect(await trailers(r)).toEqual({ primary: 'good/set/set/revert', secondary: 'unset/unset/unset/none' });
    expect(await r.bootControl.state()).toMatchObject({ runningVersion: '1.0.0+1', isTestBoot: false, lastBootReverted: true });
    // The rejected image stays in the secondary but is never retried.
    expect(r.secondary.snapshot().subarray(0, 100)).toEqual(image('2.0.0+2').subarray(0, 100));
    expect(await r.boot()).toEqual({ version: '1.0.0+1', swap: 'none' });
  });

  it('test → boot on trial → confirm → stays on the new image', async () => {
    const r = rig();
    await writeSlot(r.bootControl, image('2.0.0+2'));
    await r.bootControl.setPendingTest();
    await r.boot();
    await r.bootControl.confirm();
    expect(await trailers(r)).toEqual({ primary: 'good/set/set/test', secondary: 'unset/unset/unset/none' });
    expect(await r.boot()).toEqual({ version: '2.0.0+2', swap: 'none' });
    expect(await r.boot()).toEqual({ version: '2.0.0+2', swap: 'none' });
    expect(await r.bootControl.state()).toMatchObject({ runningVersion: '2.0.0+2', isTestBoot: false, lastBootReverted: false });
  });

  it('a second update after a confirmed one swaps again (the primary trailer comes with the swap)', async () => {
    const r = rig();
    for (const version of ['2.0.0+2', '3.0.0+3']) {
      await writeSlot(r.bootControl, image(version));
      await r.bootControl.setPendingTest();
      expect(await r.boot()).toEqual({ version, swap: 'test' });
      await r.bootControl.confirm();
    }
    expect(await r.boot()).toEqual({ version: '3.0.0+3', swap: 'none' });
  });

  it('PERM: imgtool --confirm image in the secondary swaps for good', async () => {
    const r = rig();
    const { buildMcubootImage } = await import('../../../simulator/mcuboot-imgtool.ts');
    const { privateKeyPem } = await import('./mcuboot-rig.ts');
    r.secondary.program(0, buildMcubootImage({ version: '4.0.0', payload: new Uint8Array(3000), privateKeyPem, confirm: true, slotBytes: SLOT_BYTES }));
    expect(await trailers(r)).toMatchObject({ secondary: 'good/set/unset/none' });
    expect(await r.boot()).toEqual({ version: '4.0.0+0', swap: 'perm' });
    expect(await trailers(r)).toEqual({ primary: 'good/set/set/perm', secondary: 'unset/unset/unset/none' });
    expect(await r.boot()).toEqual({ version: '4.0.0+0', swap: 'none' });
  });

  it('real imgtool vectors: padded-test gives TEST, padded-confirm gives PERM', async () => {
    const key = parsePublicKeyPem(readFileSync(resolve(MCUBOOT_VECTORS, 'ed25519.pub.pem'), 'utf8'));
    for (const [file, swap, after] of [
      ['ed25519-padded-test.bin', 'test', 'good/unset/set/test'],
      ['ed25519-padded-confirm.bin', 'perm', 'good/set/set/perm'],
    ] as const) {
      const r = rig({ factory: mcubootVector('ed25519-signed.bin'), key });
      r.secondary.program(0, mcubootVector(file));
      expect(await r.boot()).toEqual({ version: '2.0.0+1', swap });
      expect((await trailers(r)).primary).toBe(after);
      expect(await r.boot()).toEqual(swap === 'test' ? { version: '1.2.3+4', swap: 'revert' } : { version: '2.0.0+1', swap: 'none' });
    }
  });

  it('an image signed by another key is refused: the secondary is erased, no swap', async () => {
    const r = rig();
    const stranger = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await writeSlot(r.bootControl, image('2.0.0+2', 6000, stranger));
    await r.bootControl.setPendingTest(); // the hash is fine; only the bootloader knows the key
    expect(await r.boot()).toEqual({ version: '1.0.0+1', swap: 'none' });
    expect(r.secondary.snapshot().every((b) => b === 0xff)).toBe(true);
    expect((await trailers(r)).primary).toBe('unset/unset/unset/none');
  });

  it('a request whose image header is erased: the trailer is scrambled, no swap', async () => {
    const r = rig();
    await writeSlot(r.bootControl, image('2.0.0+2'));
    await r.bootControl.setPendingTest();
    r.secondary.program(0, new Uint8Array(SECTOR_BYTES).fill(0xff));
    expect(await r.boot()).toEqual({ version: '1.0.0+1', swap: 'none' });
    expect(await trailers(r)).toMatchObject({ secondary: 'unset/unset/unset/none' });
  });

  it('without a key the bootloader checks the hash only', async () => {
    const r = rig({ key: null });
    const stranger = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await writeSlot(r.bootControl, image('2.0.0+2', 6000, stranger));
    await r.bootControl.setPendingTest();
    expect(await r.boot()).toEqual({ version: '2.0.0+2', swap: 'test' });
  });

  it('no bootable image: erased or corrupt primary', async () => {
    const erased = rig();
    erased.primary.program(0, new Uint8Array(SLOT_BYTES).fill(0xff));
    await expect(erased.boot()).rejects.toThrow(/^no bootable image: primary slot: header magic is not 0x96f3b83d/);

    const corrupt = rig();
    corrupt.primary.program(1000, Uint8Array.of(0));
    const error = await corrupt.boot().catch((e: unknown) => e);
    expect(isOtaError(error, 'image-invalid')).toBe(true);
    expect((error as Error).message).toMatch(/^no bootable image: primary slot: hash mismatch/);
  });

  it('an unsigned factory image does not boot on a bootloader with a key', async () => {
    const r = rig({ factory: mcubootVector('unsigned-sha256.bin') });
    await expect(r.boot()).rejects.toThrow(/no bootable image: primary slot: no ED25519 signature TLV/);
  });
});
