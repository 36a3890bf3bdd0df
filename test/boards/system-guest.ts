// XS guest for the system conformance suite under XS (test/boards/conformance.test.ts): guest-main's
// jobs plus one that hands the board's RNG a view into the middle of a buffer. A view made on the
// Node side crosses the bridge as a fresh buffer of its own, so only a guest job can build one.
import type { GuestBridge } from '../../simulator/xs/guest/bridge.ts';
import { guestJobs } from '../../simulator/moddable/guest-main.ts';
import { createJobRunner } from '../../simulator/xs/guest/jobs.ts';

const runner = createJobRunner({
  ...guestJobs,
  /** board.system.fillRandom on buffer[offset, offset + length) of a zeroed `total`-byte buffer; returns the whole buffer. */
  fillRandomAt: async (args: { total: number; offset: number; length: number }, bridge: GuestBridge) => {
    const buffer = new Uint8Array(args.total);
    const view = buffer.subarray(args.offset, args.offset + args.length);
    // Through the call job, so the board is the one the boot job built; its system is a
    // ModdableSystem (boards/_moddable/system.ts), whose fillRandom takes a view.
    await guestJobs.call!({ path: ['system'], method: 'fillRandom', args: [view] } as never, bridge);
    return buffer;
  },
});
(globalThis as unknown as { OtaMcuXs: unknown }).OtaMcuXs = runner;
