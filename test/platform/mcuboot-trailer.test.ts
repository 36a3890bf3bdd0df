import { describe, it, expect } from 'vitest';
import { NorFlash } from '../../simulator/board/nor-flash.ts';
import {
  bootMagic,
  decideSwapType,
  imageCapacity,
  parseTrailer,
  readTrailer,
  trailerLayout,
  trailerLayoutFor,
  writeCopyDone,
  writeImageOk,
  writeMagic,
  writeSwapInfo,
  writeSwapSize,
  type FlagState,
  type MagicState,
  type SwapType,
  type TrailerFlags,
} from '../../platform/mcuboot-trailer.ts';
import { toHex } from '../../base/bytes.ts';

const S = 32768;

describe('trailer layout', () => {
  it('offsets for BOOT_MAX_ALIGN 8 and 32 (research §1.3 table)', () => {
    expect(trailerLayout({ slotBytes: S, writeGranule: 8, maxImageSectors: 16 })).toMatchObject({
      maxAlign: 8, magicOffset: S - 16, imageOkOffset: S - 24, copyDoneOffset: S - 32, swapInfoOffset: S - 40, swapSizeOffset: S - 48,
    });
    expect(trailerLayout({ slotBytes: S, writeGranule: 32, maxImageSectors: 16 })).toMatchObject({
      maxAlign: 32, magicOffset: S - 16, imageOkOffset: S - 64, copyDoneOffset: S - 96, swapInfoOffset: S - 128, swapSizeOffset: S - 160,
    });
    // A granule below 8 still uses BOOT_MAX_ALIGN 8; a 16-byte one gives 16.
    expect(trailerLayout({ slotBytes: S, writeGranule: 4, maxImageSectors: 16 }).imageOkOffset).toBe(S - 24);
    expect(trailerLayout({ slotBytes: S, writeGranule: 16, maxImageSectors: 16 }).imageOkOffset).toBe(S - 32);
  });

  it('trailer sizes as boot_trailer_sz computes them for 128 sectors', () => {
    const size = (writeGranule: number, maxAlign?: number) => trailerLayout({ slotBytes: 1 << 20, writeGranule, maxAlign, maxImageSectors: 128 }).trailerBytes;
    expect([size(1), size(4), size(8), size(32)]).toEqual([432, 1584, 3120, 12448]);
  });

  it('capacity stops at the first trailer sector', () => {
    const layout = trailerLayout({ slotBytes: S, writeGranule: 8, maxImageSectors: 16 }); // 16*3*8 + 32 + 16 = 432
    expect(layout.trailerBytes).toBe(432);
    expect(imageCapacity(layout, 2048)).toBe(S - 2048);
    expect(imageCapacity(layout, 256)).toBe(S - 512);
  });

  it('the magic per alignment', () => {
    expect(toHex(bootMagic(8))).toBe('77c295f360d2ef7f3552500f2cb67980');
    expect(toHex(bootMagic(32))).toBe('20002de15d29410b8d77679c110f1f8a');
    expect(toHex(bootMagic(16))).toBe('10002de15d29410b8d77679c110f1f8a');
  });

  it('rejects layouts that cannot exist', () => {
    expect(() => trailerLayout({ slotBytes: S, writeGranule: 8, maxAlign: 4, maxImageSectors: 16 })).toThrow(RangeError);
    expect(() => trailerLayout({ slotBytes: S + 4, writeGranule: 8, maxImageSectors: 16 })).toThrow(RangeError);
    expect(() => trailerLayout({ slotBytes: 256, writeGranule: 8, maxImageSectors: 16 })).toThrow(/does not fit/);
  });
});

describe('trailer reads and writes through a Flash', () => {
  const flash = (writeGranule = 8) => new NorFlash({ byteLength: S, sectorBytes: 2048, writeGranule });

  it('an erased trailer reads unset everywhere', async () => {
    const f = flash();
    expect(await readTrailer(f, trailerLayoutFor(f))).toEqual({ magic: 'unset', imageOk: 'unset', copyDone: 'unset', swapType: 'none', imageIndex: 0, swapSize: undefined });
  });

  it('boot_set_pending(test) bytes: magic at S-16, then 02 ff.. at S-40 (W=8)', async () => {
    const f = flash();
    const layout = trailerLayoutFor(f);
    await writeMagic(f, layout);
    await writeSwapInfo(f, layout, 'test');
    const tail = f.snapshot().subarray(S - 48);
    expect(toHex(tail)).toBe('ff'.repeat(8) + '02' + 'ff'.repeat(7) + 'ff'.repeat(16) + '77c295f360d2ef7f3552500f2cb67980');
    expect(await readTrailer(f, layout)).toMatchObject({ magic: 'good', imageOk: 'unset', copyDone: 'unset', swapType: 'test' });
  });

  it('each field write is one ALIGN_UP(1, W) cell: W=1 writes 1 byte, W=32 writes 32', async () => {
    for (const w of [1, 32]) {
      const f = flash(w);
      const layout = trailerLayoutFor(f);
      await writeImageOk(f, layout);
      await writeCopyDone(f, layout);
      await writeSwapSize(f, layout, 0x1234);
      await writeMagic(f, layout);
      const state = await readTrailer(f, layout);
      expect(state).toMatchObject({ magic: 'good', imageOk: 'set', copyDone: 'set', swapSize: 0x1234 });
      expect(f.snapshot()[layout.imageOkOffset]).toBe(1);
    }
    // The A=32 magic cell is 32 bytes: 16 erased, then the magic (as imgtool pads it).
    const f = flash(32);
    await writeMagic(f, trailerLayoutFor(f));
    expect(toHex(f.snapshot().subarray(S - 32))).toBe('ff'.repeat(16) + '20002de15d29410b8d77679c110f1f8a');
  });

  it('tri-state flags and magic: any other value is bad; swap_info > 4 or erased is none', () => {
    const layout = trailerLayout({ slotBytes: S, writeGranule: 8, maxImageSectors: 16 });
    const tail = () => new Uint8Array(48).fill(0xff);
    const at = (offset: number) => offset - layout.swapSizeOffset;
    const t = tail();
    t[at(layout.imageOkOffset)] = 0x00;
    t[at(layout.copyDoneOffset)] = 0x02;
    t.set(bootMagic(8), at(layout.magicOffset));
    t[at(layout.magicOffset) + 15] ^= 1;
    t[at(layout.swapInfoOffset)] = 0x05;
    expect(parseTrailer(t, layout)).toMatchObject({ magic: 'bad', imageOk: 'bad', copyDone: 'bad', swapType: 'none', imageIndex: 0 });
    const u = tail();
    u[at(layout.swapInfoOffset)] = 0x13; // image 1, PERM
    expect(parseTrailer(u, layout)).toMatchObject({ swapType: 'perm', imageIndex: 1 });
    u[at(layout.swapInfoOffset)] = 0x04;
    expect(parseTrailer(u, layout)).toMatchObject({ swapType: 'revert', imageIndex: 0 });
    expect(() => parseTrailer(new Uint8Array(47), layout)).toThrow(RangeError);
  });
});

