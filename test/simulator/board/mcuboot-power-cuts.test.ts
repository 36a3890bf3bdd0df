// Exhaustive power cuts over one MCUboot update: cut after every single flash operation in turn;
// after each cut the board must boot a valid image (old or new, never none) and the update must
// still end where it should.
import { describe, it, expect } from 'vitest';
import { rig, image, writeSlot, type Rig } from './mcuboot-rig.ts';
import { PowerCut } from '../../../simulator/board/power.ts';

const OLD = '1.0.0+1';
const NEW = '2.0.0+2';
const NEW_IMAGE = image(NEW, 9000);

type Mode = 'confirm' | 'revert';

/** What a client does on each boot, deciding from the board's state only. */
async function app(r: Rig, mode: Mode): Promise<'done' | 'restart'> {
  const state = await r.bootControl.state();
  if (state.runningVersion === NEW) {
    if (!state.isTestBoot) return 'done';
    if (mode === 'revert') return 'restart'; // fails its self-test: reset without confirming
    await r.bootControl.confirm();
    return 'done';
  }
  if (mode === 'revert' && state.lastBootReverted) return 'done';
  await writeSlot(r.bootControl, NEW_IMAGE, 700);
  await r.bootControl.setPendingTest();
  return 'restart';
}

/** Boots and runs the app until it is done; returns what booted each time. */
async function life(r: Rig, mode: Mode): Promise<string[]> {
  const booted: string[] = [];
  for (let boots = 0; boots < 12; boots++) {
    r.power.restore();
    const { version, swap } = await r.boot(); // throws when nothing is bootable
    booted.push(`${version}/${swap}`);
    try {
      if ((await app(r, mode)) === 'done') return booted;
    } catch (error) {
      if (!(error instanceof PowerCut)) throw error;
    }
  }
  throw new Error(`no end after 12 boots: ${booted.join(' ')}`);
}

describe('MCUboot exhaustive power cuts', () => {
  for (const mode of ['confirm', 'revert'] as const) {
    it(`write → set pending → reset → ${mode}: every cut point boots old or new and ends right`, async () => {
      const clean = rig();
      const cleanBoots = await life(clean, mode);
      expect(cleanBoots).toEqual(mode === 'confirm' ? [`${OLD}/none`, `${NEW}/test`] : [`${OLD}/none`, `${NEW}/test`, `${OLD}/revert`]);
      const operations = clean.power.operations;
      expect(operations).toBeGreaterThan(20);

      for (let i = 0; i < operations; i++) {
        const r = rig();
        r.power.cutAfter(i);
        const boots = await life(r, mode).catch((error: unknown) => {
          throw new Error(`cut after operation ${i}: ${(error as Error).message}`);
        });
        expect(r.power.operations, `cut ${i} happened`).toBeGreaterThan(i);
        for (const boot of boots) expect([OLD, NEW], `cut ${i}: ${boots.join(' ')}`).toContain(boot.split('/')[0]);
        // Where it ends: the new image confirmed, or the old one after the revert.
        const final = await r.boot();
        expect(final.version, `cut ${i}: ${boots.join(' ')}`).toBe(mode === 'confirm' ? NEW : OLD);
        expect(final.swap).toBe('none');
        expect((await r.bootControl.state()).isTestBoot).toBe(false);
      }
    });
  }
});
