import { describe, expect, it } from 'vitest';
import { NorFlash } from '../../simulator/board/nor-flash.ts';
import { openSlotWriter } from '../../platform/slot-writer.ts';

const geometry = { byteLength: 8 * 2048, sectorBytes: 2048, writeGranule: 8 };

function data(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + 1) & 0xff);
}

describe('openSlotWriter', () => {
  it('buffers odd-sized writes to the granule, pads the last one, and erases each sector just ahead', async () => {
    const flash = new NorFlash(geometry);
    flash.program(0, new Uint8Array(geometry.byteLength).fill(0)); // an old image everywhere
    const writer = await openSlotWriter(flash, { capacity: flash.byteLength, eraseHeaderAtOpen: true });
    expect(Array.from(flash.eraseCounts)).toEqual([1, 0, 0, 0, 0, 0, 0, 0]); // header erased at open
    const bytes = data(5000);
    for (let at = 0; at < bytes.length; at += 333) await writer.write(bytes.subarray(at, at + 333));
    expect(writer.offset).toBe(5000);
    expect(writer.durableOffset).toBe(4096);
    expect(Array.from(flash.eraseCounts)).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
    await writer.finish();
    const back = flash.snapshot();
    expect(back.subarray(0, 5000)).toEqual(bytes);
    expect(Array.from(back.subarray(5000, 5000 + 8 - (5000 % 8)))).toEqual(new Array(8 - (5000 % 8)).fill(0xff));
    expect(back[3 * 2048]).toBe(0); // sectors past the image are left alone
    await expect(writer.write(new Uint8Array(1))).rejects.toThrow(/after finish/);
    await writer.abort(); // harmless after finish
    expect(flash.snapshot().subarray(0, 16)).toEqual(bytes.subarray(0, 16));
  });

  it('without eraseHeaderAtOpen, touches no sector before the first byte', async () => {
    const flash = new NorFlash(geometry);
    const writer = await openSlotWriter(flash, { capacity: flash.byteLength });
    expect(Array.from(flash.eraseCounts)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    await writer.write(data(8)); // one granule: programmed, so its sector is erased just before
    expect(Array.from(flash.eraseCounts)).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('resumes at a sector boundary keeping the prefix, and validates resumeAt', async () => {
    const flash = new NorFlash(geometry);
    const bytes = data(6000);
    const first = await openSlotWriter(flash, { capacity: flash.byteLength });
    await first.write(bytes.subarray(0, 4500));
    const resumeAt = first.durableOffset;
    expect(resumeAt).toBe(4096);
    const second = await openSlotWriter(flash, { capacity: flash.byteLength, resumeAt });
    await second.write(bytes.subarray(resumeAt));
    await second.finish();
    expect(flash.snapshot().subarray(0, 6000)).toEqual(bytes);
    await expect(openSlotWriter(flash, { capacity: flash.byteLength, resumeAt: 100 })).rejects.toThrow(RangeError);
    await expect(openSlotWriter(flash, { capacity: 4096, resumeAt: 6144 })).rejects.toThrow(RangeError);
  });

  it('refuses bytes past the capacity with RangeError, and a wrong first byte when a magic is set', async () => {
    const flash = new NorFlash(geometry);
    const writer = await openSlotWriter(flash, { capacity: 4096, magic: { byte: 0xe9, what: 'test magic' } });
    await expect(writer.write(new Uint8Array([0]))).rejects.toMatchObject({ code: 'image-invalid' });
    await writer.write(new Uint8Array(4096).fill(0xe9));
    await expect(writer.write(new Uint8Array(1))).rejects.toThrow(RangeError);
    await writer.abort();
    expect(flash.snapshot().subarray(0, 2048).every((b) => b === 0xff)).toBe(true);
  });
});
