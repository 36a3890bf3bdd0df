// Conformance suite for KeyValue (platform/key-value.ts). Any port runs it with its own factory;
// the power-cut sweep runs where the factory can cut power (the simulator), and is skipped elsewhere.
import { describe, expect, it } from 'vitest';
import { KEY_MAX_CHARS, type KeyValue } from '../../platform/key-value.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';

/** Cuts power at a chosen operation of the store's storage (simulator only). */
export interface PowerControl {
  readonly operations: number;
  cutAfter(n: number | undefined): void;
  readonly isCut: boolean;
  restore(): void;
}

export interface KeyValueInstance {
  store: KeyValue;
  /** The store as a fresh boot sees it: nothing in memory survives, only what is in storage. */
  reopen(): MaybePromise<KeyValue>;
  power?: PowerControl;
}

/** Each call gives an empty store on fresh storage. */
export type KeyValueFactory = () => MaybePromise<KeyValueInstance>;

function bytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 31 + i * 7) & 0xff;
  return out;
}

function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function keyValueConformance(name: string, factory: KeyValueFactory): void {
  describe(`KeyValue conformance: ${name}`, () => {
    it('set then get returns a copy of the value; a missing key is undefined', async () => {
      const { store } = await factory();
      expect(await store.get('missing')).toBeUndefined();
      const value = bytes(1, 40);
      await store.set('state', value);
      value[0] ^= 0xff; // the store kept its own copy
      expect(same(await store.get('state'), bytes(1, 40))).toBe(true);
      const got = (await store.get('state'))!;
      got[1] ^= 0xff; // and the caller owns what get returned
      expect(same(await store.get('state'), bytes(1, 40))).toBe(true);
    });

    it('overwrites, stores empty values, and deletes (delete of a missing key is harmless)', async () => {
      const { store } = await factory();
      await store.set('a', bytes(1, 10));
      await store.set('a', bytes(2, 3));
      expect(same(await store.get('a'), bytes(2, 3))).toBe(true);
      await store.set('empty', new Uint8Array(0));
      expect(same(await store.get('empty'), new Uint8Array(0))).toBe(true);
      await store.delete('a');
      expect(await store.get('a')).toBeUndefined();
      await store.delete('a');
      await store.delete('never-set');
      expect(same(await store.get('empty'), new Uint8Array(0))).toBe(true);
    });

    it('values survive a reopen (a reset)', async () => {
      const { store, reopen } = await factory();
      await store.set('one', bytes(1, 100));
      await store.set('two', bytes(2, 7));
      await store.delete('one');
      await store.set('three', bytes(3, 1));
      const after = await reopen();
      expect(await after.get('one')).toBeUndefined();
      expect(same(await after.get('two'), bytes(2, 7))).toBe(true);
      expect(same(await after.get('three'), bytes(3, 1))).toBe(true);
    });

    it(`accepts keys of 1..${KEY_MAX_CHARS} characters and refuses longer or empty ones with RangeError`, async () => {
      const { store } = await factory();
      const longest = 'k'.repeat(KEY_MAX_CHARS);
      await store.set(longest, bytes(4, 4));
      expect(same(await store.get(longest), bytes(4, 4))).toBe(true);
      const tooLong = 'k'.repeat(KEY_MAX_CHARS + 1);
      await expect(async () => store.set(tooLong, bytes(1, 1))).rejects.toThrow(RangeError);
      await expect(async () => store.get(tooLong)).rejects.toThrow(RangeError);
      await expect(async () => store.delete(tooLong)).rejects.toThrow(RangeError);
      await expect(async () => store.set('', bytes(1, 1))).rejects.toThrow(RangeError);
    });

    it('refuses values over maxValueBytes with RangeError and keeps the old value', async () => {
      const { store } = await factory();
      await store.set('big', bytes(5, store.maxValueBytes));
      expect(same(await store.get('big'), bytes(5, store.maxValueBytes))).toBe(true);
      await expect(async () => store.set('big', new Uint8Array(store.maxValueBytes + 1))).rejects.toThrow(RangeError);
      expect(same(await store.get('big'), bytes(5, store.maxValueBytes))).toBe(true);
    });

    it('keeps every key through many rewrites (space is reclaimed)', async () => {
      const { store, reopen } = await factory();
      const size = Math.min(300, store.maxValueBytes);
      for (let round = 0; round < 60; round++) {
        for (const key of ['x', 'y', 'z']) await store.set(key, bytes(round * 3 + key.charCodeAt(0), size));
      }
      for (const kv of [store, await reopen()]) {
        for (const key of ['x', 'y', 'z']) expect(same(await kv.get(key), bytes(59 * 3 + key.charCodeAt(0), size))).toBe(true);
      }
    });

    it('a reset at any operation of a sequence of sets leaves each key old or new, never torn', async (ctx) => {
      const probe = await factory();
      if (probe.power === undefined) {
        ctx.skip();
        return;
      }
      // A workload long enough to make the store reclaim space, so the cuts land in its GC too.
      const size = Math.min(500, probe.store.maxValueBytes);
      const steps: { key: string; value: Uint8Array | undefined }[] = [];
      for (let i = 0; i < 30; i++) {
        const key = ['a', 'b', 'c'][i % 3]!;
        steps.push({ key, value: i % 7 === 6 ? undefined : bytes(i, size - (i % 5)) });
      }
      const run = async (kv: KeyValue, upTo = steps.length): Promise<number> => {
        for (let i = 0; i < upTo; i++) {
          const step = steps[i]!;
          if (step.value === undefined) await kv.delete(step.key);
          else await kv.set(step.key, step.value);
        }
        return upTo;
      };
      const start = probe.power.operations;
      await run(probe.store);
      const total = probe.power.operations - start;
      expect(total).toBeGreaterThan(steps.length);

      for (let cut = 0; cut < total; cut++) {
        const { store, reopen, power } = await factory();
        power!.cutAfter(cut);
        const committed = new Map<string, Uint8Array | undefined>();
        let inFlight: { key: string; value: Uint8Array | undefined } | undefined;
        let cutHappened = false;
        for (const step of steps) {
          inFlight = step;
          try {
            if (step.value === undefined) await store.delete(step.key);
            else await store.set(step.key, step.value);
          } catch (error) {
            expect(power!.isCut, `cut ${cut}: ${String(error)}`).toBe(true);
            cutHappened = true;
            break;
          }
          committed.set(step.key, step.value);
        }
        expect(cutHappened, `cut ${cut} did not happen`).toBe(true);
        power!.restore();
        const after = await reopen();
        for (const key of ['a', 'b', 'c']) {
          const got = await after.get(key);
          const old = committed.get(key);
          const ok = same(got, old) || (inFlight!.key === key && same(got, inFlight!.value));
          expect(ok, `cut at operation ${cut}: key "${key}" is neither its old nor its new value`).toBe(true);
        }
        // The store stays usable after the reset: the rest of the workload goes through.
        await run(after);
        const final = await reopen();
        expect(same(await final.get('c'), steps[29]!.value)).toBe(true);
      }
    });
  });
}
