import { describe, expect, it } from 'vitest';
import { NvsKeyValue } from '../../../simulator/board/key-value-nvs.ts';
import { NorFlash } from '../../../simulator/board/nor-flash.ts';
import { PowerRail } from '../../../simulator/board/power.ts';
import { keyValueConformance } from '../../conformance/key-value.ts';

function makeFactory(geometry: { sectorBytes: number; writeGranule: number; sectors: number }, seed: number) {
  return async () => {
    const power = new PowerRail(seed);
    const flash = new NorFlash({ byteLength: geometry.sectors * geometry.sectorBytes, sectorBytes: geometry.sectorBytes, writeGranule: geometry.writeGranule, power });
    return { store: await NvsKeyValue.open(flash), reopen: () => NvsKeyValue.open(flash), power, flash };
  };
}

keyValueConformance('NVS log, 2 x 4 KiB sectors, granule 4', makeFactory({ sectorBytes: 4096, writeGranule: 4, sectors: 2 }, 11));
keyValueConformance('NVS log, 4 x 2 KiB sectors, granule 8', makeFactory({ sectorBytes: 2048, writeGranule: 8, sectors: 4 }, 12));

describe('NvsKeyValue', () => {
  it('garbage-collects by rotating through the sectors (wear spreads over all of them)', async () => {
    const { store, flash } = await makeFactory({ sectorBytes: 2048, writeGranule: 8, sectors: 4 }, 1)();
    for (let i = 0; i < 100; i++) await store.set('k', new Uint8Array(400).fill(i));
    expect(Array.from(flash.eraseCounts).every((n) => n > 0)).toBe(true);
    expect(Math.max(...flash.eraseCounts) - Math.min(...flash.eraseCounts)).toBeLessThanOrEqual(1);
  });

  it('does not write when the value is unchanged', async () => {
    const { store, power } = await makeFactory({ sectorBytes: 4096, writeGranule: 4, sectors: 2 }, 1)();
    await store.set('k', new Uint8Array([1, 2]));
    const ops = power.operations;
    await store.set('k', new Uint8Array([1, 2]));
    expect(power.operations).toBe(ops);
  });

  it('ignores a record with a bad CRC and everything after it in that sector, and keeps working', async () => {
    const { store, flash, reopen } = await makeFactory({ sectorBytes: 4096, writeGranule: 4, sectors: 2 }, 1)();
    await store.set('a', new Uint8Array([1]));
    await store.set('a', new Uint8Array([2]));
    // Flip a value bit of the second record (header 16 + flag 4 + first record 16 bytes, value at +5).
    const image = flash.snapshot();
    const at = 20 + 16 + 5;
    flash.program(at, new Uint8Array([image[at]! ^ 0x01]));
    const after = await reopen();
    expect(Array.from((await after.get('a'))!)).toEqual([1]);
    await after.set('a', new Uint8Array([3]));
    expect(Array.from((await (await reopen()).get('a'))!)).toEqual([3]);
  });

  it('reports a full store with OtaError flash-io and keeps the old values', async () => {
    const { store, reopen } = await makeFactory({ sectorBytes: 4096, writeGranule: 4, sectors: 2 }, 1)();
    await store.set('a', new Uint8Array(1984).fill(1));
    await store.set('b', new Uint8Array(1984).fill(2));
    await expect(store.set('c', new Uint8Array(1984).fill(3))).rejects.toMatchObject({ code: 'flash-io' });
    const after = await reopen();
    expect((await after.get('a'))![0]).toBe(1);
    expect((await after.get('b'))![0]).toBe(2);
    expect(await after.get('c')).toBeUndefined();
  });

  it('refuses a region of one sector and a maxValueBytes that cannot fit a sector', () => {
    const one = new NorFlash({ byteLength: 4096, sectorBytes: 4096, writeGranule: 4 });
    return Promise.all([
      expect(NvsKeyValue.open(one)).rejects.toThrow(RangeError),
      expect(NvsKeyValue.open(new NorFlash({ byteLength: 8192, sectorBytes: 2048, writeGranule: 8 }), { maxValueBytes: 2040 })).rejects.toThrow(RangeError),
    ]);
  });
});