describe('swap-type table (research §1.4), case by case', () => {
  const t = (magic: MagicState, imageOk: FlagState, copyDone: FlagState): TrailerFlags => ({ magic, imageOk, copyDone });
  const ANY_PRIMARY = [t('unset', 'unset', 'unset'), t('good', 'set', 'set'), t('bad', 'bad', 'bad'), t('good', 'unset', 'set')];

  it('State II: secondary GOOD, image_ok UNSET, copy_done any → TEST (whatever the primary)', () => {
    for (const primary of ANY_PRIMARY) for (const copyDone of ['set', 'unset', 'bad'] as const) {
      expect(decideSwapType(primary, t('good', 'unset', copyDone))).toBe('test');
    }
  });

  it('State III: secondary GOOD, image_ok SET → PERM (whatever the primary)', () => {
    for (const primary of ANY_PRIMARY) for (const copyDone of ['set', 'unset', 'bad'] as const) {
      expect(decideSwapType(primary, t('good', 'set', copyDone))).toBe('perm');
    }
  });

  it('State IV: primary GOOD, image_ok UNSET, copy_done SET → REVERT when the secondary asks nothing', () => {
    for (const secondary of [t('unset', 'unset', 'unset'), t('bad', 'unset', 'unset'), t('good', 'bad', 'unset')]) {
      expect(decideSwapType(t('good', 'unset', 'set'), secondary)).toBe('revert');
    }
  });

  it('State V: everything else → NONE (bad never matches set or unset)', () => {
    const none = t('unset', 'unset', 'unset');
    expect(decideSwapType(none, none)).toBe('none');
    expect(decideSwapType(t('good', 'set', 'set'), none)).toBe('none'); // confirmed
    expect(decideSwapType(t('good', 'bad', 'set'), none)).toBe('none'); // torn image_ok
    expect(decideSwapType(t('good', 'unset', 'unset'), none)).toBe('none');
    expect(decideSwapType(t('good', 'unset', 'bad'), none)).toBe('none');
    expect(decideSwapType(t('bad', 'unset', 'set'), none)).toBe('none');
    expect(decideSwapType(none, t('bad', 'unset', 'unset'))).toBe('none'); // torn magic
    expect(decideSwapType(none, t('unset', 'set', 'unset'))).toBe('none'); // image_ok without magic
  });

  it('State I (swap-offset builds only): secondary GOOD, image_ok UNSET, copy_done SET → REVERT', () => {
    const secondary = t('good', 'unset', 'set');
    expect(decideSwapType(t('unset', 'unset', 'unset'), secondary, { swapOffset: true })).toBe('revert');
    expect(decideSwapType(t('unset', 'unset', 'unset'), secondary)).toBe('test');
  });

  it('all 729 combinations agree with the table written as data', () => {
    type Cell = MagicState | FlagState | 'any';
    const rows: { p: [Cell, Cell, Cell]; s: [Cell, Cell, Cell]; result: SwapType }[] = [
      { p: ['any', 'any', 'any'], s: ['good', 'unset', 'any'], result: 'test' },
      { p: ['any', 'any', 'any'], s: ['good', 'set', 'any'], result: 'perm' },
      { p: ['good', 'unset', 'set'], s: ['any', 'any', 'any'], result: 'revert' },
    ];
    const matches = (cells: Cell[], flags: TrailerFlags) => [flags.magic, flags.imageOk, flags.copyDone].every((v, i) => cells[i] === 'any' || cells[i] === v);
    const magics: MagicState[] = ['good', 'unset', 'bad'];
    const states: FlagState[] = ['set', 'unset', 'bad'];
    const all: TrailerFlags[] = magics.flatMap((m) => states.flatMap((i) => states.map((c) => t(m, i, c))));
    let counted = 0;
    for (const p of all) for (const s of all) {
      const expected = rows.find((row) => matches(row.p, p) && matches(row.s, s))?.result ?? 'none';
      expect(decideSwapType(p, s), JSON.stringify({ p, s })).toBe(expected);
      counted++;
    }
    expect(counted).toBe(729);
  });
});
