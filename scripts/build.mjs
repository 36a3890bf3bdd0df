// Builds the portable core into one ES2022 ESM bundle (dist/ota-mcu-core.mjs) and a minified copy.
// Usage: node scripts/build.mjs
import { build } from 'esbuild';
import { statSync } from 'node:fs';

const common = {
  entryPoints: ['core/index.ts'],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'neutral',
  logLevel: 'warning',
};

await build({ ...common, outfile: 'dist/ota-mcu-core.mjs' });
await build({ ...common, outfile: 'dist/ota-mcu-core.min.mjs', minify: true });
for (const file of ['dist/ota-mcu-core.mjs', 'dist/ota-mcu-core.min.mjs']) {
  console.log(`${file}  ${statSync(file).size} bytes`);
}
