import { describe, it, expect } from 'vitest';
import { rig, image, writeSlot, SLOT_BYTES, SECTOR_BYTES } from '../simulator/board/mcuboot-rig.ts';
import { readTrailer, trailerLayoutFor, writeMagic } from '../../platform/mcuboot-trailer.ts';
import { isOtaError } from '../../base/errors.ts';
import type { Flash } from '../../platform/flash.ts';

const CAPACITY = SLOT_BYTES - SECTOR_BYTES; // the 432-byte trailer takes the last 2 KiB sector

async function trailerOf(flash: Flash) {
  return readTrailer(flash, trailerLayoutFor(flash));
}

describe('McubootBootControl: state', () => {
  it('running version from the primary header, slot 0, capacity = slot minus its trailer sector', async () => {
    const r = rig();
    expect(await r.bootControl.state()).toEqual({ runningSlot: 0, runningVersion: '1.0.0+1', isTestBoot: false, lastBootReverted: false, inactiveSlotBytes: CAPACITY });
  });

  it('an erased primary is an OtaError naming the header field', async () => {
    const r = rig();
    r.primary.program(0, new Uint8Array(32).fill(0xff));
    await expect(Promise.resolve(r.bootControl.state())).rejects.toThrow('MCUboot header ih_magic: expected 0x96f3b83d, got 0xffffffff');
  });
});

