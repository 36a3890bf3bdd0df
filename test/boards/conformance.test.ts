// The conformance kit against each Moddable board port, its code running unmodified in XS over the
// emulated Moddable modules (simulator/moddable), backed by a simulated device of the board's kind
// on the board's flash part. The system suite checks the port's reset-cause, RNG and identity
// bindings against its SoC's facts (rig.ts), through the natives the real SoC has.
// The key-value power-cut sweep is the simulator's (test/conformance/sim.test.ts): here the store
// is the board's embedded:storage/key-value binding, checked for its behaviour and across resets.
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { ResetReason } from '../../platform/system.ts';
import { ModdableBoot } from '../../simulator/moddable/device.ts';
import { bootControlConformance, type BootControlHarness } from '../conformance/boot-control.ts';
import { flashConformance } from '../conformance/flash.ts';
import { keyValueConformance } from '../conformance/key-value.ts';
import { systemConformance, type SystemBoot, type SystemHarness } from '../conformance/system.ts';
import { RIGS } from './rig.ts';

const SYSTEM_GUEST = join(import.meta.dirname, 'system-guest.ts');

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

for (const rig of RIGS) {
  const start = async (device = rig.device()) => {
    const boot = await ModdableBoot.start({ board: rig.board, device });
    open.push(boot, device);
    return { boot, device };
  };

  flashConformance(`boards/${rig.board} Flash "${rig.scratchRegion}" under XS`, async () => {
    const { boot, device } = await start();
    const region = rig.kind === 'esp-idf' ? 'ota_1' : 'secondary';
    return { flash: boot.flash(rig.scratchRegion), eraseCounts: () => device.flash[region]!.eraseCounts };
  });

  keyValueConformance(`boards/${rig.board} KeyValue under XS`, async () => {
    const { boot, device } = await start();
    return {
      store: boot.keyValue(),
      async reopen() {
        const next = await ModdableBoot.start({ board: rig.board, device });
        open.push(next);
        return next.keyValue();
      },
    };
  });

  bootControlConformance(`boards/${rig.board} under XS`, async (): Promise<BootControlHarness> => {
    const { boot, device } = await start();
    let current = boot;
    return {
      get bootControl() {
        return current.bootControl();
      },
      async reboot() {
        await current.close();
        current = await ModdableBoot.start({ board: rig.board, device });
        open.push(current);
        return current.bootControl();
      },
      makeImage: rig.makeImage.bind(rig),
      firstVersion: '1.0.0+0',
    };
  });
  systemConformance(`boards/${rig.board} under XS`, async (): Promise<SystemHarness> => {
    const device = rig.device();
    open.push(device);
    const startBoot = async () => {
      const next = await ModdableBoot.start({ board: rig.board, device, guestEntry: SYSTEM_GUEST });
      open.push(next);
      return next;
    };
    let boot = await startBoot();
    const view = (b: ModdableBoot): SystemBoot => ({
      resetReason: async () => (await b.call(['system'], 'resetReason')).value as ResetReason,
      randomBytes: async (n) => (await b.call(['system'], 'randomBytes', [n])).value as Uint8Array,
      identity: b.info.identity,
      fillRandomAt: async (total, offset, length) => (await b.harness.job<Uint8Array>('fillRandomAt', { total, offset, length })).value,
    });
    return {
      get current() {
        return view(boot);
      },
      async reset(how) {
        if (how === 'restart') {
          // The port's own restart (sys_reboot, esp_restart): it halts the engine, so the call never returns.
          const outcome = await boot.call(['system'], 'restart').then(() => 'returned', (error: Error) => error.name);
          if (outcome !== 'DeviceRestart') throw new Error(`System.restart() under XS: expected a DeviceRestart halt, got ${outcome}`);
        } else {
          device.reset(how);
        }
        await boot.close();
        boot = await startBoot();
        return view(boot);
      },
      expectedReasons: rig.soc.resetReasons,
      identity: rig.soc.identity,
    };
  });
}
