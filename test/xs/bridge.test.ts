// The XS harness's bridge: codec round trips, sync/async host calls, handles, errors, halts and a
// stuck guest — inside the real xsnap engine.
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtaError } from '../../base/errors.ts';
import { decodeMessage, encodeMessage } from '../../simulator/xs/guest/codec.ts';
import { XsHarness } from '../../simulator/xs/harness.ts';
import { XsWorker } from '../../simulator/xs/worker.ts';

// Only the bridge jobs: this file must not depend on the rest of the guest.
async function bridgeScript(): Promise<string> {
  const result = await build({
    stdin: {
      contents: `import { bridgeJobs } from './simulator/xs/guest/bridge-jobs.ts';
        import { createJobRunner } from './simulator/xs/guest/jobs.ts';
        globalThis.OtaMcuXs = createJobRunner(bridgeJobs);`,
      resolveDir: process.cwd(),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    target: 'es2022',
    write: false,
  });
  return result.outputFiles[0]!.text;
}

class DeviceRestart extends Error {
  override name = 'DeviceRestart';
}

describe('bridge codec (Node)', () => {
  it('round-trips bytes, maps, undefined, non-finite numbers and bigints', () => {
    const value = { a: new Uint8Array([1, 2, 3]), b: [undefined, 1], m: new Map([['k', 'v']]), n: NaN, i: 2n ** 70n, e: new Uint8Array(0) };
    const decoded = decodeMessage(encodeMessage(value)) as typeof value;
    expect(decoded.a).toEqual(new Uint8Array([1, 2, 3]));
    expect(decoded.b).toEqual([undefined, 1]);
    expect(decoded.m.get('k')).toBe('v');
    expect(decoded.n).toBeNaN();
    expect(decoded.i).toBe(2n ** 70n);
    expect(decoded.e.length).toBe(0);
  });

  it('refuses class instances without a handle table and malformed frames', () => {
    expect(() => encodeMessage({ x: new (class Thing {})() })).toThrow(/cannot send a Thing/);
    const frame = encodeMessage({ a: new Uint8Array(10) });
    expect(() => decodeMessage(frame.subarray(0, frame.length - 1))).toThrow(RangeError);
  });
});

describe('bridge under XS', () => {
  let harness: XsHarness;
  beforeAll(async () => {
    harness = await XsHarness.start({ script: await bridgeScript(), name: 'bridge-test' });
  });
  afterAll(async () => harness?.close());

  it('sends arguments in and results out, bytes as bytes', async () => {
    const args = { bytes: new Uint8Array([0, 255, 7]), text: 'héllo', nested: { list: [1, 'two', null] }, nan: NaN };
    const { value, meter } = await harness.job<typeof args>('echo', args);
    expect(value.bytes).toEqual(args.bytes);
    expect(value.text).toBe('héllo');
    expect(value.nested).toEqual(args.nested);
    expect(value.nan).toBeNaN();
    expect(meter.compute).toBeGreaterThan(0);
  });

  it('calls host methods synchronously and asynchronously, and hands objects over as handles', async () => {
    const counter = { n: 0, bump(by: number) { return (this.n += by); } };
    const slowThing = { label: 'slow' };
    const host = {
      add: (a: number, b: number) => a + b,
      later: async (x: string) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return `${x}!`;
      },
      counter: () => counter,
      thing: async () => slowThing,
    };
    harness.bridge.register('host', host);
    const { value, meter } = await harness.job<unknown[]>('calls', {
      calls: [
        { target: 'host', method: 'add', args: [2, 3] },
        { target: 'host', method: 'later', args: ['x'], async: true },
        { target: 'host', method: 'counter' },
        { target: '$previous', method: 'bump', args: [5] },
        { target: 'host', method: 'thing', async: true },
      ],
    });
    expect(value[0]).toBe(5);
    expect(value[1]).toBe('x!');
    expect(value[2]).toBe(counter); // the handle came back as the very same Node object
    expect(counter.n).toBe(5);
    expect(value[4]).toEqual(slowThing); // plain data crosses by value
    expect(value[4]).not.toBe(slowThing);
    expect(meter.cranks).toBeGreaterThanOrEqual(3); // the start, then one per async settle
  });

  it('delivers async results as they complete, not in the order the calls started', async () => {
    // A long wait (a poll timer) must not hold back a network reply that arrives meanwhile.
    harness.bridge.register('clock', {
      wait: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
    const { value } = await harness.job<number[]>('race', {
      calls: [
        { target: 'clock', method: 'wait', args: [300] },
        { target: 'clock', method: 'wait', args: [5] },
      ],
    });
    expect(value).toEqual([1, 0]);
  });

  it('turns host OtaErrors into the core OtaError class inside XS, with code and message', async () => {
    harness.bridge.register('failing', {
      flash: () => {
        throw new OtaError('flash-io', 'program at offset 8: granule not erased');
      },
      range: () => {
        throw new RangeError('offset 3 is not a multiple of the write granule 8');
      },
    });
    const ota = await harness.job<Record<string, unknown>>('failingCall', { target: 'failing', method: 'flash' });
    expect(ota).toMatchObject({ value: { threw: true, name: 'OtaError', code: 'flash-io', message: 'program at offset 8: granule not erased', isOtaError: 'OtaError' } });
    const range = await harness.job<Record<string, unknown>>('failingCall', { target: 'failing', method: 'range' });
    expect(range.value).toMatchObject({ threw: true, name: 'RangeError' });
  });

  it('reports a guest that goes idle with nothing pending instead of hanging', async () => {
    await expect(harness.job('hang')).rejects.toThrow(/went idle/);
  });
});

describe('halts', () => {
  it('a DeviceRestart in a host call kills the engine and surfaces as the halt', async () => {
    const harness = await XsHarness.start({ script: await bridgeScript(), name: 'halt-test' });
    let after = 0;
    harness.bridge.register('system', {
      restart: () => {
        throw new DeviceRestart('restart requested');
      },
      afterwards: () => after++,
    });
    await expect(
      harness.job('calls', { calls: [{ target: 'system', method: 'restart' }, { target: 'system', method: 'afterwards' }] }),
    ).rejects.toBeInstanceOf(DeviceRestart);
    expect(after).toBe(0); // nothing ran after the reset
    expect(harness.worker.alive).toBe(false);
    expect(harness.bridge.halted).toBeInstanceOf(DeviceRestart);
  });

  it('a worker that dies reports it instead of hanging', async () => {
    const worker = XsWorker.start({ name: 'die-test' });
    await worker.close();
    await expect(worker.evaluate('1')).rejects.toThrow(/exited/);
  });
});
