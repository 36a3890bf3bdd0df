import { describe, expect, it } from 'vitest';
import { toHex } from '../../../base/bytes.ts';
import { isOtaError } from '../../../base/errors.ts';
import { sha256Noble } from '../../../platform/digest-noble.ts';
import { readEspAppVersion } from '../../../platform/esp-app-image.ts';
import {
  activeEntry, bootEspIdf, checkEspAppImage, decodeOtaEntry, encodeOtaEntry, OtaData, OtaState, otaSeqCrc, slotOfSeq,
} from '../../../simulator/board/esp-idf-ota.ts';
import { createSimEspOtaBootControl } from '../../../simulator/board/esp-ota-ops.ts';
import { NorFlash } from '../../../simulator/board/nor-flash.ts';
import { buildEspAppImage } from '../../../simulator/esp-app-image-builder.ts';

const SLOT = 64 * 1024;

function rig() {
  const otadata = new NorFlash({ byteLength: 0x2000, sectorBytes: 0x1000, writeGranule: 4 });
  const slots = [0, 1].map(() => new NorFlash({ byteLength: SLOT, sectorBytes: 0x1000, writeGranule: 4 })) as [NorFlash, NorFlash];
  slots[0].program(0, buildEspAppImage({ version: 'v-old', payload: new Uint8Array(3000).fill(1) }));
  slots[1].program(0, buildEspAppImage({ version: 'v-new', payload: new Uint8Array(3000).fill(2) }));
  const data = new OtaData(otadata);
  const entries = async () => (await data.read()).map((e) => ({ seq: e.seq, state: e.state }));
  const boot = () => bootEspIdf({ otadata, slots, sha256: sha256Noble });
  return { otadata, slots, data, entries, boot };
}

const E = (seq: number, state: number) => ({ seq, state });
const EMPTY = E(0xffffffff, 0xffffffff);

describe('otadata entries', () => {
  it('CRC is esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4), the values in the research note', () => {
    expect([1, 2, 3, 4, 5].map(otaSeqCrc)).toEqual([0x4743989a, 0x55f63774, 0xed4a5011, 0x709d68a8, 0xc8210fcd]);
  });

  it('encodes seq 1 NEW as the derived example: 01000000 | ff x20 | 00000000 | 9a984347', () => {
    expect(toHex(encodeOtaEntry(1, OtaState.NEW))).toBe(`01000000${'ff'.repeat(20)}000000009a984347`);
    expect(decodeOtaEntry(encodeOtaEntry(7, OtaState.VALID))).toEqual({ seq: 7, state: 2, crc: otaSeqCrc(7) });
  });

  it('selects the valid entry with the larger seq; INVALID, ABORTED, empty and bad-CRC entries are ineligible', () => {
    const entry = (seq: number, state: number, crc = otaSeqCrc(seq)) => ({ seq, state, crc });
    expect(activeEntry([entry(1, 2), entry(2, 0)])).toBe(1);
    expect(activeEntry([entry(3, 2), entry(2, 2)])).toBe(0);
    expect(activeEntry([entry(3, OtaState.ABORTED), entry(2, 2)])).toBe(1);
    expect(activeEntry([entry(3, OtaState.INVALID), entry(2, 2)])).toBe(1);
    expect(activeEntry([entry(3, 2, 0x1234), entry(2, 2)])).toBe(1);
    expect(activeEntry([entry(0xffffffff, 0xffffffff, 0xffffffff), entry(2, OtaState.PENDING_VERIFY)])).toBe(1);
    expect(activeEntry([entry(0xffffffff, 0xffffffff, 0xffffffff), entry(0xffffffff, 0xffffffff, 0xffffffff)])).toBe(-1);
    expect([1, 2, 3, 4].map(slotOfSeq)).toEqual([0, 1, 0, 1]);
  });
});

