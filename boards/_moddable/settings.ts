// The settings a Moddable board reads from `mc/config` (the manifest's "config", overridable on the
// mcconfig command line), turned into the client's configuration in this one place.
import type { ClientConfig } from '../../core/client-config.ts';
import type { PollIntervals } from '../../core/mender/backoff.ts';
import { parsePublicKeyPem } from '../../platform/public-key.ts';

export interface BoardSettings {
  /** https://… of the Mender server. */
  readonly serverUrl: string;
  readonly tenantToken?: string;
  /** Mender device type, matched against the artifacts' device types. */
  readonly deviceType: string;
  /** Seconds, under Mender's names (UpdatePollIntervalSeconds, InventoryPollIntervalSeconds, RetryPollIntervalSeconds). */
  readonly pollIntervals?: Partial<PollIntervals>;
  /** PEM of the CA that signs the server certificate. */
  readonly serverCaPem?: string;
  /** PEM public key: every artifact must carry a valid signature by it. */
  readonly artifactKeyPem?: string;
  /** PEM public key the bootloader trusts (MCUboot): images are checked against it first. */
  readonly bootKeyPem?: string;
  readonly identityKeyType?: 'ed25519' | 'ecdsa-p256';
  /** Identity attributes; the board's (its MAC) when absent. */
  readonly identity?: Record<string, string>;
  /** DNS servers for the UDP resolver. */
  readonly dnsServers?: readonly string[];
  /** Allow http:// server URLs (lab setups only). */
  readonly allowHttp?: boolean;
  /** Where the client's records live: an NVS namespace (ESP32, ≤ 15 characters) or a Zephyr settings subtree. */
  readonly keyValuePath?: string;
}

/** What every Moddable board's createBoard takes from the settings; a board adds its own (slot labels…). */
export interface ModdableBoardConfig {
  readonly keyValuePath?: string;
  readonly dnsServers?: readonly string[];
  /** PEM trusted for https when a request brings none. */
  readonly ca?: string;
  readonly identity?: Readonly<Record<string, string>>;
}

export function boardConfigFrom(settings: BoardSettings): ModdableBoardConfig {
  return {
    ...(settings.keyValuePath ? { keyValuePath: settings.keyValuePath } : {}),
    ...(settings.dnsServers ? { dnsServers: settings.dnsServers } : {}),
    ...(settings.serverCaPem ? { ca: settings.serverCaPem } : {}),
    ...(settings.identity ? { identity: settings.identity } : {}),
  };
}

/**
 * The deployment record stays in the core's JSON codec on boards. cbor-x (platform/state-codec-cbor.ts,
 * used by the simulator) carries Node-only code behind runtime guards (`Buffer` references, a
 * `new Function` probe for its record extension), which the board bundles must not hold
 * (test/boards/build.test.ts); the record is one small map, so JSON costs a few bytes more, nothing else.
 */
export function clientConfigFrom(settings: BoardSettings, extra: Pick<ClientConfig, 'selfTest' | 'onEvent'> = {}): ClientConfig {
  if (typeof settings?.serverUrl !== 'string') throw new TypeError(`settings "serverUrl" expected a URL string, got ${typeof settings?.serverUrl}`);
  return {
    serverUrl: settings.serverUrl,
    deviceType: settings.deviceType,
    ...(settings.tenantToken ? { tenantToken: settings.tenantToken } : {}),
    ...(settings.pollIntervals ? { pollIntervals: settings.pollIntervals } : {}),
    ...(settings.serverCaPem ? { ca: settings.serverCaPem } : {}),
    ...(settings.artifactKeyPem ? { artifactKey: parsePublicKeyPem(settings.artifactKeyPem) } : {}),
    ...(settings.bootKeyPem ? { bootKey: parsePublicKeyPem(settings.bootKeyPem) } : {}),
    ...(settings.identityKeyType ? { identityKeyType: settings.identityKeyType } : {}),
    ...(settings.identity ? { identity: { ...settings.identity } } : {}),
    ...(settings.allowHttp ? { allowHttp: true } : {}),
    ...extra,
  };
}
