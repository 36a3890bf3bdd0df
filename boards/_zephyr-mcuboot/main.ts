// The main module of a Zephyr + MCUboot family app: settings from mc/config, the board, and the
// update client.
import '../_moddable/text-globals.ts';
import config from 'mc/config';
import { runClient } from '../_moddable/run-client.ts';
import { boardConfigFrom, clientConfigFrom, type BoardSettings } from '../_moddable/settings.ts';
import { createBoard, createUpdateModules } from './board.ts';

interface ZephyrSettings extends BoardSettings {
  readonly primaryLabel?: string;
  readonly secondaryLabel?: string;
}

export default function main(): void {
  const settings = config as unknown as ZephyrSettings;
  const board = createBoard({
    ...boardConfigFrom(settings),
    ...(settings.primaryLabel ? { primaryLabel: settings.primaryLabel } : {}),
    ...(settings.secondaryLabel ? { secondaryLabel: settings.secondaryLabel } : {}),
  });
  runClient(board, { ...clientConfigFrom(settings), updateModules: createUpdateModules() });
}
