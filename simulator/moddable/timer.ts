// Emulation of Moddable's `timer` (modules/base/timer): set/repeat/schedule/clear/delay, the
// callback gets the timer. Time is the simulated device's clock in Node (virtual while the device
// waits, real while a network request is open: see host.ts); a callback runs when XS is idle.
import { bridge, HOST, native, nativeAsync } from './guest-bridge.ts';

interface TimerState {
  callback: (timer: Timer) => void;
  repeat: number | undefined;
  generation: number; // bumps on schedule/clear so a superseded wait does nothing
  live: boolean;
  key: number; // the host wait of the current arm, cancelled by clear/schedule
}

let nextKey = 1;

function cancel(state: TimerState): void {
  if (state.live) native('timerCancel', state.key);
  state.live = false;
  state.generation++;
}

const states = new WeakMap<object, TimerState>();

function arm(timer: Timer, interval: number): void {
  const state = states.get(timer)!;
  const generation = ++state.generation;
  state.live = true;
  state.key = nextKey++;
  void nativeAsync(undefined, 'timerWait', Math.max(0, Number(interval) || 0), state.key).then(() => {
      if (!state.live || state.generation !== generation) return;
      if (state.repeat === undefined) state.live = false;
      else arm(timer, state.repeat);
    state.callback.call(undefined, timer);
  });
}

export default class Timer {
  private constructor() {
    throw new TypeError('use Timer.set()');
  }

  static set(callback: (timer: Timer) => void, interval?: number, repeat?: number): Timer {
    const timer = Object.create(Timer.prototype) as Timer;
    states.set(timer, { callback, repeat, generation: 0, live: false, key: 0 });
    arm(timer, interval ?? 0);
    return timer;
  }

  static repeat(callback: (timer: Timer) => void, interval: number): Timer {
    return Timer.set(callback, interval, interval);
  }

  static schedule(timer: Timer, interval?: number, repeat?: number): void {
    const state = states.get(timer);
    if (state === undefined) throw new TypeError('not a timer');
    state.repeat = repeat;
    cancel(state);
    if (interval !== undefined) arm(timer, interval);
  }

  static clear(timer: Timer | undefined | null): void {
    if (timer === undefined || timer === null) return;
    const state = states.get(timer);
    if (state !== undefined) cancel(state);
  }

  static delay(ms: number): void {
    bridge().call(HOST, 'timerDelay', [ms]);
  }
}
