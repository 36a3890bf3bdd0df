// The update client inside XS: createClient(board, config).runOnce() on a board bridged to the
// simulated one. Functions in the configuration are rebuilt here: the self-test calls the board's
// (in Node), events go to the host as notifications, the record codec is CBOR in XS.
import { createClient } from '../../../core/client.ts';
import type { ClientConfig } from '../../../core/client-config.ts';
import { createEspOtaModule } from '../../../core/modules/esp-ota.ts';
import type { UpdateModule } from '../../../core/modules/update-module.ts';
import { createZephyrImageModule } from '../../../core/modules/zephyr-image.ts';
import { sha256Noble } from '../../../platform/digest-noble.ts';
import { createCborStateCodec } from '../../../platform/state-codec-cbor.ts';
import { createBridgedBoard, ROOTS, type BoardDescriptor } from './board.ts';
import type { GuestBridge } from './bridge.ts';
import { hostSha256 } from './digests.ts';
import type { Job } from './jobs.ts';

/** The update modules the guest can register by type (the host's config names them). */
const GUEST_MODULES: Readonly<Record<string, () => UpdateModule>> = {
  'zephyr-image': createZephyrImageModule,
  'esp-ota': createEspOtaModule,
};
export const GUEST_MODULE_TYPES = ['zephyr-image', 'esp-ota'] as const;
export type GuestModuleType = (typeof GUEST_MODULE_TYPES)[number];

/** The plain-data part of a ClientConfig, and which callbacks and modules to rebuild. */
export interface XsClientSettings {
  readonly data: Omit<ClientConfig, 'selfTest' | 'onEvent' | 'stateCodec' | 'updateModules' | 'onConfiguration'>;
  readonly modules: readonly GuestModuleType[];
  readonly selfTest: boolean;
  readonly events: boolean;
  readonly cborState: boolean;
}

export interface XsClientArgs {
  readonly board: BoardDescriptor;
  readonly settings: XsClientSettings;
  readonly digest: 'noble' | 'host';
  readonly gcAtEachIo: boolean;
}

export const clientJobs: Record<string, Job> = {
  clientRunOnce: async (args: XsClientArgs, bridge: GuestBridge) => {
    bridge.gcBeforeAsync = args.gcAtEachIo;
    const sha256 = args.digest === 'host' ? hostSha256(bridge) : sha256Noble;
    const board = createBridgedBoard(bridge, args.board, sha256);
    const { settings } = args;
    const config: ClientConfig = {
      ...settings.data,
      updateModules: settings.modules.map((type) => GUEST_MODULES[type]!()),
      ...(settings.selfTest ? { selfTest: () => bridge.call(ROOTS.board, 'selfTest') as boolean } : {}),
      ...(settings.events ? { onEvent: (event) => bridge.notify('event', event) } : {}),
      ...(settings.cborState ? { stateCodec: createCborStateCodec() } : {}),
    };
    return createClient(board, config).runOnce();
  },
};
