// The Moddable module emulations behave as the SDK's implementations do (shapes, error classes and
// texts from modules/io/*/esp32, zephyr, data/zlib), inside XS; the shared gunzip binding over the
// native inflate; and the ESP32 writer's erase-ahead in 64 KiB blocks.
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModdableBoot } from '../../simulator/moddable/device.ts';
import { RIGS } from './rig.ts';

const guestEntry = join(import.meta.dirname, 'emulation-guest.ts');
const esp32 = RIGS.find((r) => r.kind === 'esp-idf')!; // the first board of each family
const stm32 = RIGS.find((r) => r.kind === 'mcuboot')!;

type Outcome = { ok?: unknown; error?: string; message?: string; code?: string };

describe('Moddable emulations on the esp32 board (ESP-IDF model)', () => {
  let boot: ModdableBoot;
  const device = esp32.device({ seed: 21 });
  beforeAll(async () => {
    boot = await ModdableBoot.start({ board: esp32.board, device, guestEntry });
  });
  afterAll(async () => {
    await boot?.close();
    await device.close();
  });
  const probe = async (name: string, args: object = {}) => (await boot.harness.job<Record<string, Outcome>>('probe', { name, ...args })).value;

  it('embedded:storage/flash: partitions by name, ESP32 status without writeAlign, read-only and errors as the SDK words them', async () => {
    const r = await probe('flash');
    expect(r.missing).toMatchObject({ error: 'Error', message: "can't find partition" });
    expect(r.badMode).toMatchObject({ error: 'Error', message: 'invalid mode' });
    expect(r.status!.ok).toEqual({ size: 256 * 1024, blockLength: 4096, blocks: 64 });
    expect(r.readOnly).toMatchObject({ error: 'Error', message: 'read-only' });
    expect(r.read!.ok).toEqual(new Uint8Array([0xe9])); // the running app's image magic
    expect(r.names!.ok).toEqual(expect.arrayContaining(['nvs', 'otadata']));
  });

  it('embedded:update: esp_ota_begin refuses the running slot; append mode takes no offset; esp_ota_write wants the magic; end/complete once', async () => {
    const r = await probe('update');
    expect(r.runningTarget).toMatchObject({ error: 'Error', message: 'begin failed' });
    expect(r.badMode).toMatchObject({ error: 'RangeError', message: 'invalid mode' });
    expect(r.noPartition).toMatchObject({ error: 'Error', message: 'no partition' });
    expect(r.offset).toMatchObject({ error: 'Error', message: 'offset not allowed' });
    expect(r.badMagic).toMatchObject({ error: 'Error', message: 'write failed' });
    expect(r.endEmpty).toMatchObject({ error: 'Error', message: 'end failed' });
    expect(r.again).toMatchObject({ error: 'Error', message: 'already complete' });
    expect(r.closeTwice).toEqual({ ok: undefined });
  });

  it('embedded:storage/key-value: NVS types per key ("mismatch"), the 15-character limit, read-only and formats', async () => {
    const r = await probe('keyValue');
    expect(r.roundTrip!.ok).toEqual(new Uint8Array([1, 2, 3]));
    expect(r.intoBuffer!.ok).toBe(3);
    expect(r.mismatch).toMatchObject({ error: 'TypeError', message: 'mismatch' });
    expect(r.tooLong).toMatchObject({ error: 'Error', message: 'ESP_ERR_NVS_KEY_TOO_LONG' });
    expect(r.readOnly).toMatchObject({ error: 'Error', message: 'read-only' });
    expect(r.badFormat).toMatchObject({ error: 'RangeError', message: 'unsupported' });
    expect(r.missing).toEqual({ ok: undefined });
  });

  it('mc/ffi: only the manifest\'s functions exist, with their arity; pointer arguments are filled', async () => {
    const r = await probe('ffi');
    expect(r.undeclared!.ok).toBe('undefined'); // esp_restart is not in boards/_esp-idf/manifest.json
    expect(r.arity).toMatchObject({ error: 'TypeError' });
    const mac = boot.booted.identity.mac!.split(':').map((h) => parseInt(h, 16));
    expect(r.mac!.ok).toEqual(mac);
  });

  it('mc/ffi: a T* argument is an ArrayBuffer, nothing else (xsffi.c:32-43 → xsDataView.c:430-441), written from its byte 0', async () => {
    const r = await probe('ffi');
    expect(r.view).toEqual({ error: 'TypeError', message: 'not an ArrayBuffer instance' });
    expect(r.dataView).toEqual({ error: 'TypeError', message: 'not an ArrayBuffer instance' });
    expect(r.subarray).toEqual({ error: 'TypeError', message: 'not an ArrayBuffer instance' });
    // subarray(8, 14).buffer: the native's pointer is byte 0 of the 16, not byte 8
    const mac = boot.booted.identity.mac!.split(':').map((h) => parseInt(h, 16));
    expect(r.subarrayBuffer!.ok).toEqual([...mac, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // the uint32_t offset 2^32 + 4 reaches the native as 4: only bytes 4..7 are written
    expect(r.wrappedOffset!.ok).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0].map((b, i) => (i >= 4 && i < 8 ? expect.any(Number) : b)));
  });

  it('mc/ffi: arguments convert as XS->toInteger/toUnsigned/toNumber/toBigInt64 do, then truncate to the C width', async () => {
    const r = await probe('ffiConversions');
    const row = (label: string) => r[label]!.ok as Record<string, unknown>;
    expect(row('big')).toMatchObject({ int8_t: -1, uint8_t: 255, int16_t: 511, uint16_t: 511, int32_t: 511, uint32_t: 511, float: 511, 'char*': '511' });
    expect(row('big').int64_t).toMatch(/^TypeError: cannot coerce number to bigint/);
    expect(row('negative')).toMatchObject({ int8_t: 127, uint8_t: 127, int16_t: -129, uint16_t: 65407, int32_t: -129, uint32_t: 4294967167 });
    expect(row('wide')).toMatchObject({ int8_t: 112, uint8_t: 112, int16_t: 4464, uint16_t: 4464, int32_t: 70000, uint32_t: 70000 });
    expect(row('over32')).toMatchObject({ int8_t: 5, uint8_t: 5, int16_t: 5, uint16_t: 5, int32_t: 5, uint32_t: 5, float: 4294967296 });
    expect(row('fraction')).toMatchObject({ int8_t: -1, uint8_t: 255, int16_t: -1, uint16_t: 65535, int32_t: -1, uint32_t: 4294967295, float: Math.fround(-1.9) });
    expect(row('text')).toMatchObject({ int8_t: 12, uint32_t: 12, int64_t: '12n', 'char*': '12' });
    expect(row('nil')).toMatchObject({ int8_t: 0, uint32_t: 0, 'char*': 'null' });
    expect(row('nan')).toMatchObject({ int32_t: 0, uint32_t: 0, float: 'NaN' });
    expect(row('bigint')).toMatchObject({ int64_t: '-1n', uint64_t: '18446744073709551615n', 'char*': '-1' });
    expect(row('bigint').int32_t).toMatch(/^TypeError/);
    expect(row('sym')['char*']).toMatch(/^TypeError/);
    expect(r.sizedShort).toEqual({ error: 'RangeError', message: 'invalid buffer size 4' });
    expect(r.sizedOk).toEqual({ ok: 6 });
  });

  it('the gunzip binding over the native inflate: any chunking; ISIZE, truncation and magic failures are artifact-format; CRC-32 left to the SHA-256', async () => {
    const data = new Uint8Array(12_000).map((_, i) => (i * 31) ^ (i >> 7));
    const r = await probe('gunzip', { gzip: new Uint8Array(gzipSync(data)) });
    for (const name of ['whole', 'byteByByte', 'pieces']) expect(r[name]!.ok, name).toEqual(data);
    expect(r.corruptTrailer).toMatchObject({ error: 'OtaError', code: 'artifact-format', message: expect.stringMatching(/ISIZE/) });
    // No per-byte CRC loop in JS on a device: the artifact's SHA-256 covers every inflated byte.
    expect(r.corruptCrc!.ok).toEqual(data);
    expect(r.truncated).toMatchObject({ error: 'OtaError', code: 'artifact-format', message: expect.stringMatching(/truncated/) });
    expect(r.notGzip).toMatchObject({ error: 'OtaError', code: 'artifact-format', message: expect.stringMatching(/magic/) });
  });

  it('the gunzip binding joins thousands of 1 KiB native pieces from one push (zero-filled padding) without overflowing the XS stack', async () => {
    const zeros = new Uint8Array(4 << 20); // 4 MiB → 4096 pieces, all from the one push
    const r = await probe('gunzipOnce', { gzip: new Uint8Array(gzipSync(zeros)) });
    expect(r.whole).toEqual({ ok: zeros.length });
  });
});

