// What route modules share: the store, the deployment rules, faults, keys and the resolved options.
import type { Store } from './store.ts';
import type { Faults } from './faults.ts';
import type { Deployments } from './deployments.ts';

export interface ResolvedOptions {
  autoAccept: boolean;
  v2Next: boolean;
  jwtTtlSec: number;
  tenantToken: string | undefined;
  maxUploadBytes: number;
  maxArtifactPayloadBytes: number;
  maxConcurrentUploads: number;
}

export interface ServerContext {
  store: Store;
  faults: Faults;
  deployments: Deployments;
  options: ResolvedOptions;
  jwtKey: Buffer;
  linkKey: Buffer;
  /** The server's base URL, e.g. https://127.0.0.1:41234 (known once listening). */
  url(): string;
}
