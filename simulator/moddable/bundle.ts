// Bundles a Moddable board's code, unmodified, for the XS harness: every Moddable module it
// imports resolves to its emulation here (simulator/moddable/*), anything else that is not a
// relative path or a portable package fails the build — so a board importing a module we do not
// emulate is caught, not stubbed. A module the board's manifest chain does not provide on its
// platform fails too, emulation or not (manifest-modules.ts): on the device it would not be there.
import { build, type Plugin } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBoard } from '../../scripts/boards.mjs';
import { XS_ESBUILD_OPTIONS } from '../../scripts/build.mjs';
import { boardDescriptionPlugin } from '../../scripts/build-board.mjs';
import { boardModules, ffiSignaturesOf, readManifestFile, requireProvided, type ManifestReader } from './manifest-modules.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** A board of the catalogue (scripts/boards.mjs: a folder of boards/ with a board.json). */
export type ModdableBoardName = string;

/** Moddable module specifier → emulation file (a default export, as the SDK module has). */
export const EMULATED_MODULES: Readonly<Record<string, string>> = {
  'embedded:storage/flash': 'embedded-storage-flash.ts',
  'embedded:update': 'embedded-update.ts',
  'embedded:storage/key-value': 'embedded-storage-key-value.ts',
  'embedded:network/http/client': 'embedded-network-http-client.ts',
  'embedded:io/system': 'embedded-io-system.ts',
  crypt: 'crypt.ts',
  inflate: 'inflate.ts',
  timer: 'timer.ts',
  time: 'time.ts',
  'mc/ffi': 'mc-ffi.ts',
};

/** Modules whose emulation is a re-export (sockets are identities for the HTTP client; text codecs are XS's). */
const VIRTUAL_MODULES: Readonly<Record<string, string>> = {
  'embedded:io/socket/tcp': `export { TCP as default } from ${JSON.stringify(join(HERE, 'sockets.ts'))};`,
  'embedded:io/socket/tcp/tls': `export { TLSSocket as default } from ${JSON.stringify(join(HERE, 'sockets.ts'))};`,
  'embedded:io/socket/udp': `export { UDP as default } from ${JSON.stringify(join(HERE, 'sockets.ts'))};`,
  'embedded:network/dns/resolver/udp': `export { Resolver as default } from ${JSON.stringify(join(HERE, 'sockets.ts'))};`,
  'text/decoder': 'export default globalThis.TextDecoder;',
  'text/encoder': 'export default globalThis.TextEncoder;',
};

function moddablePlugin(name: ModdableBoardName, read: ManifestReader): Plugin {
  const board = readBoard(name);
  const provided = boardModules(name, read);
  return {
    name: 'moddable-emulation',
    setup(b) {
      b.onResolve({ filter: /^ota-mcu:board$/ }, () => ({ path: join(board.familyDir, 'board.ts') }));
      b.onResolve({ filter: /^ota-mcu:ffi-declarations$/ }, () => ({ path: 'ffi-declarations', namespace: 'moddable-virtual' }));
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        const emulated = EMULATED_MODULES[args.path] !== undefined || VIRTUAL_MODULES[args.path] !== undefined;
        if (emulated) {
          try {
            requireProvided(provided, args.path);
          } catch (error) {
            return { errors: [{ text: (error as Error).message }] };
          }
        }
        const file = EMULATED_MODULES[args.path];
        if (file !== undefined) return { path: join(HERE, file) };
        if (VIRTUAL_MODULES[args.path] !== undefined) return { path: args.path, namespace: 'moddable-virtual' };
        if (/^(embedded:|mc\/|text\/)/.test(args.path) || ['crypt', 'inflate', 'timer', 'time', 'flash', 'preference'].includes(args.path)) {
          return { errors: [{ text: `Moddable module "${args.path}" has no emulation in simulator/moddable` }] };
        }
        return undefined; // a package (noble, fflate, cbor-x): bundled as usual
      });
      b.onLoad({ filter: /.*/, namespace: 'moddable-virtual' }, (args) => {
        if (args.path === 'ffi-declarations') {
          // mcconfig parses "ffi.functions" when it builds (tools/mcconfig.js:1399-1402): a type
          // tools/ffi.js does not know fails here, not at the first call.
          return { contents: `export const ffiSignatures = ${JSON.stringify(ffiSignaturesOf(provided))};`, loader: 'js' };
        }
        return { contents: VIRTUAL_MODULES[args.path]!, loader: 'js', resolveDir: HERE };
      });
    },
  };
}

const scripts = new Map<string, Promise<string>>();

/**
 * The IIFE script for xsnap: board + emulations + guest jobs, built once per process. `entry`
 * replaces the guest entry (tests that drive the emulated modules directly); `read` replaces the
 * manifest reader (tests of a modified manifest; such builds are not cached).
 */
export function moddableGuestScript(board: ModdableBoardName, entry = join(HERE, 'guest-main.ts'), read?: ManifestReader): Promise<string> {
  const key = `${board}:${entry}`;
  let script = read === undefined ? scripts.get(key) : undefined;
  if (script === undefined) {
    // the manifest walk may throw (a board whose manifests mcconfig would refuse): a rejection, not a throw
    script = Promise.resolve().then(() => build({
      entryPoints: [entry],
      ...XS_ESBUILD_OPTIONS,
      format: 'iife',
      plugins: [boardDescriptionPlugin(readBoard(board)), moddablePlugin(board, read ?? readManifestFile)],
    })).then((result) => result.outputFiles[0]!.text);
    if (read === undefined) scripts.set(key, script);
  }
  return script;
}
