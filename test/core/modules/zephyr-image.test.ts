// The zephyr-image module against the MCUboot BootControl over simulated NOR flash and the
// simulated bootloader: download (streaming checks), verify gates, resume, install, revert, commit.
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import type { Board } from '../../../platform/board.ts';
import { createMcubootBootControl } from '../../../platform/boot-control-mcuboot.ts';
import { sha256Noble } from '../../../platform/digest-noble.ts';
import { parsePublicKeyPem } from '../../../platform/public-key.ts';
import { verifierNoble } from '../../../platform/verifier-noble.ts';
import type { PublicKey } from '../../../platform/verifier.ts';
import type { PayloadFile, PayloadInfo } from '../../../core/artifact/types.ts';
import { OtaError } from '../../../base/errors.ts';
import { createZephyrImageModule } from '../../../core/modules/zephyr-image.ts';
import { createUpdateModuleRegistry, type ModuleDownload, type UpdateModule, type UpdateModuleContext } from '../../../core/modules/update-module.ts';
import { NorFlash } from '../../../simulator/board/nor-flash.ts';
import { bootMcuboot } from '../../../simulator/board/mcuboot-bootloader.ts';
import { buildMcubootImage } from '../../../simulator/mcuboot-imgtool.ts';

const SLOT_BYTES = 64 * 1024;
const SECTOR_BYTES = 2048;

function keys(): { privatePem: string; publicKey: PublicKey } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: parsePublicKeyPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}
const BOOT = keys();
const OTHER = keys();

function payload(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

class Restart extends Error {
  override readonly name = 'Restart';
}

/** Two NOR slots, MCUboot's BootControl over them, and a bootloader run on "reset". */
function rig(bootKey: PublicKey | null = BOOT.publicKey) {
  const primary = new NorFlash({ byteLength: SLOT_BYTES, sectorBytes: SECTOR_BYTES, writeGranule: 8 });
  const secondary = new NorFlash({ byteLength: SLOT_BYTES, sectorBytes: SECTOR_BYTES, writeGranule: 8 });
  primary.program(0, buildMcubootImage({ version: '1.0.0', payload: payload(8000, 1), privateKeyPem: BOOT.privatePem }));
  const bootControl = createMcubootBootControl({ primary, secondary, sha256: sha256Noble });
  const board = {
    name: 'test',
    identity: {},
    inventory: {},
    bootControl,
    sha256: sha256Noble,
    verifier: verifierNoble,
    system: {
      restart(): never {
        throw new Restart('restart');
      },
      resetReason: () => 'power-on',
      wallClockMs: () => NaN,
      log: () => {},
      randomBytes: (n: number) => new Uint8Array(n),
    },
    flash: { primary, secondary },
  } as unknown as Board;
  const lines: string[] = [];
  const context: UpdateModuleContext = { board, bootKey: bootKey ?? undefined, log: (_level, message) => lines.push(message) };
  const reset = () => bootMcuboot({ primary, secondary, key: BOOT.publicKey, verifier: verifierNoble, sha256: sha256Noble });
  return { primary, secondary, bootControl, context, lines, reset };
}

const PAYLOAD_INFO: PayloadInfo = { index: 0, type: 'zephyr-image', provides: {}, depends: {}, clearsProvides: [], metaData: null, files: [] };

function fileOf(image: Uint8Array): PayloadFile {
  return { payloadIndex: 0, name: 'zephyr.signed.bin', size: image.length, artifactOffset: 3072 };
}

/** Streams `image` into a download in chunks of `chunk` bytes. */
async function stream(download: ModuleDownload, image: Uint8Array, chunk: number, from = 0): Promise<void> {
  for (let at = from; at < image.length; at += chunk) await download.write(image.subarray(at, Math.min(image.length, at + chunk)));
  await download.close(fileOf(image));
}

async function rejection(promise: Promise<unknown> | unknown): Promise<OtaError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OtaError);
    return error as OtaError;
  }
  throw new Error('expected a rejection');
}

