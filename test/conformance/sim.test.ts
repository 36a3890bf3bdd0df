// The conformance kit against the simulated board: every bootloader model on each flash part it ships on.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import { buildEspAppImage } from '../../simulator/esp-app-image-builder.ts';
import { buildMcubootImage } from '../../simulator/mcuboot-imgtool.ts';
import { NorFlash } from '../../simulator/board/nor-flash.ts';
import { DeviceRestart, SimDevice, type BootedBoard, type FlashGeometry, type SimDeviceOptions } from '../../simulator/board/sim-device.ts';
import { readBoards } from '../../scripts/boards.mjs';
import { bootControlConformance, type BootControlHarness } from './boot-control.ts';
import { flashConformance } from './flash.ts';
import { keyValueConformance } from './key-value.ts';
import { systemConformance, type SystemBoot, type SystemHarness } from './system.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const bootKey = parsePublicKeyPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());

function payload(version: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = version.length * 7919;
  for (let i = 0; i < bytes; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

const models = {
  'esp-idf': (version: string, payloadBytes = 6000) => buildEspAppImage({ version, payload: payload(version, payloadBytes) }),
  mcuboot: (version: string, payloadBytes = 6000) => buildMcubootImage({ version, payload: payload(version, payloadBytes), privateKeyPem }),
} as const;

/**
 * The flash parts the kit runs on, as MCUboot's simulator runs its tests over a table of devices:
 * each with the bootloader models that ship on it and a slot as small as the suites allow (whole
 * erase units, two or more sectors of room below MCUboot's trailer).
 */
const GEOMETRIES: readonly { part: string; flash: FlashGeometry; slotBytes: number; models: readonly SimDeviceOptions['kind'][] }[] = [
  { part: 'STM32L4 (2 KiB sectors, 8-byte granule)', flash: { sectorBytes: 2048, writeGranule: 8 }, slotBytes: 64 * 1024, models: ['mcuboot'] },
  { part: 'nRF52840 (4 KiB sectors, 4-byte granule)', flash: { sectorBytes: 4096, writeGranule: 4 }, slotBytes: 64 * 1024, models: ['mcuboot'] },
  { part: 'STM32F4/F7/H7 (128 KiB sectors, 32-byte granule)', flash: { sectorBytes: 128 * 1024, writeGranule: 32 }, slotBytes: 384 * 1024, models: ['mcuboot'] },
  { part: 'ESP32 (4 KiB sectors, 16-byte granule, 64 KiB blocks)', flash: { sectorBytes: 4096, writeGranule: 16, eraseBlockBytes: 64 * 1024 }, slotBytes: 128 * 1024, models: ['esp-idf'] },
];

describe('the geometry table', () => {
  it("holds every board's flash part (boards/*/board.json)", () => {
    for (const board of readBoards()) {
      const { sectorBytes, writeGranule, eraseBlockBytes } = board.flash;
      const row = GEOMETRIES.find((g) => g.flash.sectorBytes === sectorBytes && g.flash.writeGranule === writeGranule && g.flash.eraseBlockBytes === eraseBlockBytes);
      expect(row?.models, `boards/${board.name}`).toContain(board.kind);
    }
  });
});

for (const { part, flash, slotBytes, models: kinds } of GEOMETRIES) {
  for (const kind of kinds) {
    const name = `${kind} on ${part}`;
    const makeImage = models[kind];
    const deviceOptions = (): SimDeviceOptions => ({ kind, flash, firstImage: makeImage('1.0.0+0'), bootKey, slotBytes, seed: 5 });

    flashConformance(`NorFlash (nvs) of ${name}`, () => {
      const device = new SimDevice(deviceOptions());
      const nvs = device.flash.nvs!;
      return { flash: nvs, eraseCounts: () => nvs.eraseCounts };
    });

    keyValueConformance(`NVS of ${name}`, async () => {
      const device = new SimDevice(deviceOptions());
      const board = await device.boot();
      return { store: board.keyValue, reopen: async () => (await device.boot()).keyValue, power: device.power };
    });

    bootControlConformance(name, async (): Promise<BootControlHarness> => {
      const device = new SimDevice(deviceOptions());
      let board = await device.boot();
      return {
        get bootControl() {
          return board.bootControl;
        },
        async reboot() {
          board = await device.boot();
          return board.bootControl;
        },
        makeImage,
        firstVersion: '1.0.0+0',
      };
    });
  }
}

// The simulator's own System reports the reset it was put through, one reason per kind.
for (const kind of ['mcuboot', 'esp-idf'] as const) {
  systemConformance(`SimSystem (${kind})`, async (): Promise<SystemHarness> => {
    const device = new SimDevice({ kind, firstImage: models[kind]('1.0.0+0'), bootKey, slotBytes: 64 * 1024, seed: 5 });
    let board = await device.boot();
    const view = (b: BootedBoard): SystemBoot => ({ resetReason: () => b.system.resetReason(), randomBytes: (n) => b.system.randomBytes(n), identity: b.identity });
    return {
      get current() {
        return view(board);
      },
      async reset(how) {
        if (how === 'restart') expect(() => board.system.restart()).toThrow(DeviceRestart);
        else device.reset(how);
        board = await device.boot();
        return view(board);
      },
      expectedReasons: { 'power-cut': 'power-on', restart: 'software', watchdog: 'watchdog', brownout: 'brownout', panic: 'panic' },
      identity: { key: 'mac', pattern: /^02(:[0-9a-f]{2}){5}$/ }, // locally administered, from the seed
    };
  });
}

flashConformance('NorFlash, 1-byte granule', () => {
  const flash = new NorFlash({ byteLength: 4 * 1024, sectorBytes: 1024, writeGranule: 1 });
  return { flash, eraseCounts: () => flash.eraseCounts };
});
