// The esp-ota module against the ESP-IDF OTA BootControl over simulated NOR flash and the
// simulated second-stage bootloader (rollback enabled): checks, trial boot, commit, revert.
import { describe, expect, it } from 'vitest';
import type { Board } from '../../../platform/board.ts';
import type { BootControl } from '../../../platform/boot-control.ts';
import { sha256Noble } from '../../../platform/digest-noble.ts';
import { verifierNoble } from '../../../platform/verifier-noble.ts';
import type { PayloadFile, PayloadInfo } from '../../../core/artifact/types.ts';
import { OtaError } from '../../../base/errors.ts';
import { createEspOtaModule } from '../../../core/modules/esp-ota.ts';
import type { ModuleDownload, UpdateModuleContext } from '../../../core/modules/update-module.ts';
import { NorFlash } from '../../../simulator/board/nor-flash.ts';
import { bootEspIdf } from '../../../simulator/board/esp-idf-ota.ts';
import { createSimEspOtaBootControl } from '../../../simulator/board/esp-ota-ops.ts';
import { buildEspAppImage } from '../../../simulator/esp-app-image-builder.ts';

const SLOT_BYTES = 64 * 1024;

function payload(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 13 + seed * 5 + (i >> 7)) & 0xff;
  return out;
}

/** otadata + ota_0 (app 1.0.0) + ota_1; `reset()` runs the bootloader and rebuilds BootControl. */
async function rig() {
  const geometry = { sectorBytes: 4096, writeGranule: 4 };
  const otadata = new NorFlash({ byteLength: 8192, ...geometry });
  const slots = [new NorFlash({ byteLength: SLOT_BYTES, ...geometry }), new NorFlash({ byteLength: SLOT_BYTES, ...geometry })] as const;
  slots[0].program(0, buildEspAppImage({ version: '1.0.0', payload: payload(9000, 1) }));
  let bootControl: BootControl;
  const reset = async () => {
    const booted = await bootEspIdf({ otadata, slots, sha256: sha256Noble });
    bootControl = createSimEspOtaBootControl({ otadata, slots, runningSlot: booted.slot, sha256: sha256Noble });
    return booted;
  };
  await reset();
  const board = {
    get bootControl() {
      return bootControl;
    },
    sha256: sha256Noble,
    verifier: verifierNoble,
    system: {
      restart(): never {
        throw new Error('restart');
      },
    },
  } as unknown as Board;
  const context: UpdateModuleContext = { board, log: () => {} };
  return { context, reset, slots, bootControl: () => bootControl };
}

const INFO: PayloadInfo = { index: 0, type: 'esp-ota', provides: {}, depends: {}, clearsProvides: [], metaData: null, files: [] };
const file = (image: Uint8Array): PayloadFile => ({ payloadIndex: 0, name: 'app.bin', size: image.length, artifactOffset: 2560 });

async function store(download: ModuleDownload, image: Uint8Array, chunk: number): Promise<void> {
  await download.open(file(image), 0);
  for (let at = 0; at < image.length; at += chunk) await download.write(image.subarray(at, at + chunk));
  await download.close(file(image));
}

