// The conformance kit against each Moddable board port, its code running unmodified in XS over the
// emulated Moddable modules (simulator/moddable), backed by a simulated device of the board's kind.
// The key-value power-cut sweep is the simulator's (test/conformance/sim.test.ts): here the store
// is the board's embedded:storage/key-value binding, checked for its behaviour and across resets.
import { afterEach } from 'vitest';
import { ModdableBoot } from '../../simulator/moddable/device.ts';
import { bootControlConformance, type BootControlHarness } from '../conformance/boot-control.ts';
import { flashConformance } from '../conformance/flash.ts';
import { keyValueConformance } from '../conformance/key-value.ts';
import { RIGS } from './rig.ts';

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
}
