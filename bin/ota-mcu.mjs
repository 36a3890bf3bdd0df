#!/usr/bin/env node
// Entry point of the `ota-mcu` command. Runs the built CLI, dist/cli/ (made by `npm ci` through the
// "prepare" script, or by `npm run build:cli`), while it is fresh: no source it was built from has
// changed since. Otherwise, or with OTA_MCU_FROM_SOURCE=1, it runs the TypeScript sources through
// tsx: the same commands, a slower start (~0.3 s), never stale code.
// OTA_MCU_SHOW_ENTRY=1 prints which of the two runs, on stderr.
import { freshCliEntry } from '../scripts/build-cli.mjs';

const built = process.env.OTA_MCU_FROM_SOURCE ? undefined : freshCliEntry();
let main;
if (built !== undefined) {
  ({ main } = await import(built));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../simulator/cli.ts'));
}
if (process.env.OTA_MCU_SHOW_ENTRY) process.stderr.write(`ota-mcu: running ${built === undefined ? 'simulator/cli.ts through tsx' : 'dist/cli/ota-mcu.mjs'}\n`);
process.exitCode = await main(process.argv.slice(2));