describe('esp-ota module', () => {
  const module = createEspOtaModule();

  it('stores an app image, reads its version, boots it as PENDING_VERIFY and commits', async () => {
    const r = await rig();
    const image = buildEspAppImage({ version: '1.1.0', payload: payload(20000, 2) });
    const download = await module.download(r.context, INFO);
    await store(download, image, 100); // the 288-byte header spans several chunks
    const facts = await module.verify(r.context, download, {});
    expect(facts).toEqual({ version: '1.1.0' });
    await module.install(r.context, facts);
    expect((await r.reset()).version).toBe('1.1.0');
    await module.verifyReboot(r.context, facts);
    await module.commit(r.context, facts);
    expect((await r.reset()).version).toBe('1.1.0');
    expect((await r.bootControl().state()).isTestBoot).toBe(false);
  });

  it('re-checks the stored image after a reset, and catches a wrong appended SHA-256', async () => {
    const r = await rig();
    const image = buildEspAppImage({ version: '1.2.0', payload: payload(7000, 3) });
    await store(await module.download(r.context, INFO), image, 4096);
    expect(await module.verify(r.context, undefined, { fileSize: image.length })).toEqual({ version: '1.2.0' });
    const bad = image.slice();
    bad[bad.length - 1]! ^= 0xff; // the appended hash itself
    const download = await module.download(r.context, INFO);
    await store(download, bad, 1000);
    await expect(module.verify(r.context, download, {})).rejects.toThrow(/appended SHA-256 [0-9a-f]{64} does not match the image's [0-9a-f]{64}/);
    await expect(module.verify(r.context, undefined, { fileSize: bad.length })).rejects.toMatchObject({ code: 'image-invalid' });
    await expect(module.verify(r.context, undefined, {})).rejects.toThrow(/size is unknown/);
  });

  it('anti-rollback: an app below minImageVersion or with a secure_version below minSecurityCounter is refused at verify (streamed and re-checked)', async () => {
    const r = await rig();
    const attempt = async (version: string, secureVersion: number, extra: Partial<UpdateModuleContext>) => {
      const context = { ...r.context, ...extra };
      const image = buildEspAppImage({ version, secureVersion, payload: payload(5000, 4) });
      const download = await module.download(context, INFO);
      await store(download, image, 1000);
      const streamed = await Promise.resolve().then(() => module.verify(context, download, {})).catch((error: unknown) => error);
      const stored = await Promise.resolve().then(() => module.verify(context, undefined, { fileSize: image.length })).catch((error: unknown) => error);
      expect(stored).toEqual(streamed);
      if (streamed instanceof Error) throw streamed;
      return streamed;
    };
    await expect(attempt('1.0.1', 0, { minImageVersion: '1.1.0' })).rejects.toMatchObject({
      code: 'image-downgrade',
      message: 'esp-ota: image version 1.0.1 is below the minimum 1.1.0 (minImageVersion)',
    });
    await expect(attempt('v1.2', 0, { minImageVersion: '1.1.0' })).rejects.toMatchObject({
      code: 'image-downgrade',
      message: 'esp-ota: image version expected major.minor.revision[+build] (minImageVersion 1.1.0 set), got "v1.2"',
    });
    await expect(attempt('2.0.0', 2, { minSecurityCounter: 3 })).rejects.toMatchObject({
      code: 'image-downgrade',
      message: 'esp-ota: image 2.0.0 security counter 2 is below the minimum 3 (minSecurityCounter)',
    });
    expect(await attempt('2.0.0', 3, { minImageVersion: '2.0.0', minSecurityCounter: 3 })).toEqual({ version: '2.0.0' });
    expect(await attempt('0.9.0', 0, {})).toEqual({ version: '0.9.0' }); // opt-in
    expect((await r.bootControl().state()).isTestBoot).toBe(false);
  });

  it('refuses a file that is not an app image at its first bytes', async () => {
    const r = await rig();
    const junk = payload(5000, 4);
    const download = await module.download(r.context, INFO);
    await download.open(file(junk), 0);
    const error = await Promise.resolve(download.write(junk)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OtaError);
    expect((error as OtaError).message).toMatch(/magic 0x[0-9a-f]{2}, expected 0xe9/);
  });

  it('detects the bootloader abort of an app that never confirmed', async () => {
    const r = await rig();
    const image = buildEspAppImage({ version: '1.1.0', payload: payload(6000, 5) });
    const download = await module.download(r.context, INFO);
    await store(download, image, 4096);
    const facts = await module.verify(r.context, download, {});
    await module.install(r.context, facts);
    await r.reset(); // PENDING_VERIFY
    await r.reset(); // aborted: back to ota_0
    await expect(module.verifyReboot(r.context, facts)).rejects.toThrow(/expected image 1\.1\.0 to run after the reboot, found 1\.0\.0 \(the bootloader reverted it\)/);
    expect(await module.rollback(r.context)).toBe('done');
    await module.verifyRollback(r.context, { fromVersion: '1.0.0' });
  });
});
