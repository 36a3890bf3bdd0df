// mulberry32: a tiny seeded PRNG, the same sequence on every engine (Node and XS) for the same
// seed, so chunk sizes, fault offsets and torn writes replay exactly. Not for anything secret.

/** A generator of numbers in [0, 1), seeded. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
