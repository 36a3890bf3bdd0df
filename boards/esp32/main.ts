// The ESP32 app's main module: settings from mc/config (manifest "config", or `key=value` on the
// mcconfig command line), the board, and the update client running Mender's schedule.
import '../_moddable/text-globals.ts';
import config from 'mc/config';
import { createClient } from '../../core/client.ts';
import { clientConfigFrom, type BoardSettings } from '../_moddable/settings.ts';
import { createBoard, createUpdateModules } from './board.ts';

interface Esp32Settings extends BoardSettings {
  /** NVS namespace of the client's records. */
  readonly keyValuePath?: string;
}

// The runtime calls the function main returns after Wi-Fi and SNTP are up (setup/network.js).
export default function main(): void {
  const settings = config as unknown as Esp32Settings;
  const board = createBoard({
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
