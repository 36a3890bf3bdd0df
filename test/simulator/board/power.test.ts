import { describe, expect, it } from 'vitest';
import { PowerCut, PowerRail } from '../../../simulator/board/power.ts';

describe('PowerRail', () => {
  it('counts operations and tears exactly the armed one', () => {
    const power = new PowerRail(7);
    expect(power.begin('erase')).toBe('ok');
    expect(power.operations).toBe(1);
    power.cutAfter(2);
    expect(power.begin('program')).toBe('ok');
    expect(power.begin('kv')).toBe('ok');
    expect(power.isCut).toBe(false);
    expect(power.begin('program')).toBe('tear');
    expect(power.isCut).toBe(true);
    expect(power.operations).toBe(4);
  });

  it('refuses every operation while cut, until restored', () => {
    const power = new PowerRail();
    power.cutAfter(0);
    expect(power.begin('erase')).toBe('tear');
    expect(() => power.begin('program')).toThrow(PowerCut);
    expect(power.operations).toBe(1);
    power.restore();
    expect(power.begin('program')).toBe('ok');
  });

  it('disarms with undefined and rejects negative counts', () => {
    const power = new PowerRail();
    power.cutAfter(0);
    power.cutAfter(undefined);
    expect(power.begin('erase')).toBe('ok');
    expect(() => power.cutAfter(-1)).toThrow(RangeError);
  });

  it('has a seeded PRNG in [0,1): same seed, same sequence', () => {
    const a = new PowerRail(42);
    const b = new PowerRail(42);
    const c = new PowerRail(43);
    const seqA = Array.from({ length: 50 }, () => a.random());
    expect(Array.from({ length: 50 }, () => b.random())).toEqual(seqA);
    expect(Array.from({ length: 50 }, () => c.random())).not.toEqual(seqA);
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(seqA).size).toBeGreaterThan(45);
  });

  it('PowerCut is an Error named PowerCut', () => {
    const cut = new PowerCut('x');
    expect(cut).toBeInstanceOf(Error);
    expect(cut.name).toBe('PowerCut');
  });
});
