// How the Node side of a Moddable emulation fails: as the SDK's natives do, with a plain Error and
// the SDK's terse text; a halt of the simulated board (PowerCut, DeviceRestart) and the simulator's
// OtaErrors pass through unchanged.
import { OtaError } from '../../base/errors.ts';

/** A native failure: a plain Error with the SDK's terse text; the cause stays on the Node side. */
export function nativeError(message: string): Error {
  return new Error(message);
}

/** Runs `call`; a halt (PowerCut, DeviceRestart) and OtaErrors from the simulator pass unchanged. */
export function guard<T>(message: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof Error && (error.name === 'PowerCut' || error.name === 'DeviceRestart' || error instanceof OtaError)) throw error;
    throw nativeError(message);
  }
}

