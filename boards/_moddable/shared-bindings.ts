// The platform bindings every Moddable board has in common: https over embedded:network, Timer
// scheduling, SHA-256 by crypt, signatures by noble (loaded on demand, not preloaded), gunzip over the native inflate. The rest of a
// Board (flash, boot control, key-value, system, identity) is the board's own.
import type { Board } from '../../platform/board.ts';
import { sha256Crypt } from './digest.ts';
import { createModdableHttp } from './http.ts';
import { inflateNative } from './inflate.ts';
import { createTimerScheduler } from './scheduler.ts';
import type { ModdableBoardConfig } from './settings.ts';
import { verifierOnDemand } from './verifier-on-demand.ts';

const DEFAULT_DNS_SERVERS: readonly string[] = Object.freeze(['1.1.1.1']);

export function sharedBindings(config: ModdableBoardConfig): Pick<Board, 'http' | 'scheduler' | 'sha256' | 'verifier' | 'inflate'> {
  return {
    http: createModdableHttp({ dnsServers: config.dnsServers ?? DEFAULT_DNS_SERVERS, ...(config.ca ? { ca: config.ca } : {}) }),
    scheduler: createTimerScheduler(),
    sha256: sha256Crypt,
    verifier: verifierOnDemand,
    inflate: inflateNative,
  };
}
