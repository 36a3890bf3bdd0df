// Conformance suite for Flash (platform/flash.ts). A port runs it on a scratch region it may erase.
import { describe, expect, it } from 'vitest';
import { isOtaError } from '../../base/errors.ts';
import type { Flash } from '../../platform/flash.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';

export interface FlashInstance {
  flash: Flash;
  /** Per-sector erase counts, where the implementation keeps them (the simulator). */
  eraseCounts?: () => ArrayLike<number>;
}

/** Each call gives a region the suite may erase and program at will. */
export type FlashFactory = () => MaybePromise<FlashInstance>;

async function readBack(flash: Flash, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await flash.read(offset, out);
  return out;
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 29 + seed * 7 + 3) & 0xff;
  return out;
}

export function flashConformance(name: string, factory: FlashFactory): void {
  describe(`Flash conformance: ${name}`, () => {
    it('has a sane geometry', async () => {
      const { flash } = await factory();
      expect([1, 2, 4, 8, 16, 32]).toContain(flash.writeGranule);
      expect(flash.sectorBytes % flash.writeGranule).toBe(0);
      expect(flash.byteLength % flash.sectorBytes).toBe(0);
      expect(flash.byteLength / flash.sectorBytes).toBeGreaterThanOrEqual(2);
      expect(flash.erasedByte).toBe(0xff);
    });

    it('erase sets every byte of the sector, and only that sector, to the erased value', async () => {
      const { flash } = await factory();
      const s = flash.sectorBytes;
      await flash.eraseSector(0);
      await flash.eraseSector(1);
      await flash.write(s - flash.writeGranule, pattern(flash.writeGranule, 1)); // last granule of sector 0
      await flash.write(s, pattern(flash.writeGranule, 2)); // first granule of sector 1
      await flash.eraseSector(1);
      expect((await readBack(flash, s, s)).every((b) => b === flash.erasedByte)).toBe(true);
      expect(await readBack(flash, s - flash.writeGranule, flash.writeGranule)).toEqual(pattern(flash.writeGranule, 1));
    });

    it('reads back what was programmed, across a sector boundary', async () => {
      const { flash } = await factory();
      const s = flash.sectorBytes;
      await flash.eraseSector(0);
      await flash.eraseSector(1);
      const data = pattern(4 * flash.writeGranule * 8, 3);
      const at = s - 2 * flash.writeGranule * 8;
      await flash.write(at, data);
      expect(await readBack(flash, at, data.length)).toEqual(data);
    });

    it('programming only clears bits: over a programmed granule it is refused (flash-io) or ANDs, never sets a bit', async () => {
      const { flash } = await factory();
      const g = flash.writeGranule;
      await flash.eraseSector(0);
      const first = new Uint8Array(g).fill(0b1010_1010);
      const second = new Uint8Array(g).fill(0b0110_0110);
      await flash.write(0, first);
      expect(await readBack(flash, 0, g)).toEqual(first);
      let refused = false;
      try {
        await flash.write(0, second);
      } catch (error) {
        expect(isOtaError(error, 'flash-io'), String(error)).toBe(true);
        refused = true;
      }
      const after = await readBack(flash, 0, g);
      expect(after).toEqual(refused ? first : new Uint8Array(g).fill(0b1010_1010 & 0b0110_0110));
    });

    it('refuses misaligned offsets and lengths with RangeError, writing nothing', async (ctx) => {
      const { flash } = await factory();
      if (flash.writeGranule === 1) ctx.skip();
      const g = flash.writeGranule;
      await flash.eraseSector(0);
      await expect(async () => flash.write(1, new Uint8Array(g))).rejects.toThrow(RangeError);
      await expect(async () => flash.write(0, new Uint8Array(g + 1))).rejects.toThrow(RangeError);
      expect((await readBack(flash, 0, 2 * g)).every((b) => b === 0xff)).toBe(true);
    });

    it('refuses access outside the region with RangeError', async () => {
      const { flash } = await factory();
      const g = flash.writeGranule;
      const sectors = flash.byteLength / flash.sectorBytes;
      await expect(async () => flash.read(flash.byteLength - 1, new Uint8Array(2))).rejects.toThrow(RangeError);
      await expect(async () => flash.write(flash.byteLength, new Uint8Array(g))).rejects.toThrow(RangeError);
      await expect(async () => flash.write(flash.byteLength - g, new Uint8Array(2 * g))).rejects.toThrow(RangeError);
      await expect(async () => flash.eraseSector(sectors)).rejects.toThrow(RangeError);
      await expect(async () => flash.eraseSector(-1)).rejects.toThrow(RangeError);
    });

    it('counts erases per sector (where counts are kept)', async (ctx) => {
      const { flash, eraseCounts } = await factory();
      if (eraseCounts === undefined) ctx.skip();
      const before = Array.from(eraseCounts!());
      await flash.eraseSector(1);
      await flash.eraseSector(1);
      await flash.eraseSector(0);
      const after = Array.from(eraseCounts!());
      expect(after[0]! - before[0]!).toBe(1);
      expect(after[1]! - before[1]!).toBe(2);
      expect(after.slice(2)).toEqual(before.slice(2));
    });
  });
}
