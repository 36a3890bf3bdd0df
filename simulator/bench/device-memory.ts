// Bench section "deviceMemory" (issue 12 items 2 and 3): the memory harness
// (simulator/moddable/device-memory.ts) over the full matrix on every board, 32-bit XS, and the
// record bench/results.json keeps under "deviceMemory" (the budgets' field names are a public
// interface). The CI test (test/boards/device-memory.test.ts) runs a representative subset.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BenchResult, BenchRow } from './bench-row.ts';
import { bootKeyPem, RIGS } from '../../test/boards/rig.ts';
import {
  caseName, DEVICE_MEMORY_BUDGETS, NOT_MET_CEILINGS, engineDescription, FULL_MATRIX, MemoryLab, MIB, OUTSIDE_XS, OUTSIDE_XS_NOT_COUNTED, outsideXsBytes, PHASES, SLOT_BYTES_32, type CaseMemory,
} from '../moddable/device-memory.ts';

const SECTION = 'deviceMemory';

/**
 * What the preloaded client takes in flash per board and module group (core, crypto, cbor,
 * inflateGlue, board: the public keys under perGroup). With $MODDABLE set to a built SDK, measured
 * now with its xsl (scripts/preload-flash.mjs: cumulative slices of the board bundle, each linked
 * as `npm run check:boards` links the app, differenced). Without it, the figures last measured stay
 * as bench/results.json has them, with their source (SDK, date, board) and a note saying so:
 * never numbers made up here.
 */
