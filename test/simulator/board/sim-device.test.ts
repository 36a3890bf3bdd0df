import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../../../base/bytes.ts';
import { parsePublicKeyPem } from '../../../platform/public-key.ts';
import { PowerCut } from '../../../simulator/board/power.ts';
import { DeviceRestart, SIM_RESETS, SimDevice, type BootedBoard, type SimDeviceOptions, type SimReset } from '../../../simulator/board/sim-device.ts';
import { SIM_EPOCH_MS } from '../../../simulator/board/sim-system.ts';
import { buildEspAppImage } from '../../../simulator/esp-app-image-builder.ts';
import { buildMcubootImage } from '../../../simulator/mcuboot-imgtool.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const bootKey = parsePublicKeyPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());

const makers = {
  'esp-idf': (version: string) => buildEspAppImage({ version, payload: new Uint8Array(4000).fill(version.charCodeAt(2)) }),
  mcuboot: (version: string) => buildMcubootImage({ version, payload: new Uint8Array(4000).fill(version.charCodeAt(2)), privateKeyPem }),
} as const;

async function install(board: BootedBoard, image: Uint8Array): Promise<void> {
  const writer = await board.bootControl.openInactiveSlot();
  await writer.write(image);
  await writer.finish();
  await board.bootControl.setPendingTest();
}

