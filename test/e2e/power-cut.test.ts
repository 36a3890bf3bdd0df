// Power cut after every flash operation of one whole deployment (persisted steps included: the
// key-value store lives in the same NOR flash), one run per cut point. After each run the board
// boots a valid image, the server holds exactly one final status, and it is the right one:
// success exactly when the new image runs confirmed, failure exactly when the old one runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpMeter } from '../../simulator/demo/http-meter.ts';
import { Lab } from '../../simulator/demo/lab.ts';
import { readBoards } from '../../scripts/boards.mjs';
import { statuses } from './history.ts';

const FINAL = new Set(['success', 'failure', 'already-installed', 'aborted']);
/** One board of each bootloader model in the catalogue: the sweep is the model's (the lab runs its default flash part). */
const ONE_PER_KIND = [...new Map(readBoards().map((b) => [b.kind, b] as const)).values()];

describe.each(ONE_PER_KIND)('power cut at every flash operation of a deployment ($name, $kind)', ({ name: board, kind }) => {
  const meter = new HttpMeter();
  let lab: Lab;
  let artifact: Uint8Array;
  let operations = 0;

  beforeAll(async () => {
    lab = await Lab.start({ board, payloadBytes: kind === 'mcuboot' ? 24 * 1024 : 16 * 1024, wrapHttp: (http) => meter.wrap(http), client: { checkpointBytes: 8 * 1024 } });
    artifact = lab.artifact('firmware-1.1.0', lab.image('1.1.0'));
    // A clean run counts the operations of one deployment.
    await lab.enroll();
    const id = await lab.deploy(artifact, 'firmware-1.1.0');
    const before = lab.device.power.operations;
    await lab.runDevice();
    operations = lab.device.power.operations - before;
    expect((await lab.view(id)).status).toBe('success');
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('has a deployment worth sweeping (erases, programs and key-value writes)', () => {
    expect(operations).toBeGreaterThan(20);
  });

  it('ends every cut with a bootable board and exactly one right final status', async () => {
    const outcomes: Record<string, number> = {};
    for (let cut = 0; cut < operations; cut++) {
      lab.newDevice();
      await lab.enroll();
      const id = await lab.deploy(artifact, 'firmware-1.1.0');
      meter.downloadedBytes = 0;
      meter.maxChunkBytes = 0;
      lab.device.power.cutAfter(cut);
      const { boots } = await lab.runDevice();
      const where = `cut after operation ${cut} of ${operations}`;
      expect(lab.device.power.isCut, where).toBe(false);
      expect(boots, where).toBeGreaterThanOrEqual(2);
      const view = await lab.view(id);
      const finals = statuses(view.history).filter((s) => FINAL.has(s));
      expect(finals, where).toHaveLength(1);
      const running = await lab.runningVersion(); // throws when nothing is bootable
      expect({ status: view.status, running }, where).toEqual(
        view.status === 'success' ? { status: 'success', running: '1.1.0' } : { status: 'failure', running: '1.0.0' },
      );
      if (view.status === 'failure') expect(view.log, where).toMatch(/revert|reverted|not running as a test boot|power/i);
      // One cut, one resume: at most a checkpoint interval, the head and a chunk are fetched again.
      expect(meter.downloadedBytes, where).toBeLessThanOrEqual(artifact.length + 64 * 1024 + meter.maxChunkBytes);
      outcomes[view.status] = (outcomes[view.status] ?? 0) + 1;
    }
    // Cuts before the reset into the new image resume and succeed; cuts while it is on trial revert it.
    console.info(`power-cut sweep (${board}): ${operations} cut points, outcomes ${JSON.stringify(outcomes)}`);
    expect(outcomes.success ?? 0).toBeGreaterThan(operations / 2);
  }, 180_000);
});