export async function preloadedFlash(boards: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  const { measure } = await import('../../scripts/preload-flash.mjs');
  let problem: string | undefined;
  try {
    const measured = await measure(env, boards, (text) => process.stderr.write(`bench: preload-flash ${text.trim()}\n`));
    if (measured.records) return measured.records;
    problem = measured.problem;
  } catch (error) {
    // A variant that does not link (a check-boards StepError names board and step): the bench
    // goes on with the last figures, and says why.
    problem = `the measurement failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  const last = (existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as { deviceMemory?: { preloadedFlashBytes?: Record<string, Record<string, unknown>> } }) : {}).deviceMemory?.preloadedFlashBytes ?? {};
  return Object.fromEntries(
    boards.map((board) => {
      const kept = last[board];
      const source = kept?.source as { date?: string; sdk?: string } | undefined;
      if (kept === undefined || source?.date === undefined) {
        return [board, { perGroup: { core: null, crypto: null, cbor: null, inflateGlue: null, board: null }, note: `not measured: ${problem}; run with MODDABLE set (npm run flash:preload)` }];
      }
      const { keptFromLastRun: _previous, ...figures } = kept;
      return [board, { ...figures, keptFromLastRun: `not measured this run (${problem}): the figures of ${source.date} (${source.sdk}), kept from bench/results.json` }];
    }),
  );
}

/** The committed record the preloaded-flash figures are kept from when there is no SDK. */
const RESULTS = resolve('bench/results.json');

/** The rows, and the top-level "deviceMemory" object of bench/results.json. */
export async function run(): Promise<BenchResult> {
  const rows: BenchRow[] = [];
  let record: Record<string, unknown> | undefined;
  const cases: CaseMemory[] = [];
  const lab = await MemoryLab.start();
  try {
    for (const rig of RIGS) {
      for (const spec of FULL_MATRIX) {
        process.stderr.write(`bench: deviceMemory ${rig.board} ${caseName(spec)}…\n`);
        const result = await lab.run({ ...rig, bootKeyPem }, spec);
        cases.push(result);
        for (const phase of PHASES) {
          const p = result.phases[phase];
          rows.push({
            section: SECTION,
            name: `${rig.board} ${result.case}: ${phase}`,
            values: { readings: p.readings, 'live slots': p.liveSlots, 'live chunk B': p.liveChunkBytes, 'live XS B': p.liveXsBytes, 'peak slots (gc-less)': p.peakSlots, 'peak chunk B (gc-less)': p.peakChunkBytes },
            note: 'above the post-import baseline, 32-bit XS (16-byte slots); live = after gc() at each I/O point (lower bound); peak = garbage included (upper bound)',
          });
        }
        rows.push({ section: SECTION, name: `${rig.board} ${result.case}: whole`, values: { 'live XS B': result.liveXsBytes, 'idle XS B': result.idleXsBytes, boots: result.boots, s: result.seconds } });
      }
    }
    const perBoard: Record<string, unknown> = {};
    const fits: Record<string, unknown> = {};
    const flash = await preloadedFlash(RIGS.map((rig) => rig.board));
    for (const rig of RIGS) {
      const mine = cases.filter((c) => c.board === rig.board);
      const worst = mine.reduce((a, b) => (b.liveXsBytes > a.liveXsBytes ? b : a));
      const verdict = await lab.fits({ ...rig, bootKeyPem }, worst.spec, DEVICE_MEMORY_BUDGETS.peakXsBytes, worst);
      fits[rig.board] = { case: worst.case, ...verdict };
      const growth = Math.max(
        ...mine.filter((c) => c.spec.imageBytes === 4 * MIB).map((big) => {
          const small = mine.find((c) => c.spec.imageBytes === MIB && c.spec.signature === big.spec.signature && c.spec.compression === big.spec.compression && !c.spec.powerCut)!;
          return big.liveXsBytes - small.liveXsBytes;
        }),
      );
      perBoard[rig.board] = {
        peakXsBytes: worst.liveXsBytes,
        growth1to4MiBBytes: growth,
        idleXsBytes: Math.max(...mine.map((c) => c.idleXsBytes)),
        outsideXsBytes: outsideXsBytes(rig.description.family, true),
        baselineXsBytes: worst.baseline.slots * SLOT_BYTES_32 + worst.baseline.chunkBytes,
        baseline: { slots: worst.baseline.slots, chunkBytes: worst.baseline.chunkBytes },
        preloadedFlashBytes: flash[rig.board],
        fitsPeakBudget: fits[rig.board],
      };
    }
    const boards = Object.values(perBoard) as Record<string, number>[];
    const max = (field: string) => Math.max(...boards.map((b) => b[field] as number));
    record = {
      date: new Date().toISOString(),
      runtime: `ota-mcu's xsnap-worker variant, gcc -m32, on ${process.platform}-${process.arch}, Node ${process.version}`,
      engine: engineDescription(),
      slotBytes: SLOT_BYTES_32,
      budgets: DEVICE_MEMORY_BUDGETS,
      // Which budgets the figures below meet, and the ceilings the tests hold the others under.
      budgetsMet: Object.fromEntries(Object.keys(DEVICE_MEMORY_BUDGETS).map((k) => [k, NOT_MET_CEILINGS[k as keyof typeof DEVICE_MEMORY_BUDGETS] === undefined])),
      notMetCeilings: NOT_MET_CEILINGS,
      peakXsBytes: max('peakXsBytes'),
      growth1to4MiBBytes: max('growth1to4MiBBytes'),
      idleXsBytes: max('idleXsBytes'),
      outsideXsBytes: max('outsideXsBytes'),
      baselineXsBytes: max('baselineXsBytes'),
      preloadedFlashBytes: Object.fromEntries(RIGS.map((r) => [r.board, (perBoard[r.board] as Record<string, unknown>).preloadedFlashBytes])),
      method:
        'peakXsBytes etc.: live high-water (gc() then XS counters at every I/O point and state change), slots x 16 + chunks, above the live heap right after import and gc (what preloading moves to flash), max over boards and cases; fitsPeakBudget: the worst case again under a fixed creation of peakXsBytes budget bytes (slots/chunks split in proportion to its live high-water)',
      outsideXs: { buffers: OUTSIDE_XS, notCounted: OUTSIDE_XS_NOT_COUNTED },
      boards: perBoard,
      cases: cases.map((c) => ({ board: c.board, case: c.case, boots: c.boots, seconds: Math.round(c.seconds * 10) / 10, liveXsBytes: c.liveXsBytes, liveSlots: c.liveSlots, liveChunkBytes: c.liveChunkBytes, idleXsBytes: c.idleXsBytes, phases: c.phases })),
    };
  } finally {
    await lab.close();
  }
  return { rows, summary: record === undefined ? {} : { [SECTION]: record } };
}
