import { describe, expect, it } from 'vitest';
import { VirtualClock, VirtualScheduler } from '../../../simulator/board/virtual-clock.ts';

describe('VirtualClock and VirtualScheduler', () => {
  it('a 30-minute sleep takes no real time and moves the clock by 30 minutes', async () => {
    const clock = new VirtualClock();
    const scheduler = new VirtualScheduler(clock);
    const started = performance.now();
    await scheduler.sleep(30 * 60 * 1000);
    expect(performance.now() - started).toBeLessThan(200);
    expect(scheduler.now()).toBe(30 * 60 * 1000);
  });

  it('resolves on a later macrotask, not synchronously or in the same microtask run', async () => {
    const scheduler = new VirtualScheduler(new VirtualClock());
    let woke = false;
    void scheduler.sleep(0).then(() => (woke = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(woke).toBe(false);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(woke).toBe(true);
  });

  it('concurrent sleeps wake in deadline order, each seeing its own deadline', async () => {
    const clock = new VirtualClock();
    const scheduler = new VirtualScheduler(clock);
    const woke: [string, number][] = [];
    await Promise.all([
      scheduler.sleep(5000).then(() => woke.push(['long', clock.now()])),
      scheduler.sleep(1000).then(() => woke.push(['short', clock.now()])),
      scheduler.sleep(3000).then(async () => {
        woke.push(['mid', clock.now()]);
        await scheduler.sleep(1000); // deadline 4000 comes before the pending 5000
        woke.push(['mid+1', clock.now()]);
      }),
    ]);
    expect(woke).toEqual([['short', 1000], ['mid', 3000], ['mid+1', 4000], ['long', 5000]]);
  });

  it('advance() moves time for tests', () => {
    const clock = new VirtualClock();
    clock.advance(1234);
    expect(clock.now()).toBe(1234);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });

  it('enqueue runs jobs one at a time in order, and a failing job does not stop the queue', async () => {
    const scheduler = new VirtualScheduler(new VirtualClock());
    const events: string[] = [];
    const job = (name: string, ms: number, fail = false) => async () => {
      events.push(`${name} start`);
      await scheduler.sleep(ms);
      events.push(`${name} end`);
      if (fail) throw new Error(name);
      return name;
    };
    const a = scheduler.enqueue(job('a', 100));
    const b = scheduler.enqueue(job('b', 10, true));
    const c = scheduler.enqueue(job('c', 1));
    await expect(a).resolves.toBe('a');
    await expect(b).rejects.toThrow('b');
    await expect(c).resolves.toBe('c');
    expect(events).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('a disposed scheduler (board reset) never wakes its sleepers; other boards keep time', async () => {
    const clock = new VirtualClock();
    const old = new VirtualScheduler(clock);
    let oldWoke = false;
    void old.sleep(10).then(() => (oldWoke = true));
    old.dispose();
    expect(clock.pendingTimers).toBe(0);
    const fresh = new VirtualScheduler(clock);
    await fresh.sleep(20);
    expect(oldWoke).toBe(false);
    expect(clock.now()).toBe(20);
  });

  it('rejects negative or non-finite sleeps with RangeError', () => {
    const scheduler = new VirtualScheduler(new VirtualClock());
    expect(() => scheduler.sleep(-1)).toThrow(RangeError);
    expect(() => scheduler.sleep(Number.NaN)).toThrow(RangeError);
  });
});
