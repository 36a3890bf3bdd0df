// ota-mcu's xsnap variant (simulator/xs/xsnap-build.ts + native/creation.c): 32- and 64-bit builds
// report XS's own counters, and a machine created with a device's limits aborts the way XS does.
import { beforeAll, describe, expect, it } from 'vitest';
import { XsAbort, XsWorker, type XsBits } from '../../simulator/xs/worker.ts';
import { xsnapVariant } from '../../simulator/xs/xsnap-build.ts';

// The first run on a machine compiles XS (about 20 s a variant on 2 cores); later runs reuse .tmp/xsnap.
beforeAll(async () => {
  await xsnapVariant(32);
  await xsnapVariant(64);
}, 600_000);

const ALLOCATE = 'globalThis.kept = []; for (let i = 0; i < 2000; i++) kept.push({ i, s: "x".repeat(i % 64) }); 0';

describe.each([
  [32, 16],
  [64, 32],
] as [XsBits, number][])('the %i-bit variant', (bits, slotBytes) => {
  it(`reads XS's counters: ${slotBytes}-byte slots, current ≤ peak ≤ reserved, live objects counted`, async () => {
    const worker = await XsWorker.launch({ bits });
    try {
      const before = await worker.memory({ gc: true, resetPeaks: true });
      expect(before.slotBytes).toBe(slotBytes);
      expect(before.peakSlots).toBe(before.currentSlots);
      await worker.evaluate(ALLOCATE);
      const after = await worker.memory({ gc: true });
      // 2000 live objects of two properties each: at least 3 slots apiece, plus the array.
      expect(after.currentSlots - before.currentSlots).toBeGreaterThan(6000);
      expect(after.currentChunkBytes).toBeGreaterThan(before.currentChunkBytes);
      expect(after.peakSlots).toBeGreaterThanOrEqual(after.currentSlots);
      expect(after.reservedSlots).toBeGreaterThanOrEqual(after.peakSlots);
      expect(after.peakChunkBytes).toBeGreaterThanOrEqual(after.currentChunkBytes);
      expect(after.stackSlots).toBe(4096); // xsnap's own creation, untouched without `creation`
      expect(after.stackDepth).toBeGreaterThan(0);
      expect(after.stackPeak).toBeGreaterThanOrEqual(after.stackDepth);
      // A deep recursion raises the stack watermark; a reset brings it back.
      await worker.evaluate('(function f(n) { return n ? f(n - 1) + 1 : 0; })(200)');
      const deep = await worker.memory({ resetPeaks: true });
      expect(deep.stackPeak).toBeGreaterThan(after.stackPeak + 200);
      const reset = await worker.memory();
      expect(reset.stackPeak).toBeLessThan(deep.stackPeak);
    } finally {
      await worker.close();
    }
  });
});

describe('creation limits, enforced by XS itself', () => {
  it('a fixed heap (incremental 0) too small for the script aborts with memory full', async () => {
    const probe = await XsWorker.launch({ bits: 32 });
    const base = await probe.memory({ gc: true });
    await probe.close();
    const worker = await XsWorker.launch({ bits: 32, creation: { heap: { initial: base.currentSlots + 300, incremental: 0 } } });
    await expect(worker.evaluate(ALLOCATE)).rejects.toThrow(XsAbort);
    await expect(worker.evaluate('1')).rejects.toThrow(/memory full/);
    expect(worker.alive).toBe(false);
  });

  it('the same heap growing by increments (incremental > 0) runs it', async () => {
    const worker = await XsWorker.launch({ bits: 32, creation: { heap: { initial: 4096, incremental: 1024 } } });
    try {
      await worker.evaluate(ALLOCATE);
      expect((await worker.memory()).reservedSlots).toBeGreaterThan(4096);
    } finally {
      await worker.close();
    }
  });

  it('a stack of 256 slots aborts a deep recursion with stack overflow', async () => {
    const worker = await XsWorker.launch({ bits: 32, creation: { stack: 256 } });
    expect((await worker.memory()).stackSlots).toBe(256);
    await expect(worker.evaluate('(function f(n) { return n ? f(n - 1) + 1 : 0; })(200)')).rejects.toThrow(/XS abort: stack overflow/);
  });

  it('fixed chunks abort a script that needs more, and so does a static-like space limit', async () => {
    const buffers = 'globalThis.kept = []; for (let i = 0; i < 100; i++) kept.push(new ArrayBuffer(1000)); 0';
    const fixed = await XsWorker.launch({ bits: 32, creation: { chunk: { initial: 50_000, incremental: 0 } } });
    await expect(fixed.evaluate(buffers)).rejects.toThrow(/memory full/);
    const spaced = await XsWorker.launch({ bits: 32, creation: { chunk: { initial: 50_000, incremental: 1024 }, space: 60_000 } });
    await expect(spaced.evaluate(buffers)).rejects.toThrow(/memory full/);
    const roomy = await XsWorker.launch({ bits: 32, creation: { chunk: { initial: 50_000, incremental: 1024 }, space: 200_000 } });
    try {
      await roomy.evaluate(buffers);
    } finally {
      await roomy.close();
    }
  });
});
