// The STM32 (Zephyr) app's main module: settings from mc/config, the board, and the update client.
import '../_moddable/text-globals.ts';
import config from 'mc/config';
import { createClient } from '../../core/client.ts';
import { clientConfigFrom, type BoardSettings } from '../_moddable/settings.ts';
import { createBoard, createUpdateModules } from './board.ts';

interface Stm32Settings extends BoardSettings {
  readonly keyValuePath?: string;
  readonly primaryLabel?: string;
  readonly secondaryLabel?: string;
}

export default function main(): void {
  const settings = config as unknown as Stm32Settings;
  const board = createBoard({
    ...(settings.primaryLabel ? { primaryLabel: settings.primaryLabel } : {}),
    ...(settings.secondaryLabel ? { secondaryLabel: settings.secondaryLabel } : {}),
    ...(settings.keyValuePath ? { keyValuePath: settings.keyValuePath } : {}),
    ...(settings.dnsServers ? { dnsServers: settings.dnsServers } : {}),
    ...(settings.serverCaPem ? { ca: settings.serverCaPem } : {}),
    ...(settings.identity ? { identity: settings.identity } : {}),
  });
  const client = createClient(board, { ...clientConfigFrom(settings), updateModules: createUpdateModules() });
  client.run().catch((error: unknown) => {
    board.system.log('error', `update client stopped: ${error instanceof Error ? error.message : String(error)}; restarting`);
    board.system.restart();
  });
}
