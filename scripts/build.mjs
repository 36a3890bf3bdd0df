// Builds the core's bundles (esbuild, in process):
//   core         core/index.ts alone, ESM — the portable implementations (noble, fflate, cbor-x,
//                and the platform/ modules over them) stay external: a board brings its own.
//   portable     the core plus its portable crypto, inflate, CBOR state codec and MCUboot logic, ESM.
//   xs           one IIFE script for the XS harness (xsnap evaluates scripts, not modules): the
//                portable bundle plus the guest side of the bridge, on globalThis.OtaMcuXs.
// `buildBundles()` returns them in memory (tests and the bench call it, so nothing depends on a
// stale dist/); `node scripts/build.mjs` also writes them to dist/ and prints their sizes.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Packages that are "portable implementations": never part of the core-alone bundle. */
export const PORTABLE_PACKAGES = ['@noble/hashes', '@noble/curves', 'fflate', 'cbor-x'];

/** The platform modules that make up "the core with its portable crypto, inflate and CBOR". */
export const PORTABLE_MODULES = [
  'platform/digest-noble.ts',
  'platform/verifier-noble.ts',
  'platform/signer-noble.ts',
  'platform/public-key.ts',
  'platform/inflate-fflate.ts',
  'platform/state-codec-cbor.ts',
  'platform/mcuboot-image.ts',
  'platform/boot-control-mcuboot.ts',
];

/**
 * The esbuild options every bundle for XS shares (this file's, the board apps of build-board.mjs,
 * the Moddable guest of simulator/moddable/bundle.ts); each adds entry, format and plugins.
 */
export const XS_ESBUILD_OPTIONS = Object.freeze({
  bundle: true,
  target: 'es2022',
  platform: 'neutral',
  // noble and fflate ship ESM with package "exports"; neutral needs the conditions spelled out.
  mainFields: ['module', 'main'],
  conditions: ['import', 'module', 'default'],
  absWorkingDir: ROOT,
  write: false,
  logLevel: 'silent',
  legalComments: 'none',
  // XS refuses a class's own name inside its static field initializers (noble-curves' Point.BASE):
  // esbuild lowers static fields to assignments after the class.
  supported: { 'class-static-field': false },
});

/**
 * The core alone: platform/ modules the core imports (noble signer, MCUboot image checks, ...) are
 * portable implementations a board provides; they stay external like the npm packages they wrap.
 * (Type-only imports of platform interfaces vanish in the build anyway.)
 */
const platformExternal = {
  name: 'platform-external',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = resolve(args.resolveDir, args.path);
      const fromCore = args.importer.startsWith(join(ROOT, 'core'));
      // Rewritten relative to dist/, where the bundle is written.
      return fromCore && target.startsWith(join(ROOT, 'platform')) ? { path: relative(join(ROOT, 'dist'), target), external: true } : undefined;
    });
  },
};

function text(result) {
  return result.outputFiles[0].text;
}

/** Export-everything entry: the core and every portable module. */
function portableEntry() {
  return ['./core/index.ts', ...PORTABLE_MODULES.map((path) => `./${path}`)].map((path) => `export * from "${path}";`).join('\n');
}

/**
 * @returns {Promise<{ core: string, coreMin: string, portable: string, portableMin: string,
 *   xs: string, portableModules: string[], sizes: Record<string, number> }>}
 */
export async function buildBundles() {
  const coreOptions = {
    ...XS_ESBUILD_OPTIONS,
    entryPoints: ['core/index.ts'],
    format: 'esm',
    external: PORTABLE_PACKAGES.map((p) => `${p}*`),
    plugins: [platformExternal],
  };
  const portableOptions = {
    ...XS_ESBUILD_OPTIONS,
    stdin: { contents: portableEntry(), resolveDir: ROOT, sourcefile: 'portable-entry.ts', loader: 'ts' },
    format: 'esm',
  };
  const [core, coreMin, portable, portableMin, xs] = await Promise.all([
    build(coreOptions).then(text),
    build({ ...coreOptions, minify: true }).then(text),
    build(portableOptions).then(text),
    build({ ...portableOptions, minify: true }).then(text),
    // Not minified: XS error messages and stack names stay readable; the meter counts operations,
    // which minification does not change.
    build({ ...XS_ESBUILD_OPTIONS, entryPoints: ['simulator/xs/guest/main.ts'], format: 'iife' }).then(text),
  ]);
  const bytes = (s) => new TextEncoder().encode(s).length;
  return {
    core,
    coreMin,
    portable,
    portableMin,
    xs,
    portableModules: PORTABLE_MODULES,
    sizes: { coreMin: bytes(coreMin), portableMin: bytes(portableMin), xs: bytes(xs) },
  };
}

async function main() {
  const bundles = await buildBundles();
  const dist = join(ROOT, 'dist');
  mkdirSync(dist, { recursive: true });
  const files = {
    'ota-mcu-core.mjs': bundles.core,
    'ota-mcu-core.min.mjs': bundles.coreMin,
    'ota-mcu-portable.mjs': bundles.portable,
    'ota-mcu-portable.min.mjs': bundles.portableMin,
    'ota-mcu-xs.js': bundles.xs,
  };
  for (const [name, contents] of Object.entries(files)) {
    writeFileSync(join(dist, name), contents);
    console.log(`dist/${name}  ${new TextEncoder().encode(contents).length} bytes`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