describe('zephyr-image module', () => {
  const module = createZephyrImageModule();

  it('streams, verifies, installs as a test boot, runs on trial after the reset and commits', async () => {
    const r = rig();
    const image = buildMcubootImage({ version: '1.1.0+7', payload: payload(20000, 2), privateKeyPem: BOOT.privatePem });
    const download = await module.download(r.context, PAYLOAD_INFO);
    await download.open(fileOf(image), 0);
    await stream(download, image, 777);
    const facts = await module.verify(r.context, download, {});
    expect(facts).toEqual({ version: '1.1.0+7' });
    await module.install(r.context, facts);
    await expect(module.reboot(r.context, facts)).rejects.toBeInstanceOf(Restart);
    expect(await r.reset()).toMatchObject({ version: '1.1.0+7', swap: 'test' });
    await module.verifyReboot(r.context, facts);
    // A reset that came first: install and reboot see the new image on trial and do nothing.
    await module.install(r.context, facts);
    await module.reboot(r.context, facts);
    await module.commit(r.context, facts);
    await module.commit(r.context, facts); // idempotent after a reset right after confirm
    expect(await r.reset()).toMatchObject({ version: '1.1.0+7', swap: 'none' });
    expect((await r.bootControl.state()).isTestBoot).toBe(false);
  });

  it('anti-rollback: an image below minImageVersion, or with a SEC_CNT below minSecurityCounter, is refused before anything is pending', async () => {
    const secCnt = (n: number) => [{ type: 0x50, value: new Uint8Array([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24]) }];
    const attempt = async (version: string, extra: Partial<UpdateModuleContext>, counter?: number) => {
      const r = rig();
      const context = { ...r.context, ...extra };
      const image = buildMcubootImage({ version, payload: payload(9000, 3), privateKeyPem: BOOT.privatePem, protectedTlvs: counter === undefined ? undefined : secCnt(counter) });
      const download = await module.download(context, PAYLOAD_INFO);
      await download.open(fileOf(image), 0);
      await stream(download, image, 1000);
      return module.verify(context, download, {}); // verify: the gate before install marks anything pending
    };
    // A downgrade below the minimum, and the build number only when the minimum gives one.
    const down = await rejection(attempt('1.0.9+99', { minImageVersion: '1.1.0' }));
    expect(down.code).toBe('image-downgrade');
    expect(down.message).toBe('zephyr-image: image version 1.0.9+99 is below the minimum 1.1.0 (minImageVersion)');
    expect(await attempt('1.1.0', { minImageVersion: '1.1.0' })).toEqual({ version: '1.1.0+0' });
    expect((await rejection(attempt('1.1.0+3', { minImageVersion: '1.1.0+4' }))).code).toBe('image-downgrade');
    expect(await attempt('1.0.0', {})).toEqual({ version: '1.0.0+0' }); // opt-in: no minimum, no refusal
    // MCUboot's security counter, when the image carries one.
    const counter = await rejection(attempt('2.0.0', { minSecurityCounter: 5 }, 4));
    expect(counter.code).toBe('image-downgrade');
    expect(counter.message).toBe('zephyr-image: image 2.0.0+0 security counter 4 is below the minimum 5 (minSecurityCounter)');
    expect(await attempt('2.0.0', { minSecurityCounter: 5 }, 5)).toEqual({ version: '2.0.0+0' });
    expect(await attempt('2.0.0', { minSecurityCounter: 5 })).toEqual({ version: '2.0.0+0' }); // no SEC_CNT TLV
  });

  it('re-verifies the stored image from flash when a reset lost the streaming verdict', async () => {
    const r = rig();
    const image = buildMcubootImage({ version: '1.2.0', payload: payload(9000, 3), privateKeyPem: BOOT.privatePem });
    const download = await module.download(r.context, PAYLOAD_INFO);
    await download.open(fileOf(image), 0);
    await stream(download, image, 4096);
    expect(await module.verify(r.context, undefined, { fileSize: image.length })).toEqual({ version: '1.2.0+0' });
    // A byte flipped in flash after the download is caught by the re-check.
    const at = 1000;
    r.secondary.program(at - (at % 8), new Uint8Array(8)); // clears bits: the image no longer hashes
    const error = await rejection(module.verify(r.context, undefined, { fileSize: image.length }));
    expect(error.code).toBe('image-invalid');
  });

  it('resumes at a durable offset: the verifier is rebuilt from the bytes read back', async () => {
    const r = rig();
    const image = buildMcubootImage({ version: '1.3.0', payload: payload(30000, 4), privateKeyPem: BOOT.privatePem });
    const first = await module.download(r.context, PAYLOAD_INFO);
    await first.open(fileOf(image), 0);
    for (let at = 0; at < 17000; at += 1000) await first.write(image.subarray(at, at + 1000));
    const resumeAt = first.durableOffset;
    expect(resumeAt % SECTOR_BYTES).toBe(0);
    expect(resumeAt).toBeGreaterThanOrEqual(SECTOR_BYTES * 7);
    // "Reset": a new download opens at the checkpoint and the reader reads [0, resumeAt) back.
    const second = await module.download(r.context, PAYLOAD_INFO);
    await second.open(fileOf(image), resumeAt);
    const back = new Uint8Array(4096);
    for (let at = 0; at < resumeAt; at += back.length) {
      const part = back.subarray(0, Math.min(back.length, resumeAt - at));
      await second.readBack!(at, part);
      expect(part).toEqual(image.subarray(at, at + part.length));
    }
    await stream(second, image, 3000, resumeAt);
    expect(await module.verify(r.context, second, {})).toEqual({ version: '1.3.0+0' });
  });

  it('refuses an image larger than the slot before writing a byte', async () => {
    const r = rig();
    const image = buildMcubootImage({ version: '2.0.0', payload: payload(SLOT_BYTES, 5), privateKeyPem: BOOT.privatePem });
    const download = await module.download(r.context, PAYLOAD_INFO);
    const error = await rejection(download.open(fileOf(image), 0));
    expect(error.code).toBe('image-invalid');
    expect(error.message).toMatch(/bytes, the inactive slot takes at most \d+/);
    expect(r.secondary.eraseCounts.every((n) => n === 0)).toBe(true);
  });

  it('refuses a header whose sizes disagree with the file, at the header', async () => {
    const r = rig();
    const image = buildMcubootImage({ version: '2.0.0', payload: payload(5000, 6), privateKeyPem: BOOT.privatePem });
    const cut = image.subarray(0, 4000);
    const download = await module.download(r.context, PAYLOAD_INFO);
    await download.open(fileOf(cut), 0);
    const error = await rejection(download.write(cut.subarray(0, 100)));
    expect(error.message).toMatch(/header says at least \d+ bytes \(header, image and TLV info\), the file has 4000/);
  });

  const gates: [string, () => Uint8Array, string, RegExp, PublicKey | null][] = [
    ['an unsigned image with a boot key', () => buildMcubootImage({ version: '1.1.0', payload: payload(4000, 7) }), 'signature-missing', /unsigned, but a boot key is configured/, BOOT.publicKey],
    ['an image signed by another key', () => buildMcubootImage({ version: '1.1.0', payload: payload(4000, 8), privateKeyPem: OTHER.privatePem }), 'signature-invalid', /MCUboot image 1\.1\.0/, BOOT.publicKey],
    [
      'an image with a corrupted body',
      () => {
        const image = buildMcubootImage({ version: '1.1.0', payload: payload(4000, 9), privateKeyPem: BOOT.privatePem });
        image[0x200 + 10]! ^= 1;
        return image;
      },
      'image-invalid',
      /MCUboot image 1\.1\.0: .*hash|SHA256/i,
      BOOT.publicKey,
    ],
  ];
  for (const [name, make, code, message, key] of gates) {
    it(`fails verify on ${name}`, async () => {
      const r = rig(key);
      const image = make();
      const download = await module.download(r.context, PAYLOAD_INFO);
      await download.open(fileOf(image), 0);
      await stream(download, image, 1024);
      const error = await rejection(module.verify(r.context, download, {}));
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
    });
  }

  it('accepts an unsigned image when no boot key is configured (hash still checked)', async () => {
    const r = rig(null);
    const image = buildMcubootImage({ version: '1.1.0', payload: payload(4000, 10) });
    const download = await module.download(r.context, PAYLOAD_INFO);
    await download.open(fileOf(image), 0);
    await stream(download, image, 1024);
    expect(await module.verify(r.context, download, {})).toEqual({ version: '1.1.0+0' });
  });

  it('detects a revert: the new image never confirmed and the bootloader went back', async () => {
    const r = rig();
    const image = buildMcubootImage({ version: '1.1.0', payload: payload(6000, 11), privateKeyPem: BOOT.privatePem });
    const download = await module.download(r.context, PAYLOAD_INFO);
    await download.open(fileOf(image), 0);
    await stream(download, image, 2048);
    const facts = await module.verify(r.context, download, {});
    await module.install(r.context, facts);
    await r.reset(); // test boot of 1.1.0
    await r.reset(); // no confirm: revert to 1.0.0
    const error = await rejection(module.verifyReboot(r.context, facts));
    expect(error.code).toBe('revert-detected');
    expect(error.message).toMatch(/expected image 1\.1\.0\+0 to run after the reboot, found 1\.0\.0\+0/);
    await expect(module.commit(r.context, facts)).rejects.toMatchObject({ code: 'revert-detected' });
    expect(await module.rollback(r.context)).toBe('done');
    await module.verifyRollback(r.context, { fromVersion: '1.0.0+0' });
    await module.failure(r.context);
    expect(await r.reset()).toMatchObject({ version: '1.0.0+0', swap: 'none' });
  });

  it('rolls back a test boot: reject, restart, the old image runs again', async () => {
    const r = rig();
    const image = buildMcubootImage({ version: '1.1.0', payload: payload(6000, 12), privateKeyPem: BOOT.privatePem });
    const download = await module.download(r.context, PAYLOAD_INFO);
    await download.open(fileOf(image), 0);
    await stream(download, image, 2048);
    const facts = await module.verify(r.context, download, {});
    await module.install(r.context, facts);
    await r.reset();
    expect(await module.rollback(r.context)).toBe('restart');
    await r.reset();
    await module.verifyRollback(r.context, { fromVersion: '1.0.0+0' });
    expect((await r.bootControl.state()).runningVersion).toBe('1.0.0+0');
  });

  it('withdraws a pending image that never booted', async () => {
    const r = rig();
    const image = buildMcubootImage({ version: '1.1.0', payload: payload(6000, 13), privateKeyPem: BOOT.privatePem });
    const download = await module.download(r.context, PAYLOAD_INFO);
    await download.open(fileOf(image), 0);
    await stream(download, image, 2048);
    await module.install(r.context, await module.verify(r.context, download, {}));
    expect(await module.rollback(r.context)).toBe('done');
    expect(await r.reset()).toMatchObject({ version: '1.0.0+0', swap: 'none' });
  });

  it('refuses a second file in the payload', async () => {
    const r = rig();
    const image = buildMcubootImage({ version: '1.1.0', payload: payload(3000, 14), privateKeyPem: BOOT.privatePem });
    const download = await module.download(r.context, PAYLOAD_INFO);
    await download.open(fileOf(image), 0);
    await stream(download, image, 2048);
    const error = await rejection(download.open({ ...fileOf(image), name: 'second.bin' }, 0));
    expect(error.message).toMatch(/expected one image file, got a second one "second.bin"/);
  });
});

describe('UpdateModuleRegistry', () => {
  it('registers, looks up and replaces by type, and refuses incomplete modules', () => {
    const zephyr = createZephyrImageModule();
    const registry = createUpdateModuleRegistry([zephyr]);
    expect(registry.get('zephyr-image')).toBe(zephyr);
    expect(registry.get('nope')).toBeUndefined();
    const custom: UpdateModule = { ...zephyr, type: 'zephyr-image' };
    registry.registerUpdateModule(custom);
    expect(registry.get('zephyr-image')).toBe(custom);
    expect(registry.types).toEqual(['zephyr-image']);
    expect(() => registry.registerUpdateModule({ ...zephyr, type: '' })).toThrow(TypeError);
    expect(() => registry.registerUpdateModule({ ...zephyr, type: 'x', commit: undefined } as unknown as UpdateModule)).toThrow(/"commit" expected a function/);
  });
});