describe('ESP-IDF bootloader and BootControl, case by case', () => {
  it('erased otadata: boots ota_0 and records seq 1 VALID in entry 0 (set_actual_ota_seq)', async () => {
    const r = rig();
    expect(await r.boot()).toMatchObject({ slot: 0, version: 'v-old' });
    expect(await r.entries()).toEqual([E(1, OtaState.VALID), EMPTY]);
  });

  it('NEW becomes PENDING_VERIFY when booted; PENDING_VERIFY at the next boot becomes ABORTED and the other slot boots', async () => {
    const r = rig();
    await r.data.write(0, 1, OtaState.VALID);
    await r.data.write(1, 2, OtaState.NEW);
    expect(await r.boot()).toMatchObject({ slot: 1, version: 'v-new', aborted: [] });
    expect(await r.entries()).toEqual([E(1, OtaState.VALID), E(2, OtaState.PENDING_VERIFY)]);
    expect(await r.boot()).toMatchObject({ slot: 0, version: 'v-old', aborted: [1] });
    expect(await r.entries()).toEqual([E(1, OtaState.VALID), E(2, OtaState.ABORTED)]);
  });

  it('VALID stays VALID across boots; INVALID is skipped', async () => {
    const r = rig();
    await r.data.write(0, 1, OtaState.VALID);
    await r.data.write(1, 2, OtaState.VALID);
    expect((await r.boot()).slot).toBe(1);
    expect((await r.boot()).slot).toBe(1);
    await r.data.write(1, 2, OtaState.INVALID);
    expect((await r.boot()).slot).toBe(0);
    expect(await r.entries()).toEqual([E(1, OtaState.VALID), E(2, OtaState.INVALID)]);
  });

  it('the first OTA without a factory app that never confirms: entry 0 ABORTED, both invalid, ota_0 boots again', async () => {
    const r = rig();
    await r.data.write(0, 1, OtaState.NEW); // first set_boot_partition(ota_0) from an erased otadata
    expect((await r.boot()).slot).toBe(0);
    expect(await r.entries()).toEqual([E(1, OtaState.PENDING_VERIFY), EMPTY]);
    expect(await r.boot()).toMatchObject({ slot: 0, aborted: [0] });
    expect(await r.entries()).toEqual([E(1, OtaState.ABORTED), EMPTY]); // no set_actual_ota_seq: entry 0 is not empty
  });

  it('a selected slot whose image fails esp_image_verify falls back to the other slot; none at all throws', async () => {
    const r = rig();
    await r.data.write(0, 1, OtaState.VALID);
    await r.data.write(1, 2, OtaState.VALID);
    r.slots[1].program(100, new Uint8Array([0x55]));
    expect((await r.boot()).slot).toBe(0);
    r.slots[0].program(0, new Uint8Array([0x00]));
    const error = await r.boot().catch((e: unknown) => e);
    expect(isOtaError(error, 'image-invalid')).toBe(true);
    expect((error as Error).message).toMatch(/^no bootable image: ota_1: .*; ota_0: .*magic 0x00, expected 0xe9/);
  });

  it('set_boot_partition writes the other sector with the next seq for the target slot; slots and sectors alternate', async () => {
    const r = rig();
    let running = await r.boot(); // seq 1 VALID, ota_0
    const image = (version: string) => buildEspAppImage({ version, payload: new Uint8Array(2000).fill(version.length) });
    const seqs: [number, number][] = [];
    for (const version of ['a', 'bb', 'ccc']) {
      const bc = createSimEspOtaBootControl({ otadata: r.otadata, slots: r.slots, runningSlot: running.slot, sha256: sha256Noble });
      const writer = await bc.openInactiveSlot();
      await writer.write(image(version));
      await writer.finish();
      await bc.setPendingTest();
      running = await r.boot();
      expect(running.version).toBe(version);
      await createSimEspOtaBootControl({ otadata: r.otadata, slots: r.slots, runningSlot: running.slot, sha256: sha256Noble }).confirm();
      const entries = await r.entries();
      const active = activeEntry((await r.data.read()));
      seqs.push([active, entries[active]!.seq]);
      expect(entries[active]!.state).toBe(OtaState.VALID);
    }
    expect(seqs).toEqual([[1, 2], [0, 3], [1, 4]]);
  });

  it('esp_ota_begin runs in setPendingTest: writing the slot leaves otadata alone, then the new entry replaces the revert on record', async () => {
    const r = rig();
    await r.data.write(0, 1, OtaState.VALID);
    await r.data.write(1, 2, OtaState.ABORTED); // a revert of ota_1 is on record
    const bc = createSimEspOtaBootControl({ otadata: r.otadata, slots: r.slots, runningSlot: 0, sha256: sha256Noble });
    expect((await bc.state()).lastBootReverted).toBe(true);
    const writer = await bc.openInactiveSlot();
    await writer.write(buildEspAppImage({ version: 'v-next', payload: new Uint8Array(2000).fill(3) }));
    await writer.finish();
    expect(await r.entries()).toEqual([E(1, OtaState.VALID), E(2, OtaState.ABORTED)]);
    await bc.setPendingTest(); // begin erases entry 1 (the inactive one), set_boot_partition writes it NEW
    expect(await r.entries()).toEqual([E(1, OtaState.VALID), E(2, OtaState.NEW)]);
    expect((await bc.state()).lastBootReverted).toBe(false);
    await bc.clearPending(); // ota_clear_pending: the NEW entry for the next partition goes
    expect(await r.entries()).toEqual([E(1, OtaState.VALID), EMPTY]);
  });

  it('setPendingTest verifies the image first (ESP_ERR_OTA_VALIDATE_FAILED) and writes nothing when it is bad', async () => {
    const r = rig();
    const running = await r.boot();
    const bc = createSimEspOtaBootControl({ otadata: r.otadata, slots: r.slots, runningSlot: running.slot, sha256: sha256Noble });
    const writer = await bc.openInactiveSlot();
    const image = buildEspAppImage({ version: 'x', payload: new Uint8Array(1000) });
    await writer.write(image.subarray(0, 500));
    await writer.finish();
    const before = r.otadata.snapshot();
    await expect(bc.setPendingTest()).rejects.toMatchObject({ code: 'image-invalid' });
    expect(r.otadata.snapshot()).toEqual(before);
  });

  it('the slot writer refuses a first byte other than 0xE9 (esp_ota_write)', async () => {
    const r = rig();
    const running = await r.boot();
    const bc = createSimEspOtaBootControl({ otadata: r.otadata, slots: r.slots, runningSlot: running.slot, sha256: sha256Noble });
    const writer = await bc.openInactiveSlot();
    await expect(writer.write(new Uint8Array([0x96, 0xf3]))).rejects.toMatchObject({ code: 'image-invalid', message: expect.stringMatching(/byte 0: 0x96, expected 0xe9/) });
  });

  it('rejectTestImage needs a valid image to go back to (ESP_ERR_OTA_ROLLBACK_FAILED)', async () => {
    const r = rig();
    await r.data.write(0, 1, OtaState.NEW);
    const running = await r.boot(); // ota_0 on trial, nothing to go back to
    const bc = createSimEspOtaBootControl({ otadata: r.otadata, slots: r.slots, runningSlot: running.slot, sha256: sha256Noble });
    await expect(bc.rejectTestImage()).rejects.toMatchObject({ code: 'image-invalid', message: expect.stringMatching(/ROLLBACK_FAILED/) });
  });

  it('a cut between the erase and the write of a confirm loses the new entry: the old image boots, never none', async () => {
    const r = rig();
    await r.data.write(0, 1, OtaState.VALID);
    await r.data.write(1, 2, OtaState.NEW);
    const running = await r.boot();
    await r.otadata.eraseSector(1); // what a cut right after rewrite_ota_seq's erase leaves
    expect(await r.boot()).toMatchObject({ slot: 0, version: 'v-old' });
    expect(running.slot).toBe(1);
  });
});

