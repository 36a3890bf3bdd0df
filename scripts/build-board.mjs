// Builds the folder a Moddable user hands to mcconfig for one board port:
//   dist/boards/<board>/ota-mcu.js            the app: boards/<board>/main.ts and everything it imports
//                                             (core, platform, portable crypto), one ESM module that
//                                             imports only Moddable modules (esbuild, es2022)
//   dist/boards/<board>/manifest.json          the board's manifest, including ./manifest_moddable.json
//   dist/boards/<board>/manifest_moddable.json the shared Moddable manifest (boards/_moddable)
//   dist/boards/<board>/settings.example.json  every setting main.ts reads from mc/config
//   plus the board's native pieces (ESP32: ota-state.c, partitions.csv, sdkconfig/).
// Usage: node scripts/build-board.mjs esp32|stm32 [outDir]
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { XS_ESBUILD_OPTIONS } from './build.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const BOARDS = ['esp32', 'stm32'];

/** Module specifiers the Moddable runtime resolves from the manifests; everything else is bundled. */
export const MODDABLE_MODULES = /^(embedded:.+|timer|time|crypt|inflate|mc\/ffi|mc\/config|text\/decoder|text\/encoder)$/;

/** Files copied next to the bundle, per board. */
const NATIVE_FILES = { esp32: ['ota-state.c', 'partitions.csv', 'sdkconfig'], stm32: [] };

const SETTINGS_EXAMPLE = {
  serverUrl: 'https://hosted.mender.io',
  tenantToken: '<your Mender tenant token>',
  deviceType: '<the device type your artifacts name>',
  pollIntervals: { UpdatePollIntervalSeconds: 1800, InventoryPollIntervalSeconds: 28800, RetryPollIntervalSeconds: 300 },
  serverCaPem: '-----BEGIN CERTIFICATE-----\n<PEM of the CA that signs the server certificate; omit to use the firmware store>\n-----END CERTIFICATE-----\n',
  artifactKeyPem: '-----BEGIN PUBLIC KEY-----\n<PEM public key that signs your artifacts; omit to accept unsigned ones>\n-----END PUBLIC KEY-----\n',
  identityKeyType: 'ecdsa-p256',
  dnsServers: ['1.1.1.1'],
  keyValuePath: 'ota-mcu',
};

const BOARD_SETTINGS = {
  esp32: {},
  stm32: {
    bootKeyPem: '-----BEGIN PUBLIC KEY-----\n<the imgtool key MCUboot is built with>\n-----END PUBLIC KEY-----\n',
    primaryLabel: 'image-0',
    secondaryLabel: 'image-1',
  },
};

/** The app bundle for `board` (ESM text), Moddable modules left as imports. */
export async function bundleBoard(board) {
  if (!BOARDS.includes(board)) throw new TypeError(`board expected one of ${BOARDS.join(', ')}, got ${JSON.stringify(board)}`);
  const result = await build({
    entryPoints: [join(ROOT, 'boards', board, 'main.ts')],
    ...XS_ESBUILD_OPTIONS,
    format: 'esm',
    plugins: [
      {
        name: 'moddable-externals',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => (MODDABLE_MODULES.test(args.path) ? { path: args.path, external: true } : undefined));
        },
      },
    ],
  });
  return result.outputFiles[0].text;
}

/** Writes the mcconfig folder for `board` into `outDir`; returns the files written (relative). */
export async function buildBoard(board, outDir = join(ROOT, 'dist', 'boards', board)) {
  const bundle = await bundleBoard(board);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const files = [];
  const write = (name, contents) => {
    writeFileSync(join(outDir, name), contents);
    files.push(name);
  };
  write('ota-mcu.js', bundle);
  const manifest = JSON.parse(readFileSync(join(ROOT, 'boards', board, 'manifest.json'), 'utf8'));
  manifest.include = manifest.include.map((path) => (path === '../_moddable/manifest.json' ? './manifest_moddable.json' : path));
  write('manifest.json', `${JSON.stringify(manifest, null, '\t')}\n`);
  write('manifest_moddable.json', readFileSync(join(ROOT, 'boards', '_moddable', 'manifest.json'), 'utf8'));
  write('settings.example.json', `${JSON.stringify({ ...SETTINGS_EXAMPLE, deviceType: manifest.config.deviceType, ...BOARD_SETTINGS[board] }, null, 2)}\n`);
  for (const name of NATIVE_FILES[board]) {
    const from = join(ROOT, 'boards', board, name);
    if (!existsSync(from)) throw new Error(`boards/${board}/${name} is missing`);
    cpSync(from, join(outDir, name), { recursive: true });
    files.push(name);
  }
  return { outDir, files, bundleBytes: new TextEncoder().encode(bundle).length };
}

async function main() {
  const [board, outDir] = process.argv.slice(2);
  const { outDir: dir, files, bundleBytes } = await buildBoard(board, outDir ? resolve(outDir) : undefined);
  console.log(`${dir}: ${files.join(', ')} (ota-mcu.js ${bundleBytes} bytes)`);
  console.log(`next: cd ${dir} && mcconfig -d -m -p ${board === 'esp32' ? 'esp32' : 'zephyr/nucleo_l4a6zg'} serverUrl=https://… deviceType=…`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error) => {
    console.error(`build-board: ${error.message}`);
    process.exit(1);
  });
}
