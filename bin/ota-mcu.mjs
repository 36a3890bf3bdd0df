#!/usr/bin/env node
// Entry point of the `ota-mcu` command: loads the TypeScript CLI through tsx, so nothing needs
// building after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../simulator/cli.ts');
process.exitCode = await main(process.argv.slice(2));
