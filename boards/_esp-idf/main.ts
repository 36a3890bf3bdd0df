// The main module of an ESP-IDF family app: settings from mc/config (manifest "config", or
// `key=value` on the mcconfig command line), the board, and the update client on Mender's schedule.
import '../_moddable/text-globals.ts';
import config from 'mc/config';
import { runClient } from '../_moddable/run-client.ts';
import { boardConfigFrom, clientConfigFrom, type BoardSettings } from '../_moddable/settings.ts';
import { createBoard, createUpdateModules } from './board.ts';

// The runtime calls the function main returns after Wi-Fi and SNTP are up (setup/network.js).
export default function main(): void {
  const settings = config as unknown as BoardSettings;
  const board = createBoard(boardConfigFrom(settings));
  runClient(board, { ...clientConfigFrom(settings), updateModules: createUpdateModules() });
}
