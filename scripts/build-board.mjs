// Builds the folder a Moddable user hands to mcconfig for one board (boards/<board>/board.json):
//   dist/boards/<board>/ota-mcu.js             the app: its family's main.ts and everything it imports
//                                              (core, platform, portable crypto, the board description),
//                                              one ESM module that imports only Moddable modules
//   dist/boards/<board>/manifest.json          the board's manifest (creation, config, platforms),
//                                              including ./manifest_family.json
//   dist/boards/<board>/manifest_family.json   its family's manifest (ffi, natives, build settings),
//                                              including ./manifest_moddable.json
//   dist/boards/<board>/manifest_moddable.json the manifest every Moddable board shares (boards/_moddable)
//   dist/boards/<board>/settings.example.json  every setting main.ts reads from mc/config
//   plus the family's native pieces (C wrappers, partition table, sdkconfig) and the board's own.
// Usage: node scripts/build-board.mjs <board> [outDir]
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { accessSync, constants, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, delimiter, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BOARDS_DIR, listBoards, readBoard } from './boards.mjs';
import { XS_ESBUILD_OPTIONS } from './build.mjs';

/** The Moddable module specifiers a board bundle may import: the runtime resolves them from the manifests. */
export const MODDABLE_MODULES = /^(embedded:.+|timer|time|crypt|inflate|mc\/ffi|mc\/config|text\/decoder|text\/encoder)$/;

/** The specifier under which a family's code reads its board's description. */
export const BOARD_DESCRIPTION_MODULE = 'ota-mcu:board-description';

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

/** The part of a description the firmware reads at run time (types/board-description.d.ts). */
export function runtimeDescription(board) {
  const { name, family, soc, payloadType, deviceIdBytes, flash } = board;
  return { name, family, soc, payloadType, ...(deviceIdBytes !== undefined ? { deviceIdBytes } : {}), flash };
}

/** An esbuild plugin that resolves `ota-mcu:board-description` to `board`'s run-time description. */
export function boardDescriptionPlugin(board) {
  const { flash, ...rest } = runtimeDescription(board);
  // Frozen, flash included: preloaded, it is constant data in flash (no RAM alias).
  const contents = `export default Object.freeze({ ...${JSON.stringify(rest)}, flash: Object.freeze(${JSON.stringify(flash)}) });`;
  return {
    name: 'ota-mcu-board-description',
    setup(b) {
      b.onResolve({ filter: /^ota-mcu:board-description$/ }, () => ({ path: board.name, namespace: 'ota-mcu-board' }));
      b.onLoad({ filter: /.*/, namespace: 'ota-mcu-board' }, () => ({ contents, loader: 'js' }));
    },
  };
}

/** The app bundle for `name` (ESM text), Moddable modules left as imports. */
export async function bundleBoard(name) {
  return (await bundleBoardWithImports(name)).text;
}

/**
 * The modules esbuild splits the app into besides ota-mcu: what the client only reaches through
 * import() (noble: loaded on demand, never preloaded) and the code those share with ota-mcu (which
 * ota-mcu imports statically, so xsl preloads it with ota-mcu).
 */
const PART_PREFIX = 'ota-mcu-part-';
const ROOT_DIR = join(BOARDS_DIR, '..');

/**
 * The app bundle for `name`, the Moddable module specifiers it imports, sorted, and the source
 * files it is made of (esbuild's metafile inputs, in bundle order). The import list comes
 * from esbuild's metafile (the imports it left external), not from scanning the text, so
 * scripts/check-boards.mjs can check each one against the modules of a real Moddable build.
 *
 * `text` is the preloaded module (ota-mcu); what the client only reaches through import() is split
 * off into `parts`, modules that the manifest lists but does not preload (noble: preloaded, its
 * module-level buffers and caches would be read-only and its BigInt constants compare wrongly on
 * XS 17.9.1; see boards/_moddable/verifier-on-demand.ts). Their relative specifiers are written
 * without ".js", as Moddable names modules.
 */