describe('the ESP32 slot writer erases ahead in 64 KiB blocks', () => {
  it('one block erase per 64 KiB, at most 4 sectors for an unaligned stretch, and the image reads back', async () => {
    const device = esp32.device({ seed: 22 });
    const boot = await ModdableBoot.start({ board: esp32.board, device });
    try {
      const image = esp32.makeImage('1.1.0', 150_000);
      const bc = boot.bootControl();
      const writer = await bc.openInactiveSlot();
      for (let at = 0; at < image.length; at += 4096) await writer.write(image.subarray(at, at + 4096));
      await writer.finish();
      const nextota = boot.host.partitions.find((p) => p.name === 'ota_1')!;
      expect(nextota.erases).toEqual([[0, 16], [16, 32], [32, 48]]); // 150 KB → three 64 KiB blocks, one call each
      const back = new Uint8Array(image.length);
      await bc.readInactiveSlot(0, back);
      expect(back).toEqual(image);
      // A resume from an unaligned sector erases up to the next block boundary, ≤ 4 sectors a call.
      nextota.erases.length = 0;
      const resumed = await bc.openInactiveSlot({ resumeAt: 5 * 4096 });
      await resumed.write(image.subarray(5 * 4096, 40 * 4096));
      expect(nextota.erases).toEqual([[5, 9], [9, 13], [13, 16], [16, 32], [32, 48]]);
      await resumed.abort();
    } finally {
      await boot.close();
      await device.close();
    }
  });
});

describe('Moddable emulations on the stm32 board (Zephyr, MCUboot model)', () => {
  it('flash status reports writeAlign and eraseValue (Zephyr), slots by devicetree label; no embedded:update', async () => {
    const device = stm32.device({ seed: 23 });
    const boot = await ModdableBoot.start({ board: stm32.board, device, guestEntry });
    try {
      expect(boot.info.flash.secondary).toEqual({ byteLength: stm32.slotBytes, sectorBytes: stm32.flash.sectorBytes, writeGranule: stm32.flash.writeGranule, erasedByte: 0xff });
      expect(boot.host.partitions.map((p) => p.name)).toEqual(['image-0', 'image-1']);
      const r = (await boot.harness.job<Record<string, Outcome>>('probe', { name: 'update' }).catch((e: Error) => ({ value: { error: { message: e.message } } }))).value;
      expect(JSON.stringify(r)).toMatch(/can't find partition|unsupported target/);
    } finally {
      await boot.close();
      await device.close();
    }
  });
});
