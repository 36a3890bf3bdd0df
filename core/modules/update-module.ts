// Update modules: what the client does with one payload type, as Mender's update-module states
// (Download, ArtifactInstall, ArtifactReboot, ArtifactVerifyReboot, ArtifactCommit,
// ArtifactRollback, ArtifactFailure). Opt-in: a board registers 'zephyr-image' (MCUboot,
// zephyr-image.ts) or 'esp-ota' (ESP-IDF, esp-ota.ts) with the client; the core imports neither.
import type { Board } from '../../platform/board.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';
import type { LogLevel } from '../../platform/system.ts';
import type { PublicKey } from '../../platform/verifier.ts';
import type { PayloadInfo, PayloadSink } from '../artifact/types.ts';
import { badArgument } from '../../base/errors.ts';

/** What every callback gets: the board, the configured keys, and the deployment log. */
export interface UpdateModuleContext {
  readonly board: Board;
  /** The key MCUboot trusts: when set, images must carry a valid signature by it. */
  readonly bootKey?: PublicKey;
  /** Anti-rollback (opt-in): images below this version ("major.minor.revision[+build]") are refused. */
  readonly minImageVersion?: string;
  /** Anti-rollback (opt-in): images whose security counter (MCUboot SEC_CNT, ESP secure_version) is below this are refused. */
  readonly minSecurityCounter?: number;
  /** Adds a line to the deployment log (uploaded with a failure). */
  log(level: LogLevel, message: string): void;
}

/** The module's side of one download: the reader streams payload files into it. */
export interface ModuleDownload extends PayloadSink {
  /**
   * Bytes of the open file that are durably stored and can be kept across a reset (a resume
   * point, sector-aligned); 0 when the module cannot resume.
   */
  readonly durableOffset: number;
}

/** Facts the module learnt from the stored payload; the machine persists them. */
export interface PayloadFacts {
  /** The version the new payload runs as after the reboot (how a bootloader revert is detected). */
  readonly version?: string;
}

/** What the machine kept about the payload file across a reset. */
export interface StoredPayload {
  readonly fileName?: string;
  readonly fileSize?: number;
}

export interface UpdateModule {
  /** Payload type as in header-info, e.g. "zephyr-image". */
  readonly type: string;
  /** The new payload takes effect only after a reset (the machine restarts the board). */
  readonly needsReboot: boolean;
  /** Download: a sink for the payload's files. Called again after a reset to resume. */
  download(context: UpdateModuleContext, payload: PayloadInfo): MaybePromise<ModuleDownload>;
  /**
   * The gates before anything irreversible, on the stored payload. `download` is this boot's sink
   * (with what it checked while streaming), or undefined after a reset: re-check from storage
   * (`stored` says what was downloaded). Throws OtaError naming the failed check.
   */
  verify(context: UpdateModuleContext, download: ModuleDownload | undefined, stored: StoredPayload): MaybePromise<PayloadFacts>;
  /**
   * ArtifactInstall: make the payload take effect (for images: pending as a test boot). Called
   * again after a reset in the middle, so it must notice when its effect already happened.
   */
  install(context: UpdateModuleContext, facts: PayloadFacts): MaybePromise<void>;
  /**
   * ArtifactReboot: restart the board (System.restart never returns). Returns without a restart
   * when the new payload already runs (a reset came first).
   */
  reboot(context: UpdateModuleContext, facts: PayloadFacts): MaybePromise<void>;
  /** ArtifactVerifyReboot: the new payload is running on trial; throws OtaError('revert-detected') if not. */
  verifyReboot(context: UpdateModuleContext, facts: PayloadFacts): MaybePromise<void>;
  /** ArtifactCommit: make it permanent; idempotent (a reset may repeat it); OtaError('revert-detected') if the new payload no longer runs. */
  commit(context: UpdateModuleContext, facts: PayloadFacts): MaybePromise<void>;
  /** ArtifactRollback: undo the install. 'restart' when a reset is needed to get the old one back. */
  rollback(context: UpdateModuleContext): MaybePromise<'restart' | 'done'>;
  /** Checks after the rollback reset that the old payload runs again; throws OtaError if not. */
  verifyRollback(context: UpdateModuleContext, facts: { fromVersion: string }): MaybePromise<void>;
  /** ArtifactFailure: clean up after a failed deployment (e.g. leave the slot unbootable). */
  failure(context: UpdateModuleContext): MaybePromise<void>;
}

/** The payload types a client can install, by type name (createUpdateModuleRegistry). */
export interface UpdateModuleRegistry {
  /** Adds a payload type; a later module of the same type replaces the earlier one. */
  registerUpdateModule(module: UpdateModule): void;
  get(type: string): UpdateModule | undefined;
  readonly types: string[];
}

export function createUpdateModuleRegistry(initial: readonly UpdateModule[] = []): UpdateModuleRegistry {
  const registry = new ModuleRegistry();
  for (const module of initial) registry.registerUpdateModule(module);
  return registry;
}

// A class rather than a closure factory: a preloaded XS device keeps its methods in flash.
class ModuleRegistry implements UpdateModuleRegistry {
  readonly #modules = new Map<string, UpdateModule>();

  registerUpdateModule(module: UpdateModule): void {
    if (typeof module?.type !== 'string' || module.type === '') throw badArgument('"module.type"', 'a payload type name', JSON.stringify(module?.type));
    for (const callback of ['download', 'verify', 'install', 'reboot', 'verifyReboot', 'commit', 'rollback', 'verifyRollback', 'failure'] as const) {
      if (typeof module[callback] !== 'function') throw badArgument(`update module "${module.type}": "${callback}"`, 'a function', typeof module[callback]);
    }
    this.#modules.set(module.type, module);
  }

  get(type: string): UpdateModule | undefined {
    return this.#modules.get(type);
  }

  get types(): string[] {
    return [...this.#modules.keys()];
  }
}
