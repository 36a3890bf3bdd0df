import { describe, expect, it } from 'vitest';
import { DeviceRestart, SIM_EPOCH_MS, SimSystem, type LogEntry } from '../../../simulator/board/sim-system.ts';
import { VirtualClock } from '../../../simulator/board/virtual-clock.ts';

describe('SimSystem', () => {
  it('restart throws DeviceRestart; reset reason is what the harness set', () => {
    const system = new SimSystem({ clock: new VirtualClock(), resetReason: 'watchdog', boot: 3, log: [] });
    expect(() => system.restart()).toThrow(DeviceRestart);
    expect(system.resetReason()).toBe('watchdog');
  });

  it('wall clock follows the virtual clock from a fixed epoch', () => {
    const clock = new VirtualClock();
    const system = new SimSystem({ clock, resetReason: 'power-on', boot: 1, log: [] });
    expect(system.wallClockMs()).toBe(SIM_EPOCH_MS);
    clock.advance(60_000);
    expect(system.wallClockMs()).toBe(SIM_EPOCH_MS + 60_000);
  });

  it('logs to the device array and the printer, with boot and virtual time', () => {
    const clock = new VirtualClock();
    const log: LogEntry[] = [];
    const printed: string[] = [];
    const system = new SimSystem({ clock, resetReason: 'power-on', boot: 2, log, printer: (e) => printed.push(e.message) });
    clock.advance(5);
    system.log('warn', 'hello');
    expect(log).toEqual([{ boot: 2, atMs: 5, level: 'warn', message: 'hello' }]);
    expect(printed).toEqual(['hello']);
  });

  it('randomBytes gives fresh bytes of the asked length', () => {
    const system = new SimSystem({ clock: new VirtualClock(), resetReason: 'power-on', boot: 1, log: [] });
    const a = system.randomBytes(32);
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a.length).toBe(32);
    expect(system.randomBytes(32)).not.toEqual(a);
    expect(() => system.randomBytes(-1)).toThrow(RangeError);
  });
});
