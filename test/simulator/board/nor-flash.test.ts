import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OtaError } from '../../../base/errors.ts';
import { NorFlash } from '../../../simulator/board/nor-flash.ts';
import { PowerCut, PowerRail } from '../../../simulator/board/power.ts';

const geometry = { byteLength: 4 * 2048, sectorBytes: 2048, writeGranule: 8 };

function read(flash: NorFlash, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  flash.read(offset, out);
  return out;
}

describe('NorFlash', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('starts erased, programs, and erases a whole sector back to 0xff', () => {
    const flash = new NorFlash(geometry);
    expect(read(flash, 0, geometry.byteLength).every((b) => b === 0xff)).toBe(true);
    flash.write(2048 + 16, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(Array.from(read(flash, 2048 + 16, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    flash.eraseSector(1);
    expect(read(flash, 2048, 2048).every((b) => b === 0xff)).toBe(true);
  });

  it('refuses to program a granule that is not erased, naming the offset, and writes nothing', () => {
    const flash = new NorFlash(geometry);
    flash.write(8, new Uint8Array(8).fill(0xf0));
    const before = flash.snapshot();
    let error: unknown;
    try {
      flash.write(0, new Uint8Array(16).fill(0x0f)); // granule 0 is erased, granule 8 is not
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OtaError);
    expect((error as OtaError).code).toBe('flash-io');
    expect((error as OtaError).message).toMatch(/^program at offset 8: granule not erased/);
    expect(flash.snapshot()).toEqual(before);
  });

  it('throws RangeError for misaligned offsets and lengths and out-of-range access', () => {
    const flash = new NorFlash(geometry);
    expect(() => flash.write(4, new Uint8Array(8))).toThrow(RangeError);
    expect(() => flash.write(0, new Uint8Array(12))).toThrow(RangeError);
    expect(() => flash.write(geometry.byteLength - 8, new Uint8Array(16))).toThrow(RangeError);
    expect(() => flash.read(geometry.byteLength - 1, new Uint8Array(2))).toThrow(RangeError);
    expect(() => flash.read(-1, new Uint8Array(1))).toThrow(RangeError);
    expect(() => flash.eraseSector(4)).toThrow(RangeError);
    expect(() => flash.eraseSector(1.5)).toThrow(RangeError);
    expect(() => new NorFlash({ ...geometry, byteLength: 3000 })).toThrow(RangeError);
    expect(() => new NorFlash({ ...geometry, writeGranule: 3 })).toThrow(RangeError);
  });

  it('counts erases per sector', () => {
    const flash = new NorFlash(geometry);
    flash.eraseSector(0);
    flash.eraseSector(2);
    flash.eraseSector(2);
    expect(Array.from(flash.eraseCounts)).toEqual([1, 0, 2, 0]);
  });

  it('program() writes raw bytes regardless of NOR rules', () => {
    const flash = new NorFlash(geometry);
    flash.write(0, new Uint8Array(8));
    flash.program(3, new Uint8Array([0xff, 0xaa]));
    expect(Array.from(read(flash, 0, 6))).toEqual([0, 0, 0, 0xff, 0xaa, 0]);
  });

  it('a torn program completes some granules and only part of the bits of the next, then throws PowerCut', () => {
    let sawPartial = false;
    for (let seed = 1; seed <= 20; seed++) {
      const power = new PowerRail(seed);
      const flash = new NorFlash({ ...geometry, power });
      const data = new Uint8Array(64).fill(0x00);
      power.cutAfter(0);
      expect(() => flash.write(0, data)).toThrow(PowerCut);
      const after = read(flash, 0, 64);
      const firstUnfinished = after.findIndex((b) => b !== 0);
      expect(firstUnfinished).toBeGreaterThanOrEqual(0); // never completes the whole write
      const granule = Math.floor(firstUnfinished / 8) * 8;
      expect(after.subarray(0, granule).every((b) => b === 0)).toBe(true);
      expect(after.subarray(granule + 8).every((b) => b === 0xff)).toBe(true);
      if (after.subarray(granule, granule + 8).some((b) => b !== 0xff)) sawPartial = true;
      expect(() => flash.write(128, new Uint8Array(8))).toThrow(PowerCut); // still off
      power.restore();
      flash.write(128, new Uint8Array(8));
    }
    expect(sawPartial).toBe(true);
  });

  it('a torn erase leaves part of the sector erased and the rest as it was', () => {
    const power = new PowerRail(3);
    const flash = new NorFlash({ ...geometry, power });
    flash.write(0, new Uint8Array(2048)); // all zero
    power.cutAfter(0);
    expect(() => flash.eraseSector(0)).toThrow(PowerCut);
    const after = read(flash, 0, 2048);
    const erased = after.filter((b) => b === 0xff).length;
    expect(erased).toBeLessThan(2048);
    expect(after.findIndex((b) => b !== 0xff)).toBeGreaterThanOrEqual(0);
    expect(flash.eraseCounts[0]).toBe(1);
  });

  it('tears the same way for the same seed', () => {
    const run = (): Uint8Array => {
      const power = new PowerRail(99);
      const flash = new NorFlash({ ...geometry, power });
      power.cutAfter(1);
      flash.write(0, new Uint8Array(256));
      expect(() => flash.write(256, new Uint8Array(256))).toThrow(PowerCut);
      return flash.snapshot();
    };
    expect(run()).toEqual(run());
  });

  it('persists across a process restart: a new NorFlash on the same file sees the bytes and wear', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nor-'));
    dirs.push(dir);
    const file = join(dir, 'slot.bin');
    const first = new NorFlash({ ...geometry, file });
    expect(statSync(file).size).toBe(geometry.byteLength);
    first.eraseSector(3);
    first.write(3 * 2048, new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]));
    first.close();
    const second = new NorFlash({ ...geometry, file });
    expect(Array.from(read(second, 3 * 2048, 8))).toEqual([9, 8, 7, 6, 5, 4, 3, 2]);
    expect(Array.from(second.eraseCounts)).toEqual([0, 0, 0, 1]);
    expect(() => second.write(3 * 2048, new Uint8Array(8))).toThrow(OtaError);
    second.close();
    expect(() => new NorFlash({ ...geometry, byteLength: 2048, file })).toThrow(/expected the configured 2048/);
  });

  it('persists a torn operation too (what the next process sees is the torn state)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nor-'));
    dirs.push(dir);
    const file = join(dir, 'slot.bin');
    const power = new PowerRail(5);
    const first = new NorFlash({ ...geometry, file, power });
    power.cutAfter(0);
    expect(() => first.write(0, new Uint8Array(512))).toThrow(PowerCut);
    const torn = first.snapshot();
    first.close();
    const second = new NorFlash({ ...geometry, file });
    expect(second.snapshot()).toEqual(torn);
    second.close();
  });
});
