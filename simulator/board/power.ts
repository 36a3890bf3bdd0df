// One device's power supply. Every flash erase/program (and KV write, for stores not built on a
// NorFlash) asks the rail first, so a test can cut power at any single operation and replay the
// boot that follows. The cut operation is torn: it does part of its work, then throws PowerCut.
import { prng } from '../prng.ts';

export class PowerCut extends Error {
  override readonly name = 'PowerCut';
}

export type PowerOperation = 'erase' | 'program' | 'kv';

/** One device's power supply: counts every flash erase/program and KV write of the device. */
export class PowerRail {
  #operations = 0;
  #cutAt: number | undefined;
  #cut = false;
  readonly #random: () => number;

  constructor(seed = 1) {
    if (!Number.isInteger(seed)) throw new TypeError(`"seed" expected an integer, got ${seed}`);
    this.#random = prng(seed);
  }

  /** Operations performed since construction (each erase, program, kv set/delete counts once). */
  get operations(): number {
    return this.#operations;
  }

  /** Arm a cut: the operation with index `operations + n` (0 = the very next one) is torn and throws PowerCut. undefined disarms. */
  cutAfter(n: number | undefined): void {
    if (n === undefined) {
      this.#cutAt = undefined;
      return;
    }
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`"n" expected an integer >= 0, got ${n}`);
    this.#cutAt = this.#operations + n;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  /** Cut the power now, between operations (SimDevice.reset('power-cut')): the next operation throws PowerCut. */
  cut(): void {
    this.#cutAt = undefined;
    this.#cut = true;
  }

  /** Power back on (the device harness calls this when it reboots). */
  restore(): void {
    this.#cut = false;
  }

  /** Called by each operation before doing it: throws PowerCut when already cut; returns 'tear' when this op is the cut point (do part of it, then throw PowerCut). */
  begin(kind: PowerOperation): 'ok' | 'tear' {
    if (this.#cut) throw new PowerCut(`${kind} while the power is off`);
    const index = this.#operations++;
    if (index !== this.#cutAt) return 'ok';
    this.#cutAt = undefined;
    this.#cut = true;
    return 'tear';
  }

  /** Seeded PRNG in [0,1) for how much of a torn operation happens. */
  random(): number {
    return this.#random();
  }
}
