// Board: every interface a port provides. A port that misses one does not compile.
import type { BootControl } from './boot-control.ts';
import type { Sha256Factory } from './digest.ts';
import type { Flash } from './flash.ts';
import type { Http } from './http.ts';
import type { Inflate } from './inflate.ts';
import type { KeyValue } from './key-value.ts';
import type { Scheduler } from './scheduler.ts';
import type { System } from './system.ts';
import type { SignerFactory, Verifier } from './verifier.ts';

export interface Board {
  /** Short board name, e.g. "esp32", "stm32", "sim-mcuboot". */
  readonly name: string;
  /** Mender identity attributes (e.g. { mac: "..." }); stable across resets. */
  readonly identity: Readonly<Record<string, string>>;
  /** Extra inventory attributes the board reports (cpu, flash size, ...). */
  readonly inventory: Readonly<Record<string, string | number>>;
  readonly http: Http;
  readonly scheduler: Scheduler;
  readonly bootControl: BootControl;
  readonly keyValue: KeyValue;
  readonly sha256: Sha256Factory;
  readonly verifier: Verifier;
  /**
   * Where the identity key lives and how it signs, when the board has hardware for it (a secure
   * element, a crypto cell); absent, the client uses noble's (platform/signer-noble.ts, loaded on demand).
   */
  readonly signers?: SignerFactory;
  readonly inflate: Inflate;
  readonly system: System;
  /** The raw regions, for the conformance kit and diagnostics; the client writes slots only through BootControl. */
  readonly flash: Readonly<Record<string, Flash>>;
}
