import { describe, expect, it } from 'vitest';
import { isOtaError } from '../../base/errors.ts';
import { openSlotWriter, type BlockErase } from '../../platform/slot-writer.ts';
import { EraseRangeFlash } from '../../simulator/board/erase-range.ts';
import { NorFlash } from '../../simulator/board/nor-flash.ts';

const geometry = { byteLength: 8 * 2048, sectorBytes: 2048, writeGranule: 8 };

function data(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + 1) & 0xff);
}

describe('openSlotWriter', () => {
  it('buffers odd-sized writes to the granule, pads the last one, and erases each sector just ahead', async () => {
    const flash = new NorFlash(geometry);
    flash.program(0, new Uint8Array(geometry.byteLength).fill(0)); // an old image everywhere
    const writer = await openSlotWriter(flash, { capacity: flash.byteLength });
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

  it('touches no sector before the first byte', async () => {
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

describe('openSlotWriter with block erase-ahead (the ESP32 policy: 64 KiB blocks, ≤ 4 sectors per unaligned call)', () => {
  const BLOCKS: BlockErase = { blockBytes: 64 * 1024, maxSectorsPerCall: 4 };
  const SECTOR = 4096;

  /** 40 sectors of 4 KiB: two whole 64 KiB blocks, then an 8-sector tail no block fits in. */
  function slot() {
    const nor = new NorFlash({ byteLength: 40 * SECTOR, sectorBytes: SECTOR, writeGranule: 4 });
    nor.program(0, new Uint8Array(nor.byteLength).fill(0)); // an old image everywhere
    return { nor, flash: new EraseRangeFlash(nor) };
  }

  it('erases each 64 KiB block in one call just ahead of the data, the unaligned tail ≤ 4 sectors a call', async () => {
    const { nor, flash } = slot();
    const bytes = data(150_000);
    const writer = await openSlotWriter(flash, { capacity: flash.byteLength, blockErase: BLOCKS });
    expect(flash.erases).toEqual([]); // nothing before the first byte
    await writer.write(bytes.subarray(0, 3));
    expect(flash.erases).toEqual([]); // less than a granule: buffered, nothing programmed yet
    await writer.write(bytes.subarray(3, 5));
    expect(flash.erases).toEqual([[0, 16]]); // the first granule needs the first block
    for (let at = 5; at < 70_000; at += 1001) await writer.write(bytes.subarray(at, Math.min(at + 1001, 70_000)));
    expect(flash.erases).toEqual([[0, 16], [16, 32]]); // byte 65536 reached: the second block, not sooner
    await writer.write(bytes.subarray(70_000));
    await writer.finish();
    // Sector 36 holds the last bytes: the tail past block 32 goes [32, 36), [36, 40), never a block.
    expect(flash.erases).toEqual([[0, 16], [16, 32], [32, 36], [36, 40]]);
    expect(Array.from(nor.eraseCounts)).toEqual(new Array(40).fill(1)); // each sector erased once
    expect(nor.snapshot().subarray(0, bytes.length)).toEqual(bytes);
    expect(writer.durableOffset).toBe(Math.floor(150_000 / SECTOR) * SECTOR);
  });

  it('resumes at an unaligned sector: ≤ 4 sectors a call up to the block boundary, then whole blocks; the prefix stays', async () => {
    const { nor, flash } = slot();
    const bytes = data(30 * SECTOR);
    const first = await openSlotWriter(flash, { capacity: flash.byteLength, blockErase: BLOCKS });
    await first.write(bytes.subarray(0, 5 * SECTOR + 100));
    expect(first.durableOffset).toBe(5 * SECTOR);
    flash.erases.length = 0;
    const resumed = await openSlotWriter(flash, { capacity: flash.byteLength, resumeAt: 5 * SECTOR, blockErase: BLOCKS });
    expect(resumed.offset).toBe(5 * SECTOR);
    await resumed.write(bytes.subarray(5 * SECTOR));
    await resumed.finish();
    expect(flash.erases).toEqual([[5, 9], [9, 13], [13, 16], [16, 32]]);
    expect(nor.eraseCounts[0]).toBe(1); // the kept prefix was not erased again
    expect(nor.snapshot().subarray(0, bytes.length)).toEqual(bytes);
    await expect(openSlotWriter(flash, { capacity: flash.byteLength, resumeAt: 5 * SECTOR + 4, blockErase: BLOCKS })).rejects.toThrow(
      /"resumeAt" expected a multiple of the 4096-byte sector in \[0, 163840\], got 20484/,
    );
  });

  it('keeps the error texts: magic, capacity, after finish; abort erases the header', async () => {
    const { nor, flash } = slot();
    const magic = { byte: 0xe9, what: 'ESP app image magic' };
    const writer = await openSlotWriter(flash, { capacity: 2 * SECTOR, magic, blockErase: BLOCKS });
    const wrong = await Promise.resolve().then(() => writer.write(new Uint8Array([0x96]))).catch((e: unknown) => e);
    expect(isOtaError(wrong, 'image-invalid')).toBe(true);
    expect((wrong as Error).message).toBe('slot write at byte 0: 0x96, expected 0xe9 (ESP app image magic)');
    await writer.write(new Uint8Array(SECTOR).fill(0xe9));
    await expect(writer.write(new Uint8Array(SECTOR + 1))).rejects.toThrow(new RangeError('slot write at byte 4096: 4097 more bytes exceed the 8192-byte slot'));
    await writer.abort();
    expect(nor.snapshot().subarray(0, SECTOR).every((b) => b === 0xff)).toBe(true);
    await expect(writer.write(new Uint8Array(4))).rejects.toThrow('SlotWriter.write after abort()');
    const done = await openSlotWriter(flash, { capacity: flash.byteLength, blockErase: BLOCKS });
    await done.finish();
    await expect(done.finish()).rejects.toThrow('SlotWriter.finish after finish()');
  });

  it('refuses a block policy on a flash that cannot erase ranges, or a block that is not whole sectors', async () => {
    const { nor, flash } = slot();
    await expect(openSlotWriter(nor as never, { capacity: nor.byteLength, blockErase: BLOCKS })).rejects.toThrow(/"blockErase" expected a flash with eraseSectors/);
    await expect(openSlotWriter(flash, { capacity: flash.byteLength, blockErase: { blockBytes: 6000, maxSectorsPerCall: 4 } })).rejects.toThrow(RangeError);
    await expect(openSlotWriter(flash, { capacity: flash.byteLength, blockErase: { blockBytes: 65536, maxSectorsPerCall: 0 } })).rejects.toThrow(RangeError);
  });
});