describe('SimDevice', () => {
  const dirs: string[] = [];
  const devices: SimDevice[] = [];
  afterEach(async () => {
    for (const device of devices.splice(0)) await device.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const make = (options: Partial<SimDeviceOptions> & { kind: SimDeviceOptions['kind'] }) => {
    const device = new SimDevice({ firstImage: makers[options.kind]('1.0.0+0'), bootKey, slotBytes: 64 * 1024, ...options });
    devices.push(device);
    return device;
  };

  for (const kind of ['esp-idf', 'mcuboot'] as const) {
    describe(kind, () => {
      it('boots the first image on a board with the right name, identity and regions', async () => {
        const device = make({ kind, seed: 3 });
        const board = await device.boot();
        expect(board.name).toBe(kind === 'mcuboot' ? 'sim-stm32' : 'sim-esp32');
        expect((await board.bootControl.state()).runningVersion).toBe('1.0.0+0');
        expect(board.identity.mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
        expect(make({ kind, seed: 3 }).flash).toBeDefined();
        expect((await make({ kind, seed: 3 }).boot()).identity).toEqual(board.identity);
        expect((await make({ kind, seed: 4 }).boot()).identity).not.toEqual(board.identity);
        expect(Object.keys(board.flash).sort()).toEqual(kind === 'mcuboot' ? ['nvs', 'primary', 'secondary'] : ['nvs', 'ota_0', 'ota_1', 'otadata']);
        expect(board.flash.nvs!.sectorBytes).toBe(kind === 'mcuboot' ? 2048 : 4096);
        expect(board.flash.nvs!.writeGranule).toBe(kind === 'mcuboot' ? 8 : 4);
        expect(board.system.resetReason()).toBe('power-on');
        expect(board.bootCount).toBe(1);
      });

      it('survives a process restart: a new SimDevice on the same dir has the flash and key-value of the old', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'sim-device-'));
        dirs.push(dir);
        const first = make({ kind, dir });
        let board = await first.boot();
        await board.keyValue.set('note', utf8('kept'));
        await install(board, makers[kind]('1.1.0+1'));
        board = await first.boot();
        await board.bootControl.confirm();
        await first.close();
        // Another process, same dir: the first image is not placed again.
        const second = make({ kind, dir, firstImage: makers[kind]('9.9.9+9') });
        board = await second.boot();
        expect((await board.bootControl.state()).runningVersion).toBe('1.1.0+1');
        expect(fromUtf8((await board.keyValue.get('note'))!)).toBe('kept');
        expect(() => make({ kind, dir, slotBytes: 128 * 1024 })).toThrow(/stored as/);
      });

      it('run(): restart → software reset, power cut → power-on, and the app runs again until it returns', async () => {
        const device = make({ kind });
        const reasons: string[] = [];
        const result = await device.run(async (board) => {
          reasons.push(board.system.resetReason());
          const step = (await board.keyValue.get('step'))?.[0] ?? 0;
          await board.keyValue.set('step', new Uint8Array([step + 1]));
          if (step === 0) board.system.restart();
          if (step === 1) {
            device.power.cutAfter(0);
            await board.keyValue.set('x', new Uint8Array([1])); // torn: the device goes dark
          }
        });
        expect(result.boots).toBe(3);
        expect(reasons).toEqual(['power-on', 'software', 'power-on']);
      });

      it('run(): a never-confirms image resets by watchdog before the app runs, and the old one comes back', async () => {
        const device = make({ kind, behaviours: { '1.1.0+1': 'never-confirms' } });
        const seen: [string, string][] = [];
        let installed = false;
        await device.run(async (board) => {
          const state = await board.bootControl.state();
          seen.push([state.runningVersion, board.system.resetReason()]);
          if (!installed) {
            installed = true;
            await install(board, makers[kind]('1.1.0+1'));
            board.system.restart();
          }
          expect(state.lastBootReverted).toBe(true);
        });
        expect(seen).toEqual([['1.0.0+0', 'power-on'], ['1.0.0+0', 'watchdog']]);
        expect(device.bootCount).toBe(3);
      });

      it('selfTest follows the behaviours: fails-self-test → false, ok → true, never-confirms → watchdog reset', async () => {
        const device = make({ kind, behaviours: { '1.0.0+0': 'fails-self-test' } });
        const board = await device.boot();
        expect(board.behaviour).toBe('fails-self-test');
        expect(await board.selfTest()).toBe(false);
        expect(await (await make({ kind }).boot()).selfTest()).toBe(true);
        const hang = await make({ kind, behaviours: { '1.0.0+0': 'never-confirms' } }).boot();
        await expect(hang.selfTest()).rejects.toBeInstanceOf(DeviceRestart);
      });

      it('virtual time: a 30-minute sleep on the board costs no real time, and wall time follows', async () => {
        const device = make({ kind });
        const board = await device.boot();
        const started = performance.now();
        await board.scheduler.sleep(30 * 60_000);
        expect(performance.now() - started).toBeLessThan(500);
        expect(board.scheduler.now()).toBe(30 * 60_000);
        expect(board.system.wallClockMs()).toBe(SIM_EPOCH_MS + 30 * 60_000);
        board.system.log('info', 'hello');
        expect(device.log.at(-1)).toMatchObject({ boot: 1, level: 'info', message: 'hello', atMs: 30 * 60_000 });
      });

      it('nothing of a board survives its reset: its flash views, sleeps and network are dead', async () => {
        const device = make({ kind });
        const old = await device.boot();
        let woke = false;
        void old.scheduler.sleep(10).then(() => (woke = true));
        await device.boot();
        await expect(old.keyValue.set('k', new Uint8Array([1]))).rejects.toBeInstanceOf(PowerCut);
        await expect(old.http.request({ method: 'GET', url: 'http://127.0.0.1:9/' })).rejects.toMatchObject({ code: 'network' });
        await new Promise((r) => setTimeout(r, 20));
        expect(woke).toBe(false);
      });

      it('reset(): each kind ends the boot, and the next boot reports its reason', async () => {
        const device = make({ kind });
        let board = await device.boot();
        const expected = { 'power-cut': 'power-on', restart: 'software', watchdog: 'watchdog', brownout: 'brownout', panic: 'panic' } as const;
        for (const how of SIM_RESETS) {
          const old = board;
          device.reset(how);
          await expect(old.keyValue.set('k', new Uint8Array([1]))).rejects.toBeInstanceOf(PowerCut);
          board = await device.boot();
          expect(board.system.resetReason(), how).toBe(expected[how]);
        }
        expect(() => device.reset('lightning' as SimReset)).toThrow(RangeError);
      });

      it('run() gives up after maxBoots', async () => {
        const device = make({ kind });
        await expect(device.run(async (board) => board.system.restart(), { maxBoots: 3 })).rejects.toThrow(/after 3 boots/);
      });
    });
  }

  describe('flash geometry', () => {
    it('every region but otadata takes the given part; the default is the part the demo always had', async () => {
      const board = await make({ kind: 'mcuboot', flash: { sectorBytes: 128 * 1024, writeGranule: 32 }, slotBytes: 256 * 1024 }).boot();
      for (const name of ['primary', 'secondary', 'nvs']) expect(board.flash[name], name).toMatchObject({ sectorBytes: 128 * 1024, writeGranule: 32 });
      expect(board.flash.nvs!.byteLength).toBe(2 * 128 * 1024); // never under 2 sectors
      expect((await board.bootControl.state()).runningVersion).toBe('1.0.0+0');
      const esp = await make({ kind: 'esp-idf', flash: { sectorBytes: 4096, writeGranule: 16, eraseBlockBytes: 65536 } }).boot();
      expect(esp.flash.ota_1).toMatchObject({ sectorBytes: 4096, writeGranule: 16 });
      expect(esp.flash.otadata).toMatchObject({ sectorBytes: 4096, byteLength: 8192 });
      expect((await make({ kind: 'mcuboot' }).boot()).flash.primary).toMatchObject({ sectorBytes: 2048, writeGranule: 8 });
    });

    it('refuses a geometry the regions cannot take, and a stored device asked for another part', () => {
      expect(() => make({ kind: 'mcuboot', flash: { sectorBytes: 128 * 1024, writeGranule: 32 }, slotBytes: 64 * 1024 })).toThrow(/slotBytes/);
      // One 128 KiB sector is all trailer: MCUboot has no room below it for an image.
      expect(() => make({ kind: 'mcuboot', flash: { sectorBytes: 128 * 1024, writeGranule: 32 }, slotBytes: 128 * 1024 })).toThrow(/has room for 0/);
      expect(() => make({ kind: 'esp-idf', flash: { sectorBytes: 4096, writeGranule: 4, eraseBlockBytes: 6000 } })).toThrow(/eraseBlockBytes/);
      expect(() => make({ kind: 'esp-idf', flash: { sectorBytes: 4096, writeGranule: 3 } })).toThrow(/writeGranule/);
      const dir = mkdtempSync(join(tmpdir(), 'sim-device-'));
      dirs.push(dir);
      make({ kind: 'mcuboot', dir });
      expect(() => make({ kind: 'mcuboot', dir, flash: { sectorBytes: 4096, writeGranule: 4 } })).toThrow(/stored as mcuboot with 65536-byte slots of 2048-byte sectors/);
    });
  });
});
