// The conformance kit against the simulated board, for both bootloader models.
import { generateKeyPairSync } from 'node:crypto';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import { buildEspAppImage } from '../../simulator/esp-app-image-builder.ts';
import { buildMcubootImage } from '../../simulator/mcuboot-imgtool.ts';
import { NorFlash } from '../../simulator/board/nor-flash.ts';
import { SimDevice, type SimDeviceOptions } from '../../simulator/board/sim-device.ts';
import { bootControlConformance, type BootControlHarness } from './boot-control.ts';
import { flashConformance } from './flash.ts';
import { keyValueConformance } from './key-value.ts';

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
  'esp-idf (sim-esp32)': {
    kind: 'esp-idf',
    makeImage: (version: string, payloadBytes = 6000) => buildEspAppImage({ version, payload: payload(version, payloadBytes) }),
  },
  'mcuboot (sim-stm32)': {
    kind: 'mcuboot',
    makeImage: (version: string, payloadBytes = 6000) => buildMcubootImage({ version, payload: payload(version, payloadBytes), privateKeyPem }),
  },
} as const;

for (const [name, model] of Object.entries(models)) {
  const deviceOptions = (): SimDeviceOptions => ({
    kind: model.kind, firstImage: model.makeImage('1.0.0+0'), bootKey, slotBytes: 128 * 1024, seed: 5,
  });

  flashConformance(`NorFlash as on ${name}`, () => {
    const device = new SimDevice(deviceOptions());
    const flash = device.flash.nvs!;
    return { flash, eraseCounts: () => flash.eraseCounts };
  });

  keyValueConformance(`NVS on ${name}`, async () => {
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
      makeImage: model.makeImage,
      firstVersion: '1.0.0+0',
    };
  });
}

flashConformance('NorFlash, 1-byte granule', () => {
  const flash = new NorFlash({ byteLength: 4 * 1024, sectorBytes: 1024, writeGranule: 1 });
  return { flash, eraseCounts: () => flash.eraseCounts };
});
