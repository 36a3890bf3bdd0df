// Conformance suite for System and identity (platform/system.ts, Board.identity): the reset reason
// after each kind of reset the harness can cause, the random bytes, and the device's identity.
// The expected reasons come from the harness as facts of the SoC, never from the port's own
// tables, so a port that reads its reset-cause register wrong fails here.
import { describe, expect, it } from 'vitest';
import { toHex } from '../../base/bytes.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';
import type { ResetReason } from '../../platform/system.ts';

/** How a device comes to reset: power lost, System.restart(), watchdog, supply brownout, firmware panic. */
export type ResetEvent = 'power-cut' | 'restart' | 'watchdog' | 'brownout' | 'panic';

/** One boot of the device as the suite sees it. */
export interface SystemBoot {
  resetReason(): MaybePromise<ResetReason>;
  randomBytes(length: number): MaybePromise<Uint8Array>;
  readonly identity: Readonly<Record<string, string>>;
  /**
   * Fills [offset, offset + length) of a zeroed `total`-byte buffer through the port's RNG and
   * returns the whole buffer; absent where the port has no such path (it is the FFI offset path).
   */
  fillRandomAt?(total: number, offset: number, length: number): MaybePromise<Uint8Array>;
}

export interface SystemHarness {
  /** The boot running now (fresh from the factory: the first boot after power-up). */
  readonly current: SystemBoot;
  /** Resets the device as `how` ('restart' through the port's System.restart()) and boots it again. */
  reset(how: ResetEvent): Promise<SystemBoot>;
  /** What the device must report after each reset the harness can cause. */
  readonly expectedReasons: Readonly<Partial<Record<ResetEvent, ResetReason>>>;
  /** The identity attribute the port reports by default, and its format. */
  readonly identity: { readonly key: string; readonly pattern: RegExp };
}

/** Each call gives a device fresh from the factory, just powered up. */
export type SystemFactory = () => Promise<SystemHarness>;

const RANDOM_LENGTHS = [0, 1, 16, 33, 256];

export function systemConformance(name: string, factory: SystemFactory): void {
  describe(`System conformance: ${name}`, () => {
    it('a device just powered up reports power-on', async () => {
      const h = await factory();
      expect(await h.current.resetReason()).toBe('power-on');
    });

    it('after each reset the harness can cause, resetReason() is the one the SoC reports', async () => {
      const h = await factory();
      const events = Object.keys(h.expectedReasons) as ResetEvent[];
      expect(events.length).toBeGreaterThan(0);
      const seen: Partial<Record<ResetEvent, ResetReason>> = {};
      // One device through every reset, so each boot also shows the cause of the one before is gone.
      for (const how of events) seen[how] = await (await h.reset(how)).resetReason();
      expect(seen).toEqual(h.expectedReasons);
    });

    it('the identity is present and formatted, and stays the same across resets', async () => {
      const h = await factory();
      const first = { ...h.current.identity };
      expect(first[h.identity.key], JSON.stringify(first)).toMatch(h.identity.pattern);
      for (const how of ['power-cut', 'restart'] as const) {
        if (h.expectedReasons[how] === undefined) continue;
        expect({ ...(await h.reset(how)).identity }, how).toEqual(first);
      }
    });

    it('randomBytes(n) gives n bytes for every n, 0 included; bad lengths are a RangeError', async () => {
      const h = await factory();
      for (const n of RANDOM_LENGTHS) {
        const bytes = await h.current.randomBytes(n);
        expect(bytes, `randomBytes(${n})`).toBeInstanceOf(Uint8Array);
        expect(bytes.length, `randomBytes(${n})`).toBe(n);
      }
      for (const bad of [-1, 1.5, Number.NaN]) await expect(async () => h.current.randomBytes(bad), String(bad)).rejects.toThrow(RangeError);
    });

    it('random bytes vary: within a draw, between draws, and after a reset', async () => {
      const h = await factory();
      // 256 uniform bytes hold about 162 distinct values; under 64 is a stuck or patterned source.
      expect(new Set(await h.current.randomBytes(256)).size).toBeGreaterThan(64);
      const draws = [await h.current.randomBytes(32), await h.current.randomBytes(32)];
      const after = h.expectedReasons['power-cut'] !== undefined ? 'power-cut' : (Object.keys(h.expectedReasons)[0] as ResetEvent);
      draws.push(await (await h.reset(after)).randomBytes(32)); // a source reseeded alike each boot repeats here
      const hex = draws.map(toHex);
      expect(new Set(hex).size, hex.join('\n')).toBe(3);
    });

    it('a fill into part of a buffer lands at its offset and nowhere else', async (ctx) => {
      const h = await factory();
      const fillAt = h.current.fillRandomAt?.bind(h.current);
      if (fillAt === undefined) return ctx.skip();
      for (const [total, offset, length] of [[64, 13, 20], [64, 0, 7], [64, 40, 24], [16, 16, 0]] as const) {
        const buffer = await fillAt(total, offset, length);
        const where = `[${offset}, ${offset + length}) of ${total}`;
        expect(buffer.length, where).toBe(total);
        expect([...buffer.subarray(0, offset), ...buffer.subarray(offset + length)].every((b) => b === 0), `${where}: bytes outside changed`).toBe(true);
        // 7 or more random bytes all zero: 2^-56.
        if (length >= 7) expect(buffer.subarray(offset, offset + length).some((b) => b !== 0), `${where}: nothing filled`).toBe(true);
      }
    });
  });
}
