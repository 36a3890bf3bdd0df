// Emulation of ECMA-419 `System` (module "system", typed as "embedded:io/system"): restart() is the
// simulated board's (the engine dies mid-call, as the CPU would), the setTimeout family is the
// emulated `timer`. The guest entry installs it as the global `System`, as Moddable's setup does.
import { native } from './guest-bridge.ts';
import Timer from './timer.ts';

export default class System {
  static restart(): void {
    native('restart');
  }

  static deepSleep(): void {
    throw new Error('System.deepSleep: not part of the simulated board');
  }

  static resolve(name: string, callback: (name: string, address: string | undefined) => void): void {
    Timer.set(() => callback(name, undefined));
  }

  static setTimeout = (callback: (timer: Timer) => void, ms?: number): Timer => Timer.set(callback, ms);
  static clearTimeout = (timer: Timer | undefined): void => Timer.clear(timer);
  static setInterval = (callback: (timer: Timer) => void, ms: number): Timer => Timer.repeat(callback, ms);
  static clearInterval = (timer: Timer | undefined): void => Timer.clear(timer);
}
