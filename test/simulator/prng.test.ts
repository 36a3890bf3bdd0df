import { describe, expect, it } from 'vitest';
import { prng } from '../../simulator/prng.ts';

describe('prng (mulberry32)', () => {
  it('gives the reference mulberry32 sequence, so seeded chunkings and fault offsets replay', () => {
    const random = prng(1);
    expect([random(), random(), random()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  });

  it('stays in [0, 1) and depends only on the seed', () => {
    const a = prng(0xdeadbeef);
    const b = prng(0xdeadbeef);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});
