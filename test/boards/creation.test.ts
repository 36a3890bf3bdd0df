// The boards run under their manifest's "creation", enforced by XS itself on a 32-bit engine
// (simulator/moddable/device.ts enforcedCreation): their own creation boots and runs, a creation too
// small for them dies of XS's own abort, as the device would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boardCreation, ModdableBoot, xsBaseline, type ManifestCreation } from '../../simulator/moddable/device.ts';
import { moddableGuestScript } from '../../simulator/moddable/bundle.ts';
import { XsAbort } from '../../simulator/xs/worker.ts';
import { prepareXs, RIGS, XS_BUILD_MS } from './rig.ts';

beforeAll(prepareXs, XS_BUILD_MS);

describe.each(RIGS)('boards/$board creation under XS', (rig) => {
  const device = rig.device({ seed: 31 });
  afterAll(() => device.close());
  const creation = boardCreation(rig.board);

  it('boots with its manifest creation and stays within it', async () => {
    const baseline = await xsBaseline(await moddableGuestScript(rig.board));
    expect(baseline.slotBytes).toBe(16);
    const boot = await ModdableBoot.start({ board: rig.board, device, creation: 'manifest' });
    try {
      const memory = await boot.harness.worker.memory({ gc: true });
      expect(memory.slotBytes).toBe(16);
      expect(memory.stackSlots).toBe(creation.stack + baseline.harnessStack);
      // What the board built at boot lives within the creation's heap on top of the preloaded part.
      expect(memory.currentSlots - baseline.slots).toBeLessThan(creation.heap.initial + 16 * creation.heap.incremental);
      expect(memory.stackPeak - memory.stackBase).toBeLessThanOrEqual(creation.stack + baseline.harnessStack);
    } finally {
      await boot.close();
    }
  });

  it('a heap of 300 slots that cannot grow: XS aborts with memory full', async () => {
    const small: ManifestCreation = { ...creation, heap: { initial: 300, incremental: 0 } };
    const error = await ModdableBoot.start({ board: rig.board, device, creation: small }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(XsAbort);
    expect((error as XsAbort).reason).toBe('memory full');
  });

  it('a stack of 256 slots (the intrinsics fit, the boot does not): XS aborts with stack overflow', async () => {
    const shallow: ManifestCreation = { ...creation, stack: 256 };
    await expect(ModdableBoot.start({ board: rig.board, device, creation: shallow })).rejects.toThrow(/XS abort: stack overflow/);
  });
});