describe('ESP app image', () => {
  it('readEspAppVersion reads esp_app_desc_t.version at byte 48', () => {
    const image = buildEspAppImage({ version: '1.2.3-rc.1', payload: new Uint8Array(10) });
    expect(image[0]).toBe(0xe9);
    expect(Array.from(image.subarray(32, 36))).toEqual([0x32, 0x54, 0xcd, 0xab]);
    expect(readEspAppVersion(image.subarray(0, 80))).toBe('1.2.3-rc.1');
    expect(readEspAppVersion(buildEspAppImage({ version: 'x'.repeat(31), payload: new Uint8Array(4) }))).toBe('x'.repeat(31));
  });

  it('readEspAppVersion names the bad field', () => {
    const image = buildEspAppImage({ version: '1', payload: new Uint8Array(10) });
    const bad = (mutate: (b: Uint8Array) => void) => {
      const copy = image.slice();
      mutate(copy);
      try {
        readEspAppVersion(copy);
      } catch (error) {
        expect(isOtaError(error, 'image-invalid')).toBe(true);
        return (error as Error).message;
      }
      return 'no error';
    };
    expect(bad((b) => (b[0] = 0xe8))).toMatch(/byte 0: magic 0xe8, expected 0xe9/);
    expect(bad((b) => (b[1] = 0))).toMatch(/segment_count 0/);
    expect(bad((b) => (b[33] = 0))).toMatch(/magic_word 0xabcd0032, expected 0xabcd5432/);
    expect(bad((b) => (b[48] = 0))).toMatch(/version is empty/);
    expect(() => readEspAppVersion(image.subarray(0, 79))).toThrow(/need the first 80 bytes/);
    expect(() => buildEspAppImage({ version: 'x'.repeat(32), payload: new Uint8Array(4) })).toThrow(RangeError);
  });

  it('the builder lays out checksum and SHA-256 as esp_image_verify expects, and the check catches each corruption', async () => {
    const image = buildEspAppImage({ version: '2.0.0', payload: new Uint8Array(5001).fill(0x5a) });
    expect((image.length - 32) % 16).toBe(0); // checksum ends a 16-byte block, SHA-256 follows
    const slot = new NorFlash({ byteLength: SLOT, sectorBytes: 0x1000, writeGranule: 4 });
    slot.program(0, image);
    expect(await checkEspAppImage(slot, sha256Noble)).toEqual({ version: '2.0.0', byteLength: image.length });
    const corrupt = async (at: number) => {
      const s = new NorFlash({ byteLength: SLOT, sectorBytes: 0x1000, writeGranule: 4 });
      const copy = image.slice();
      copy[at] ^= 0x10;
      s.program(0, copy);
      return (await checkEspAppImage(s, sha256Noble)).problem;
    };
    expect(await corrupt(1000)).toMatch(/checksum/);
    expect(await corrupt(image.length - 1)).toMatch(/SHA-256/);
    expect(await corrupt(4)).toMatch(/SHA-256/); // entry_addr: only the hash covers the header
    const truncated = new NorFlash({ byteLength: SLOT, sectorBytes: 0x1000, writeGranule: 4 });
    truncated.program(0, image.subarray(0, 3000));
    expect((await checkEspAppImage(truncated, sha256Noble)).problem).toBeDefined();
  });
});
