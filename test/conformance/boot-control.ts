// Conformance suite for BootControl (platform/boot-control.ts): the test → confirm and test →
// revert cycles a client relies on, run against a board that can be reset between steps.
import { describe, expect, it } from 'vitest';
import { isOtaError } from '../../base/errors.ts';
import type { BootControl } from '../../platform/boot-control.ts';

export interface BootControlHarness {
  /** The BootControl of the current boot. */
  readonly bootControl: BootControl;
  /** Resets the board (nothing confirmed unless the test did it) and returns the new boot's BootControl. */
  reboot(): Promise<BootControl>;
  /** A bootable image of this board's format with the given version ("1.2.3+4": what state() reports back). */
  makeImage(version: string, payloadBytes?: number): Uint8Array;
  /** The version of the image the board starts with. */
  readonly firstVersion: string;
}

/** Each call gives a board fresh from the factory, running `firstVersion`. */
export type BootControlFactory = () => Promise<BootControlHarness>;

async function writeImage(bc: BootControl, image: Uint8Array, chunk = 1000): Promise<void> {
  const writer = await bc.openInactiveSlot();
  for (let at = 0; at < image.length; at += chunk) await writer.write(image.subarray(at, at + chunk));
  await writer.finish();
}

/** Byte equality naming the first difference: toEqual walks a 200 KB array slowly, element by element. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const n = Math.max(actual.length, expected.length);
  let at = 0;
  while (at < n && actual[at] === expected[at]) at++;
  expect(at === n ? 'same' : `first difference at byte ${at} of ${actual.length} (expected ${expected.length})`, what).toBe('same');
}

export function bootControlConformance(name: string, factory: BootControlFactory): void {
  describe(`BootControl conformance: ${name}`, () => {
    it('reports the first image: not on trial, no revert, room in the other slot', async () => {
      const h = await factory();
      const state = await h.bootControl.state();
      expect(state.runningVersion).toBe(h.firstVersion);
      expect(state.isTestBoot).toBe(false);
      expect(state.lastBootReverted).toBe(false);
      expect(state.inactiveSlotBytes).toBeGreaterThan(h.makeImage('1.1.0+1').length);
    });

    it('write slot → setPendingTest → reset → on trial → confirm → reset → still the new image', async () => {
      const h = await factory();
      await writeImage(h.bootControl, h.makeImage('1.1.0+1'));
      await h.bootControl.setPendingTest();
      expect((await h.bootControl.state()).runningVersion).toBe(h.firstVersion);
      let bc = await h.reboot();
      let state = await bc.state();
      expect(state.runningVersion).toBe('1.1.0+1');
      expect(state.isTestBoot).toBe(true);
      expect(state.lastBootReverted).toBe(false);
      await bc.confirm();
      expect((await bc.state()).isTestBoot).toBe(false);
      bc = await h.reboot();
      state = await bc.state();
      expect(state.runningVersion).toBe('1.1.0+1');
      expect(state.isTestBoot).toBe(false);
      expect(state.lastBootReverted).toBe(false);
      bc = await h.reboot();
      expect((await bc.state()).runningVersion).toBe('1.1.0+1');
    });

    it('two updates in a row, each confirmed, both stick', async () => {
      const h = await factory();
      let bc = h.bootControl;
      for (const version of ['1.1.0+1', '1.2.0+2']) {
        await writeImage(bc, h.makeImage(version));
        await bc.setPendingTest();
        bc = await h.reboot();
        expect((await bc.state()).runningVersion).toBe(version);
        await bc.confirm();
        bc = await h.reboot();
        expect(await bc.state()).toMatchObject({ runningVersion: version, isTestBoot: false, lastBootReverted: false });
      }
    });

    it('write → pending → reset → no confirm → reset: the old image runs and the revert is reported', async () => {
      const h = await factory();
      await writeImage(h.bootControl, h.makeImage('1.1.0+1'));
      await h.bootControl.setPendingTest();
      let bc = await h.reboot();
      expect(await bc.state()).toMatchObject({ runningVersion: '1.1.0+1', isTestBoot: true });
      bc = await h.reboot();
      expect(await bc.state()).toMatchObject({ runningVersion: h.firstVersion, isTestBoot: false, lastBootReverted: true });
      // And the device can take the next update afterwards.
      await writeImage(bc, h.makeImage('1.2.0+2'));
      await bc.setPendingTest();
      bc = await h.reboot();
      expect(await bc.state()).toMatchObject({ runningVersion: '1.2.0+2', isTestBoot: true });
    });

    it('rejectTestImage then reset: the old image runs and the revert is reported', async () => {
      const h = await factory();
      await writeImage(h.bootControl, h.makeImage('1.1.0+1'));
      await h.bootControl.setPendingTest();
      let bc = await h.reboot();
      await bc.rejectTestImage();
      bc = await h.reboot();
      expect(await bc.state()).toMatchObject({ runningVersion: h.firstVersion, isTestBoot: false, lastBootReverted: true });
    });

    it('openInactiveSlot is refused (image-invalid) while the running image is on trial', async () => {
      const h = await factory();
      await writeImage(h.bootControl, h.makeImage('1.1.0+1'));
      await h.bootControl.setPendingTest();
      const bc = await h.reboot();
      const error = await Promise.resolve()
        .then(() => bc.openInactiveSlot())
        .then(() => undefined, (e: unknown) => e);
      expect(isOtaError(error, 'image-invalid'), String(error)).toBe(true);
      await bc.confirm();
      const writer = await bc.openInactiveSlot();
      await writer.abort();
    });

    it('resumeAt keeps the prefix written before a reset, and the completed image boots', async () => {
      const h = await factory();
      // durableOffset moves a whole sector at a time, and a sector may be 128 KiB: the prefix is
      // over half the slot's room, so it passes a sector boundary on any slot of 2 or more sectors.
      const room = (await h.bootControl.state()).inactiveSlotBytes;
      const image = h.makeImage('1.1.0+1', Math.floor(room * 0.9));
      const writer = await h.bootControl.openInactiveSlot();
      const half = Math.floor(image.length * 0.6);
      for (let at = 0; at < half; at += 7777) await writer.write(image.subarray(at, Math.min(at + 7777, half)));
      expect(writer.offset).toBe(half);
      const durable = writer.durableOffset;
      expect(durable).toBeGreaterThan(0);
      expect(durable).toBeLessThanOrEqual(half);
      let bc = await h.reboot(); // the download was cut by a reset
      const prefix = new Uint8Array(durable);
      await bc.readInactiveSlot(0, prefix);
      expectSameBytes(prefix, image.subarray(0, durable), 'the prefix after the reset');
      const resumed = await bc.openInactiveSlot({ resumeAt: durable });
      expect(resumed.offset).toBe(durable);
      await resumed.write(image.subarray(durable));
      await resumed.finish();
      const whole = new Uint8Array(image.length);
      await bc.readInactiveSlot(0, whole);
      expectSameBytes(whole, image, 'the resumed image');
      await bc.setPendingTest();
      bc = await h.reboot();
      expect((await bc.state()).runningVersion).toBe('1.1.0+1');
    });

    it('clearPending cancels the request: the next reset boots the running image', async () => {
      const h = await factory();
      await writeImage(h.bootControl, h.makeImage('1.1.0+1'));
      await h.bootControl.setPendingTest();
      await h.bootControl.clearPending();
      const bc = await h.reboot();
      expect(await bc.state()).toMatchObject({ runningVersion: h.firstVersion, isTestBoot: false, lastBootReverted: false });
    });

    it('a corrupted image never boots: setPendingTest refuses it, or the reset keeps the old image', async () => {
      const h = await factory();
      const image = h.makeImage('1.1.0+1', 5000);
      image[Math.floor(image.length / 2)] ^= 0x01;
      await writeImage(h.bootControl, image);
      let refused = false;
      try {
        await h.bootControl.setPendingTest();
      } catch (error) {
        expect(isOtaError(error, 'image-invalid'), String(error)).toBe(true);
        refused = true;
      }
      const bc = await h.reboot();
      const state = await bc.state();
      expect(state.runningVersion).toBe(h.firstVersion);
      expect(state.isTestBoot).toBe(false);
      if (refused) expect(state.lastBootReverted).toBe(false);
    });

    it('an aborted write leaves nothing bootable behind, and the writer refuses bytes past the slot', async () => {
      const h = await factory();
      const image = h.makeImage('1.1.0+1');
      const writer = await h.bootControl.openInactiveSlot();
      await writer.write(image);
      await writer.abort();
      await writer.abort();
      const head = new Uint8Array(16);
      await h.bootControl.readInactiveSlot(0, head);
      expect(head.every((b) => b === 0xff)).toBe(true);
      const state = await h.bootControl.state();
      const big = await h.bootControl.openInactiveSlot();
      await big.write(image.subarray(0, 16));
      await expect(async () => big.write(new Uint8Array(state.inactiveSlotBytes))).rejects.toThrow(RangeError);
      await big.abort();
      const bc = await h.reboot();
      expect((await bc.state()).runningVersion).toBe(h.firstVersion);
    });
  });
}
