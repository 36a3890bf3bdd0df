// The client's configuration: one plain object a board builds from its own settings (mc/config on
// Moddable, flags in the simulator), checked once at the edge by resolveClientConfig.
import type { MaybePromise } from '../platform/maybe-async.ts';
import type { PublicKey } from '../platform/verifier.ts';
import type { DownloadProgress } from './deployment/download.ts';
import type { StateCodec } from './deployment/record.ts';
import type { DeploymentStatus, FinalStatus } from './deployment-status.ts';
import type { StateName } from './deployment/states.ts';
import type { UpdateModule } from './modules/update-module.ts';
import { badArgument, nonEmptyString } from '../base/errors.ts';
import { isString } from '../base/json.ts';
import { parseImageVersion } from './modules/image-lifecycle.ts';
import { DEFAULT_POLL_INTERVALS, type PollIntervals } from './mender/backoff.ts';

/** What the client tells the application as it works (progress bars, logs, demos). */
export type ClientEvent =
  | { readonly type: 'state'; readonly state: StateName; readonly deploymentId: string }
  | ({ readonly type: 'progress' } & DownloadProgress)
  | { readonly type: 'report'; readonly deploymentId: string; readonly status: DeploymentStatus; readonly substate?: string }
  | { readonly type: 'error'; readonly deploymentId: string; readonly state: StateName; readonly message: string }
  | { readonly type: 'restart'; readonly deploymentId: string; readonly reason: string }
  | { readonly type: 'deployment-end'; readonly deploymentId: string; readonly status: FinalStatus | 'aborted' }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly message: string };

export interface ClientConfig {
  /** https://… (http:// only with allowHttp). */
  readonly serverUrl: string;
  readonly tenantToken?: string;
  /** Mender device type, e.g. "nrf52840dk" (matched against the artifact's device types). */
  readonly deviceType: string;
  /** PEM of the CA that signs the server certificate. */
  readonly ca?: string;
  readonly allowHttp?: boolean;
  /** When set, every artifact must carry a valid manifest signature by this key. */
  readonly artifactKey?: PublicKey;
  /** The key the bootloader trusts: images are checked against it before they are marked pending. */
  readonly bootKey?: PublicKey;
  /**
   * Anti-rollback (opt-in): an image whose version ("major.minor.revision[+build]": the MCUboot
   * header's, the ESP app descriptor's) is below this is refused (OtaError 'image-downgrade')
   * before anything is marked pending. The build number counts only when given here.
   */
  readonly minImageVersion?: string;
  /** Anti-rollback (opt-in): an image whose security counter (MCUboot's SEC_CNT TLV, ESP secure_version) is below this is refused. */
  readonly minSecurityCounter?: number;
  readonly identityKeyType?: 'ed25519' | 'ecdsa-p256';
  /** Identity attributes; the board's identity when absent. */
  readonly identity?: Record<string, string>;
  /** Artifact name reported until the first deployment succeeds; default "<running image version>". */
  readonly artifactName?: string;
  /** mender.conf settings under Mender's names (UpdatePollIntervalSeconds, …); Mender's defaults otherwise. */
  readonly pollIntervals?: Partial<PollIntervals>;
  /** The running application's health check after an update's reset; false rolls the update back. */
  readonly selfTest?: () => MaybePromise<boolean>;
  readonly onEvent?: (event: ClientEvent) => void;
  /**
   * The payload types this client installs: the board's own (createZephyrImageModule from
   * core/modules/zephyr-image.ts on MCUboot, createEspOtaModule from core/modules/esp-ota.ts on
   * ESP-IDF) and any custom ones. None by default: a deployment of an unregistered type fails.
   */
  readonly updateModules?: readonly UpdateModule[];
  /** Applies a device configuration from the server; returns what is now applied (reported back). */
  readonly onConfiguration?: (config: Record<string, string>) => MaybePromise<Record<string, string>>;
  /** Codec of the persisted deployment record (CBOR on boards: platform/state-codec-cbor.ts); JSON when absent. */
  readonly stateCodec?: StateCodec;
  /** Download attempts per deployment (resets and lost connections); default 12, Mender's resume bound. */
  readonly maxDownloadAttempts?: number;
  /** Download checkpoint spacing; default 32 KiB (the bound is 64 KiB). */
  readonly checkpointBytes?: number;
  /** Progress substates every `progressStepPercent` (default 10) and at most once per `progressMinIntervalMs` (default 2000). */
  readonly progressStepPercent?: number;
  readonly progressMinIntervalMs?: number;
  /** Client version in the inventory. */
  readonly clientVersion?: string;
}

export const CHECKPOINT_MAX_BYTES = 64 * 1024;

export interface ResolvedClientConfig extends ClientConfig {
  readonly pollIntervals: PollIntervals;
  readonly maxDownloadAttempts: number;
  readonly checkpointBytes: number;
  readonly progressStepPercent: number;
  readonly progressMinIntervalMs: number;
  readonly clientVersion: string;
}

/** Checks a configuration once, filling in defaults; TypeError/RangeError naming the field. */
export function resolveClientConfig(config: ClientConfig): ResolvedClientConfig {
  if (!isString(config?.serverUrl)) throw badArgument('"serverUrl"', 'a URL string', typeof config?.serverUrl);
  nonEmptyString('deviceType', config.deviceType);
  const pollIntervals = { ...DEFAULT_POLL_INTERVALS, ...config.pollIntervals };
  for (const [name, value] of Object.entries(pollIntervals)) {
    if (!Number.isFinite(value) || value < 0) throw badArgument(`"pollIntervals.${name}"`, 'seconds >= 0', value, RangeError);
  }
  const positiveInteger = (name: 'maxDownloadAttempts' | 'checkpointBytes' | 'progressStepPercent', fallback: number, max = Number.MAX_SAFE_INTEGER): number => {
    const value = config[name];
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < 1 || value > max) throw badArgument(`"${name}"`, `an integer in 1..${max}`, value, RangeError);
    return value;
  };
  if (config.minImageVersion !== undefined && parseImageVersion(config.minImageVersion) === undefined) {
    throw badArgument('"minImageVersion"', 'major.minor.revision[+build]', JSON.stringify(config.minImageVersion));
  }
  const minCounter = config.minSecurityCounter;
  if (minCounter !== undefined && (!Number.isInteger(minCounter) || minCounter < 0 || minCounter > 0xffffffff)) {
    throw badArgument('"minSecurityCounter"', 'an integer in 0..4294967295', minCounter, RangeError);
  }
  return {
    ...config,
    pollIntervals,
    maxDownloadAttempts: positiveInteger('maxDownloadAttempts', 12),
    checkpointBytes: positiveInteger('checkpointBytes', 32 * 1024, CHECKPOINT_MAX_BYTES),
    progressStepPercent: positiveInteger('progressStepPercent', 10, 100),
    progressMinIntervalMs: config.progressMinIntervalMs === undefined ? 2000 : Math.max(0, config.progressMinIntervalMs),
    clientVersion: config.clientVersion ?? 'ota-mcu 0.1.0',
  };
}