export async function bundleBoardWithImports(name) {
  const board = readBoard(name);
  const result = await build({
    entryPoints: { 'ota-mcu': join(board.familyDir, 'main.ts') },
    ...XS_ESBUILD_OPTIONS,
    format: 'esm',
    splitting: true,
    outdir: join(BOARDS_DIR, '..', 'dist', 'bundle', name), // not written (write: false): names only
    chunkNames: `${PART_PREFIX}[hash]`,
    metafile: true,
    plugins: [
      boardDescriptionPlugin(board),
      {
        name: 'moddable-externals',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => (MODDABLE_MODULES.test(args.path) ? { path: args.path, external: true } : undefined));
        },
      },
    ],
  });
  const imports = new Set();
  const inputs = new Set();
  for (const [path, output] of Object.entries(result.metafile.outputs)) {
    for (const imported of output.imports) if (imported.external) imports.add(imported.path);
    // Every source file with code in ota-mcu itself (scripts/preload-flash.mjs attributes each to a
    // group); the parts list their own.
    if (basename(path) !== 'ota-mcu.js') continue;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) if (bytesInOutput > 0) inputs.add(input);
  }
  const moduleText = (file) => file.text.replace(/(["'])\.\/((?:ota-mcu|ota-mcu-part-[\w-]+))\.js\1/g, '$1./$2$1');
  const main = result.outputFiles.find((file) => basename(file.path) === 'ota-mcu.js');
  const parts = result.outputFiles
    .filter((file) => basename(file.path).startsWith(PART_PREFIX))
    .map((file) => ({ name: basename(file.path, '.js'), text: moduleText(file), inputs: Object.keys(result.metafile.outputs[relative(ROOT_DIR, file.path)]?.inputs ?? {}) }));
  return { text: moduleText(main), imports: [...imports].sort(), inputs: [...inputs], parts };
}

/** Reads a manifest, with each include of `from` replaced by `to`. */
function manifestWith(path, from, to) {
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  manifest.include = [manifest.include ?? []].flat().map((include) => (include === from ? to : include));
  return `${JSON.stringify(manifest, null, '\t')}\n`;
}

/** Writes the mcconfig folder for `name` into `outDir`; returns the files written (relative). */
export async function buildBoard(name, outDir = join(BOARDS_DIR, '..', 'dist', 'boards', name)) {
  const board = readBoard(name);
  const { text: bundle, imports, parts } = await bundleBoardWithImports(name);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const files = [];
  const write = (file, contents) => {
    writeFileSync(join(outDir, file), contents);
    files.push(file);
  };
  const copy = (from, file) => {
    cpSync(from, join(outDir, file), { recursive: true });
    files.push(file);
  };
  write('ota-mcu.js', bundle);
  for (const part of parts) write(`${part.name}.js`, part.text);
  // The parts are modules of the app, not listed under "preload": xsl preloads the ones ota-mcu
  // imports statically with it; the rest are loaded by import() when first used.
  const boardManifest = JSON.parse(manifestWith(join(board.dir, 'manifest.json'), `../_${board.family}/manifest.json`, './manifest_family.json'));
  if (parts.length > 0) boardManifest.modules = { ...boardManifest.modules, ...Object.fromEntries(parts.map((part) => [part.name, `./${part.name}`])) };
  write('manifest.json', `${JSON.stringify(boardManifest, null, '\t')}\n`);
  write('manifest_family.json', manifestWith(join(board.familyDir, 'manifest.json'), '../_moddable/manifest.json', './manifest_moddable.json'));
  write('manifest_moddable.json', readFileSync(join(BOARDS_DIR, '_moddable', 'manifest.json'), 'utf8'));
  write('settings.example.json', `${JSON.stringify({ ...SETTINGS_EXAMPLE, deviceType: board.deviceType, ...board.settings }, null, 2)}\n`);
  for (const file of board.familyFiles) copy(join(board.familyDir, file), file);
  for (const file of board.nativeFiles) copy(join(board.dir, file), file);
  return { outDir, files, bundleBytes: new TextEncoder().encode(bundle).length, imports };
}

/** Whether `command` is an executable on env.PATH. */
export function onPath(command, env = process.env) {
  return (env.PATH ?? '').split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return statSync(join(dir, command)).isFile();
    } catch {
      return false;
    }
  });
}

/**
 * What is missing on this machine to build `board`'s firmware image with the SDK (mcconfig -m):
 * MODDABLE with mcconfig, and the board's toolchain (ESP-IDF: IDF_PATH with export.sh or idf.py;
 * Zephyr: ZEPHYR_BASE and west). Undefined when nothing is.
 */
export function missingToolchain(board, env = process.env) {
  const platform = board.mcconfigPlatform;
  if (!env.MODDABLE || !onPath('mcconfig', env)) return 'the Moddable SDK (MODDABLE set, mcconfig on PATH)';
  if (platform === 'esp32' || platform.startsWith('esp32/')) {
    if (!(env.IDF_PATH && (onPath('idf.py', env) || existsSync(join(env.IDF_PATH, 'export.sh'))))) return 'ESP-IDF (IDF_PATH with export.sh, or idf.py on PATH)';
  } else if (platform.startsWith('zephyr/')) {
    if (!env.ZEPHYR_BASE || !onPath('west', env)) return 'Zephyr (ZEPHYR_BASE and west)';
  } else return `a toolchain ota-mcu knows for ${platform}`;
  return undefined;
}

async function main() {
  const [name, outDir] = process.argv.slice(2);
  if (name === undefined) throw new TypeError(`usage: build-board.mjs <board> [outDir]; boards: ${listBoards().join(', ')}`);
  const board = readBoard(name);
  const { outDir: dir, files, bundleBytes } = await buildBoard(name, outDir ? resolve(outDir) : undefined);
  console.log(`${dir}: ${files.join(', ')} (ota-mcu.js ${bundleBytes} bytes)`);
  // Where the SDK and the board's toolchain are installed, go on to the firmware image (a release
  // build, settings from the manifest's "config"); otherwise say what that needs and stop here.
  const missing = missingToolchain(board);
  if (missing !== undefined) {
    console.log(`firmware: not built (no ${missing}); next: cd ${dir} && mcconfig -m -p ${board.mcconfigPlatform} serverUrl=https://… deviceType=…`);
    return;
  }
  console.log(`firmware: mcconfig -m -t build -p ${board.mcconfigPlatform} -o ${join(dir, 'build')}`);
  const result = spawnSync('mcconfig', ['-m', '-t', 'build', '-p', board.mcconfigPlatform, '-o', join(dir, 'build')], { cwd: dir, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`mcconfig exited ${result.status ?? result.error?.message}`);
  console.log(`firmware: built under ${join(dir, 'build')}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error) => {
    console.error(`build-board: ${error.message}`);
    process.exit(1);
  });
}
