// The exhaustive power-cut sweep for the ESP-IDF model: one write-slot → set-pending → reset →
// confirm cycle and one that reverts (never confirmed), cut after every single flash operation in
// turn (the bootloader's own otadata writes included). After each cut the board must boot a valid
// image, old or new, never none, and no key-value record may be torn.
import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../../../base/bytes.ts';
import { SimDevice, type BootedBoard } from '../../../simulator/board/sim-device.ts';
import { buildEspAppImage } from '../../../simulator/esp-app-image-builder.ts';

const OLD = '1.0.0';
const NEW = '1.1.0';
const PHASES = ['download', 'install', 'reboot', 'commit', 'done', 'reverted'];

function image(version: string): Uint8Array {
  const payload = new Uint8Array(9000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + version.length) & 0xff;
  return buildEspAppImage({ version, payload });
}

const images = { [OLD]: image(OLD), [NEW]: image(NEW) };

type Mode = 'confirm' | 'revert';

function newDevice(seed: number): SimDevice {
  return new SimDevice({ kind: 'esp-idf', firstImage: images[OLD]!, slotBytes: 64 * 1024, seed });
}

/** The whole cycle, as a client would drive it; `marks` records the operation count at milestones. */
async function cycle(device: SimDevice, mode: Mode, marks: Record<string, number> = {}): Promise<BootedBoard> {
  let board = await device.boot();
  await board.keyValue.set('phase', utf8('download'));
  const writer = await board.bootControl.openInactiveSlot();
  const bytes = images[NEW]!;
  for (let at = 0; at < bytes.length; at += 1024) await writer.write(bytes.subarray(at, at + 1024));
  await writer.finish();
  await board.keyValue.set('phase', utf8('install'));
  await board.bootControl.setPendingTest();
  marks.pending = device.power.operations;
  await board.keyValue.set('phase', utf8('reboot'));
  board = await device.boot();
  if (mode === 'confirm') {
    await board.keyValue.set('phase', utf8('commit'));
    await board.bootControl.confirm();
    marks.confirmed = device.power.operations;
    await board.keyValue.set('phase', utf8('done'));
  } else {
    board = await device.boot(); // never confirmed: the next reset reverts
    await board.keyValue.set('phase', utf8('reverted'));
  }
  return device.boot();
}

async function version(board: BootedBoard): Promise<string> {
  return (await board.bootControl.state()).runningVersion;
}

describe('ESP-IDF exhaustive power-cut sweep', () => {
  for (const mode of ['confirm', 'revert'] as const) {
    it(`${mode} cycle: a cut at every flash operation leaves a bootable image and untorn records`, async () => {
      const reference = newDevice(1);
      const marks: Record<string, number> = {};
      const end = await cycle(reference, mode, marks);
      const total = reference.power.operations;
      expect(await version(end)).toBe(mode === 'confirm' ? NEW : OLD);
      expect(total).toBeGreaterThan(20);

      const outcomes = new Set<string>();
      for (let cut = 0; cut < total; cut++) {
        const device = newDevice(1000 + cut);
        device.power.cutAfter(cut);
        const error = await cycle(device, mode).then(() => undefined, (e: unknown) => e);
        expect(device.power.isCut, `cut ${cut}: the cycle ended without the cut (${String(error)})`).toBe(true);

        const after = await device.boot(); // throws if nothing is bootable
        const running = await version(after);
        expect([OLD, NEW], `cut ${cut}`).toContain(running);
        if (cut < marks.pending!) expect(running, `cut ${cut}: before set-pending completed`).toBe(OLD);
        if (mode === 'confirm' && cut >= marks.confirmed!) expect(running, `cut ${cut}: after confirm`).toBe(NEW);
        const phase = await after.keyValue.get('phase');
        if (phase !== undefined) expect(PHASES, `cut ${cut}: torn record`).toContain(fromUtf8(phase));
        outcomes.add(`${running}/${(await after.bootControl.state()).isTestBoot ? 'trial' : 'settled'}`);
        // And the board goes on: the next reset boots a valid image too (a trial image reverts).
        const again = await device.boot();
        expect([OLD, NEW]).toContain(await version(again));
        await device.close();
      }
      // The sweep really lands on both sides of the switch.
      expect(outcomes.has(`${OLD}/settled`)).toBe(true);
      expect(outcomes.has(`${NEW}/trial`)).toBe(true);
      if (mode === 'confirm') expect(outcomes.has(`${NEW}/settled`)).toBe(true);
    });
  }
});