describe('McubootBootControl: the slot writer', () => {
  it('any chunking gives the same bytes; sectors are erased just ahead of the data, once each', async () => {
    const bytes = image('2.0.0+2', 9000); // 9000 + 512 + 144 bytes: 5 sectors
    for (const chunk of [1, 7, 8, 333, 2048, 4096, bytes.length]) {
      const r = rig();
      const writer = await r.bootControl.openInactiveSlot();
      const erasedAtOpen = Array.from(r.secondary.eraseCounts);
      expect(erasedAtOpen.slice(0, 15).every((n) => n === 0)).toBe(true);
      expect(erasedAtOpen[15]).toBe(1); // the trailer sector, so no stale request can survive
      for (let at = 0; at < bytes.length; at += chunk) {
        await writer.write(bytes.subarray(at, at + chunk));
        const end = at + Math.min(chunk, bytes.length - at);
        // Never an erase more than one sector ahead of the bytes programmed.
        const lastErased = Array.from(r.secondary.eraseCounts.slice(0, 15)).reduce((last, n, i) => (n > 0 ? i : last), -1);
        expect(lastErased * SECTOR_BYTES, `chunk ${chunk} at ${end}`).toBeLessThan(Math.max(end, 1));
        expect(writer.offset).toBe(end);
        expect(writer.durableOffset).toBe(Math.floor((end - (end % 8)) / SECTOR_BYTES) * SECTOR_BYTES);
      }
      await writer.finish();
      const slot = r.secondary.snapshot();
      expect(slot.subarray(0, bytes.length)).toEqual(bytes);
      expect(slot.subarray(bytes.length, bytes.length + 16).every((b) => b === 0xff)).toBe(true); // padded with erased bytes
      expect(Array.from(r.secondary.eraseCounts)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    }
  });

  it('resume at a durable sector boundary keeps the prefix and rewrites the rest', async () => {
    const bytes = image('2.0.0+2', 9000);
    const r = rig();
    const first = await r.bootControl.openInactiveSlot();
    await first.write(bytes.subarray(0, 5000));
    expect(first.durableOffset).toBe(4096);
    // The rest of the slot is garbage from the interrupted attempt.
    const second = await r.bootControl.openInactiveSlot({ resumeAt: first.durableOffset });
    expect(second.offset).toBe(4096);
    await second.write(bytes.subarray(4096));
    await second.finish();
    expect(r.secondary.snapshot().subarray(0, bytes.length)).toEqual(bytes);
    expect(Array.from(r.secondary.eraseCounts.slice(0, 5))).toEqual([1, 1, 2, 1, 1]); // only sector 2 was written twice
    await r.bootControl.setPendingTest();
    expect(await r.boot()).toEqual({ version: '2.0.0+2', swap: 'test' });
  });

  it('resumeAt must be a sector boundary inside the capacity', async () => {
    const r = rig();
    for (const resumeAt of [-2048, 100, CAPACITY + SECTOR_BYTES, 1.5]) {
      await expect(Promise.resolve(r.bootControl.openInactiveSlot({ resumeAt }))).rejects.toThrow(RangeError);
    }
  });

  it('refuses bytes past the capacity, before writing any of them', async () => {
    const r = rig();
    const writer = await r.bootControl.openInactiveSlot();
    await writer.write(new Uint8Array(CAPACITY - 1));
    const before = r.power.operations;
    await expect(Promise.resolve(writer.write(new Uint8Array(2)))).rejects.toThrow(RangeError);
    expect(r.power.operations).toBe(before);
    await writer.write(new Uint8Array(1));
  });

  it('abort erases the header sector; after finish it does nothing; writes after either throw', async () => {
    const r = rig();
    const writer = await r.bootControl.openInactiveSlot();
    await writer.write(image('2.0.0+2'));
    await writer.abort();
    expect(r.secondary.snapshot().subarray(0, SECTOR_BYTES).every((b) => b === 0xff)).toBe(true);
    await expect(Promise.resolve(writer.write(new Uint8Array(1)))).rejects.toThrow(/after abort/);

    const done = await r.bootControl.openInactiveSlot();
    await done.write(image('2.0.0+2'));
    await done.finish();
    const before = r.power.operations;
    await done.abort();
    expect(r.power.operations).toBe(before);
    await expect(Promise.resolve(done.finish())).rejects.toThrow(/after finish/);
    await r.bootControl.setPendingTest();
  });

  it('readInactiveSlot reads back what was written, and checks its range', async () => {
    const r = rig();
    const bytes = image('2.0.0+2');
    await writeSlot(r.bootControl, bytes);
    const into = new Uint8Array(100);
    await r.bootControl.readInactiveSlot(1000, into);
    expect(into).toEqual(bytes.subarray(1000, 1100));
    await expect(Promise.resolve(r.bootControl.readInactiveSlot(SLOT_BYTES - 50, into))).rejects.toThrow(RangeError);
  });
});

describe('McubootBootControl: requests and confirmation', () => {
  it('setPendingTest = boot_set_pending(0): magic then swap_info TEST; a second call writes nothing', async () => {
    const r = rig();
    await writeSlot(r.bootControl, image('2.0.0+2'));
    const before = r.power.operations;
    await r.bootControl.setPendingTest();
    expect(r.power.operations - before).toBe(2);
    expect(await trailerOf(r.secondary)).toMatchObject({ magic: 'good', imageOk: 'unset', copyDone: 'unset', swapType: 'test' });
    await r.bootControl.setPendingTest();
    expect(r.power.operations - before).toBe(2);
  });

  it('setPendingTest refuses a slot without a whole, intact image', async () => {
    const r = rig();
    const bytes = image('2.0.0+2');
    const writer = await r.bootControl.openInactiveSlot();
    await writer.write(bytes.subarray(0, 4000));
    await writer.finish();
    let error = await Promise.resolve(r.bootControl.setPendingTest()).catch((e: unknown) => e);
    expect(isOtaError(error, 'image-invalid')).toBe(true);
    expect((error as Error).message).toBe('secondary slot: TLV info at byte 6512: expected magic 0x6907, got 0xffff'); // erased where the TLVs should be

    const corrupt = bytes.slice();
    corrupt[3000] ^= 0xff;
    await writeSlot(r.bootControl, corrupt);
    error = await Promise.resolve(r.bootControl.setPendingTest()).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^secondary slot: hash mismatch/);

    const empty = rig();
    await (await empty.bootControl.openInactiveSlot()).finish();
    await expect(Promise.resolve(empty.bootControl.setPendingTest())).rejects.toThrow('secondary slot: MCUboot header ih_magic: expected 0x96f3b83d, got 0xffffffff');
    expect((await trailerOf(r.secondary)).magic).toBe('unset');
  });

  it('setPendingTest redoes a request a power cut interrupted: a torn magic, or the magic without its swap_info', async () => {
    const r = rig();
    await writeSlot(r.bootControl, image('2.0.0+2'));
    r.secondary.program(SLOT_BYTES - 16, Uint8Array.of(0x77, 0x00)); // torn magic (BOOT_EBADIMAGE as it stands)
    expect((await trailerOf(r.secondary)).magic).toBe('bad');
    await r.bootControl.setPendingTest();
    expect(await trailerOf(r.secondary)).toMatchObject({ magic: 'good', swapType: 'test' });

    const cut = rig();
    await writeSlot(cut.bootControl, image('2.0.0+3'));
    await writeMagic(cut.secondary, trailerLayoutFor(cut.secondary)); // the cut came before swap_info
    expect(await trailerOf(cut.secondary)).toMatchObject({ magic: 'good', swapType: 'none' });
    await cut.bootControl.setPendingTest();
    expect(await trailerOf(cut.secondary)).toMatchObject({ magic: 'good', swapType: 'test' });
    await cut.bootControl.setPendingTest(); // requested: nothing more is written
    expect(await trailerOf(cut.secondary)).toMatchObject({ magic: 'good', swapType: 'test' });
  });

  it('clearPending drops the request but keeps the image; the next boot swaps nothing', async () => {
    const r = rig();
    const bytes = image('2.0.0+2');
    await writeSlot(r.bootControl, bytes);
    await r.bootControl.setPendingTest();
    await r.bootControl.clearPending();
    expect(await trailerOf(r.secondary)).toMatchObject({ magic: 'unset', swapType: 'none' });
    expect(r.secondary.snapshot().subarray(0, bytes.length)).toEqual(bytes);
    expect(await r.boot()).toEqual({ version: '1.0.0+1', swap: 'none' });
    const before = r.power.operations;
    await r.bootControl.clearPending(); // nothing pending: no write
    expect(r.power.operations).toBe(before);
  });

  it('confirm: nothing to write on a factory image; image_ok on a trial image, once', async () => {
    const r = rig();
    let before = r.power.operations;
    await r.bootControl.confirm();
    expect(r.power.operations).toBe(before);

    await writeSlot(r.bootControl, image('2.0.0+2'));
    await r.bootControl.setPendingTest();
    await r.boot();
    before = r.power.operations;
    await r.bootControl.confirm();
    await r.bootControl.confirm();
    expect(r.power.operations - before).toBe(1);
    expect(await trailerOf(r.primary)).toMatchObject({ magic: 'good', imageOk: 'set', copyDone: 'set' });
  });

  it('confirm refuses a bad primary magic', async () => {
    const r = rig();
    r.primary.program(SLOT_BYTES - 16, Uint8Array.of(1, 2, 3));
    const error = await Promise.resolve(r.bootControl.confirm()).catch((e: unknown) => e);
    expect(isOtaError(error, 'storage-corrupt')).toBe(true);
  });

  it('while on trial: openInactiveSlot is refused; rejectTestImage writes nothing and the reset reverts', async () => {
    const r = rig();
    await writeSlot(r.bootControl, image('2.0.0+2'));
    await r.bootControl.setPendingTest();
    await r.boot();
    const error = await Promise.resolve(r.bootControl.openInactiveSlot()).catch((e: unknown) => e);
    expect(isOtaError(error, 'image-invalid')).toBe(true);
    expect((error as Error).message).toMatch(/on trial/);

    const before = r.power.operations;
    await r.bootControl.rejectTestImage();
    expect(r.power.operations).toBe(before);
    expect(await r.boot()).toEqual({ version: '1.0.0+1', swap: 'revert' });
    // Not on trial any more: rejecting again is a mistake, and opening the slot is allowed.
    await expect(Promise.resolve(r.bootControl.rejectTestImage())).rejects.toThrow(/not on trial/);
    await (await r.bootControl.openInactiveSlot()).abort();
  });
});
