// Builds the `ota-mcu` command to dist/cli/ (esbuild, in process) so that it starts without a
// TypeScript loader: `npm ci` runs it (the "prepare" script), as does `npm run build:cli`.
//
//   dist/cli/ota-mcu.mjs     simulator/cli.ts bundled, ESM for Node; every subcommand a chunk loaded
//                            on demand, as in the sources; npm packages stay imports of node_modules.
//   dist/cli/inputs.json     the source files it was built from, each with its size and mtime.
//
// bin/ota-mcu.mjs runs the build only while it is fresh (`freshCliEntry()`: no input changed since),
// and the sources through tsx otherwise, so an edit never runs stale code.
//
// Modules that find files next to themselves (`import.meta.url`) keep their own location: the
// bundle rewrites each such use to the module's source path, relative to dist/cli/.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_DIR = join(ROOT, 'dist', 'cli');
const ENTRY = 'ota-mcu.mjs';
const INPUTS = 'inputs.json';
/** Not imported by the CLI, yet it decides what the build contains. */
const BUILD_SCRIPT = relative(ROOT, fileURLToPath(import.meta.url)).split(sep).join('/');

/**
 * The built entry's file URL if dist/cli/ is complete and every input has the size and mtime it
 * had at build time; undefined otherwise. A few hundred stat calls: well under a millisecond.
 */
export function freshCliEntry(dir = CLI_DIR) {
  let record;
  try {
    record = JSON.parse(readFileSync(join(dir, INPUTS), 'utf8'));
  } catch {
    return undefined;
  }
  for (const [path, size, mtimeMs] of record.inputs) {
    const stat = statSync(join(ROOT, path), { throwIfNoEntry: false });
    if (stat === undefined || stat.size !== size || stat.mtimeMs !== mtimeMs) return undefined;
  }
  return pathToFileURL(join(dir, record.entry)).href;
}

// Never spelled out in a string here: this file is bundled too (simulator/bench/cli.ts imports it),
// and the spelled-out text would be rewritten along with the real uses.
const IMPORT_META_URL = /\bimport\.meta\.url\b/g;
const IMPORT_META_URL_TEXT = ['import', 'meta', 'url'].join('.');

/** esbuild plugin: `import.meta.url` in a repository module becomes that module's own URL. */
function ownImportMetaUrl(outdir) {
  return {
    name: 'own-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.(ts|mts|js|mjs)$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (/import\.meta\.(dirname|filename)\b/.test(source)) {
          return { errors: [{ text: 'import.meta: only its url is rewritten for the bundle, use that' }] };
        }
        const loader = /\.m?ts$/.test(args.path) ? 'ts' : 'js';
        if (source.search(IMPORT_META_URL) < 0) return { contents: source, loader };
        const own = relative(outdir, args.path).split(sep).join('/');
        return { contents: source.replace(IMPORT_META_URL, `new URL(${JSON.stringify(own)}, ${IMPORT_META_URL_TEXT}).href`), loader };
      });
    },
  };
}

/**
 * Builds dist/cli/ (or `outdir`). Files are written each by rename and inputs.json last, so a
 * command started meanwhile runs either the previous build or this one (or the sources).
 * @returns {Promise<{ entry: string, inputs: number, files: string[] }>}
 */
export async function buildCli(outdir = CLI_DIR) {
  const { build } = await import('esbuild');
  const startedMs = Date.now();
  const result = await build({
    entryPoints: { 'ota-mcu': 'simulator/cli.ts' },
    absWorkingDir: ROOT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    write: false,
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
    plugins: [ownImportMetaUrl(outdir)],
  });
  mkdirSync(outdir, { recursive: true });
  const written = new Set([INPUTS]);
  for (const file of result.outputFiles) {
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
    written.add(relative(outdir, file.path));
  }
  // A file changed while the build read it may be built from its older content: recorded as
  // never fresh (mtime -1), so the next start runs the sources until the next build.
  const inputs = [...Object.keys(result.metafile.inputs), BUILD_SCRIPT].map((path) => {
    const { size, mtimeMs } = statSync(join(ROOT, path));
    return [path, size, mtimeMs >= startedMs ? -1 : mtimeMs];
  });
  const temporary = join(outdir, `${INPUTS}.${process.pid}.tmp`);
  writeFileSync(temporary, `${JSON.stringify({ entry: ENTRY, inputs })}\n`);
  renameSync(temporary, join(outdir, INPUTS));
  for (const name of readdirSync(outdir)) if (!written.has(name) && !name.endsWith('.tmp')) rmSync(join(outdir, name), { force: true });
  return { entry: pathToFileURL(join(outdir, ENTRY)).href, inputs: inputs.length, files: [...written] };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const started = performance.now();
  const { files, inputs } = await buildCli();
  console.log(`dist/cli/: ${files.length} files from ${inputs} sources in ${Math.round(performance.now() - started)} ms`);
}
