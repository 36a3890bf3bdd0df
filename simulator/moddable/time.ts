// Emulation of Moddable's `time`: Time.ticks is the device's monotonic millisecond clock.
import { native } from './guest-bridge.ts';

const Time = {
  get ticks(): number {
    return native('ticks') as number;
  },
  delta(start: number, end?: number): number {
    return (end ?? (native('ticks') as number)) - start;
  },
  set(_seconds: number): void {
    throw new Error('Time.set: the simulated device takes its wall clock from the simulator');
  },
  timezone: 0,
  dst: 0,
};

export default Time;
