// The Moddable modules a board's manifest chain provides, found the way mcconfig finds them: from
// boards/<name>/manifest.json through its includes, each manifest's part for the board's platform
// (tools/mcmanifest.js:2799-2827 matchPlatform), an SDK include ($(MODDABLE)/…) resolved through
// sdk-modules.json. The bundler refuses a module this does not list, even if an emulation exists,
// because the real firmware would fail to find it (`module "…" not found`) on the device.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBoard } from '../../scripts/boards.mjs';
import { parseFfiSignatures, type FfiSignature } from './ffi-types.ts';
import { ZEPHYR_SYSCALLS } from './zephyr-syscalls.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');

export type PlatformFamily = 'esp32' | 'zephyr';

type FamilyPart = { readonly modules: Readonly<Record<string, string>> } | { readonly error: string; readonly from: string };

interface SdkModuleTable {
  readonly tools: Readonly<Record<string, { families: PlatformFamily[]; when?: 'ffi'; from: string }>>;
  readonly manifests: Readonly<Record<string, Readonly<Record<PlatformFamily, FamilyPart>>>>;
}

export const SDK_MODULES = JSON.parse(readFileSync(join(HERE, 'sdk-modules.json'), 'utf8')) as SdkModuleTable;

/** A manifest as JSON (only the fields the walk reads). */
export interface Manifest {
  readonly include?: string | readonly string[];
  readonly modules?: Readonly<Record<string, unknown>>;
  readonly platforms?: Readonly<Record<string, Manifest & { readonly error?: string }>>;
  readonly ffi?: { readonly functions?: Readonly<Record<string, unknown>> };
}

/** Reads a manifest by absolute path; tests pass another to check a modified manifest. */
export type ManifestReader = (path: string) => Manifest;

export const readManifestFile: ManifestReader = (path) => JSON.parse(readFileSync(path, 'utf8')) as Manifest;

export interface BoardModules {
  readonly board: string;
  readonly family: PlatformFamily;
  /** Specifier → where it comes from (an SDK file:line, one of our manifests, or an mcconfig tool). */
  readonly modules: ReadonlyMap<string, string>;
  /** The merged "ffi.functions" of every manifest in the chain (mcmanifest.js:2995-3005), if any. */
  readonly ffiFunctions: Readonly<Record<string, unknown>> | undefined;
}

/** tools/mcmanifest.js:2799-2827: exact name, then "x/*" and "*\/x" patterns, shortening the name; "..." last. */
function matchPlatform<T>(platforms: Readonly<Record<string, T>>, name: string): T | undefined {
  const parts = name.split('/');
  while (parts.length > 0) {
    const partial = parts.join('/');
    for (const [key, value] of Object.entries(platforms)) {
      if (key.endsWith('/*') ? partial.startsWith(key.slice(0, -1)) : key.startsWith('*/') ? partial.endsWith(key.slice(1)) : partial === key) return value;
    }
    parts.length -= 1;
  }
  return platforms['...'];
}

function familyOf(platform: string): PlatformFamily {
  const family = platform.split('/')[0];
  if (family !== 'esp32' && family !== 'zephyr') throw new TypeError(`mcconfig platform ${platform}: sdk-modules.json knows esp32 and zephyr`);
  return family;
}

/**
 * Every module board `name`'s manifest chain provides on its platform. Throws, naming the board,
 * where mcconfig would stop: a platform "error" block, or an SDK manifest sdk-modules.json lacks.
 */
export function boardModules(name: string, read: ManifestReader = readManifestFile): BoardModules {
  const board = readBoard(name);
  const platform = board.mcconfigPlatform;
  const family = familyOf(platform);
  const modules = new Map<string, string>();
  let ffiFunctions: Record<string, unknown> | undefined;
  const seen = new Set<string>();
  const provide = (specifier: string, from: string): void => {
    if (!modules.has(specifier)) modules.set(specifier, from);
  };

  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    const where = relative(REPO, path);
    const manifest = read(path);
    const matched = manifest.platforms === undefined ? undefined : matchPlatform(manifest.platforms, platform);
    if (matched?.error !== undefined) throw new Error(`board ${name}: ${where} stops mcconfig -p ${platform}: ${matched.error}`);
    for (const part of [manifest, matched]) {
      if (part === undefined) continue;
      for (const specifier of Object.keys(part.modules ?? {})) if (!specifier.includes('*')) provide(specifier, where);
      if (part.ffi?.functions !== undefined) ffiFunctions = { ...ffiFunctions, ...part.ffi.functions };
      for (const include of [part.include ?? []].flat()) {
        if (include.startsWith('$(MODDABLE)/')) includeSdk(include, where);
        else visit(resolve(dirname(path), include));
      }
    }
  };

  const includeSdk = (include: string, where: string): void => {
    const entry = SDK_MODULES.manifests[include]?.[family];
    if (entry === undefined) throw new Error(`board ${name}: ${where} includes ${include}, which simulator/moddable/sdk-modules.json does not describe for ${family}`);
    if ('error' in entry) throw new Error(`board ${name}: ${include} stops mcconfig -p ${platform}: "${entry.error}" (${entry.from})`);
    for (const [specifier, from] of Object.entries(entry.modules)) provide(specifier, from);
  };

  visit(join(board.dir, 'manifest.json'));
  for (const [specifier, tool] of Object.entries(SDK_MODULES.tools)) {
    if (tool.families.includes(family) && (tool.when !== 'ffi' || ffiFunctions !== undefined)) provide(specifier, tool.from);
  }
  return { board: name, family, modules, ffiFunctions };
}

/** Throws unless `specifier` is provided: the error names the module and the board. */
export function requireProvided(provided: BoardModules, specifier: string): void {
  if (!provided.modules.has(specifier)) {
    throw new Error(`Moddable module "${specifier}" is not provided by board ${provided.board}'s manifests on ${provided.family} (the device would fail: module "${specifier}" not found)`);
  }
}

/** The board's FFI prototypes, parsed as mcconfig parses them (a type ffi.js does not know throws). */
export function ffiSignaturesOf(provided: BoardModules): FfiSignature[] {
  if (provided.ffiFunctions === undefined) return [];
  if (provided.family === 'zephyr') {
    for (const name of Object.keys(provided.ffiFunctions)) {
      const header = ZEPHYR_SYSCALLS[name];
      if (header !== undefined) {
        throw new Error(`board ${provided.board}: FFI function ${name} is a Zephyr __syscall (${header}): a static inline function with no symbol to link; call it through a C wrapper in the family's ffi "sources"`);
      }
    }
  }
  return parseFfiSignatures(provided.ffiFunctions, `board ${provided.board}'s manifests`);
}
