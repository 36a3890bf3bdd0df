// Every Moddable module a board's real bundle imports is provided by that board's manifest chain on
// its platform, as mcconfig would resolve it (simulator/moddable/sdk-modules.json: the SDK 8.2.3
// manifests, with file:line), and the emulation refuses what the chain does not provide — even
// where an emulation exists. The FFI is refused at bundle time for a type tools/ffi.js lacks.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listBoards, readBoard } from '../../scripts/boards.mjs';
import { bundleBoard } from '../../scripts/build-board.mjs';
import { moddableGuestScript } from '../../simulator/moddable/bundle.ts';
import { boardModules, readManifestFile, type Manifest, type ManifestReader } from '../../simulator/moddable/manifest-modules.ts';

/** The specifiers an ESM bundle imports (esbuild writes one `import … from "x"` per module). */
function importsOf(bundle: string): string[] {
  const found = new Set<string>();
  for (const match of bundle.matchAll(/^\s*(?:import|export)\s*(?:[^'";]*?\sfrom\s*)?["']([^"']+)["']/gm)) found.add(match[1]!);
  return [...found].sort();
}

/** The bundle's imports that the board's manifests do not provide. */
function unprovided(board: string, bundle: string, read?: ManifestReader): string[] {
  const { modules } = boardModules(board, read);
  // ./ota-mcu-part-…: the app's own modules (scripts/build-board.mjs splits them off and lists them).
  return importsOf(bundle).filter((specifier) => !specifier.startsWith('./ota-mcu-part-') && !modules.has(specifier));
}

/** A reader that hands out `file` (boards/…/manifest.json) changed by `edit`, every other manifest as is. */
function editing(file: string, edit: (manifest: Manifest & Record<string, unknown>) => void): ManifestReader {
  return (path) => {
    const manifest = readManifestFile(path);
    if (!path.endsWith(`${sep}${file.split('/').join(sep)}`)) return manifest;
    const copy = structuredClone(manifest) as Manifest & Record<string, unknown>;
    edit(copy);
    return copy;
  };
}

const dropInclude = (include: string) => (m: Manifest & Record<string, unknown>) => {
  (m as { include: string[] }).include = [m.include ?? []].flat().filter((i) => i !== include);
};
const addInclude = (include: string) => (m: Manifest & Record<string, unknown>) => {
  (m as { include: string[] }).include = [...[m.include ?? []].flat(), include];
};

const TEXT_DECODER = '$(MODDABLE)/modules/data/text/decoder/manifest.json';
const bundles = new Map<string, Promise<string>>();
const bundleOf = (board: string) => {
  if (!bundles.has(board)) bundles.set(board, bundleBoard(board));
  return bundles.get(board)!;
};

describe.each(listBoards())('board %s: its bundle imports only what its manifests provide', (board) => {
  it('every import of the built bundle resolves through the manifest chain on its platform', async () => {
    const bundle = await bundleOf(board);
    const imports = importsOf(bundle);
    expect(imports).toEqual(expect.arrayContaining(['mc/config', 'mc/ffi', 'text/decoder', 'timer', 'embedded:storage/flash']));
    expect(unprovided(board, bundle)).toEqual([]);
  });

  it('a manifest chain without text/decoder fails the check (the mistake the real build found)', async () => {
    const bundle = await bundleOf(board);
    expect(unprovided(board, bundle, editing('boards/_moddable/manifest.json', dropInclude(TEXT_DECODER)))).toEqual(['text/decoder']);
  });

  it('the emulation refuses the same bundle when its manifests drop text/decoder, naming module and board', async () => {
    const read = editing('boards/_moddable/manifest.json', dropInclude(TEXT_DECODER));
    await expect(moddableGuestScript(board, undefined, read)).rejects.toThrow(new RegExp(`"text/decoder" is not provided by board ${board}'s manifests`));
  });
});

describe('the module table (simulator/moddable/sdk-modules.json)', () => {
  it('cites where each module comes from', () => {
    const esp32 = boardModules(listBoards().find((b) => readBoard(b).mcconfigPlatform.startsWith('esp32'))!).modules;
    expect(esp32.get('text/decoder')).toBe('modules/data/text/decoder/manifest.json:3');
    expect(esp32.get('embedded:update')).toBe('modules/io/update/esp32/manifest.json:6');
    expect(esp32.get('ota-mcu')).toBe('boards/_moddable/manifest.json');
  });

  it('io/update stops a Zephyr build, as mcconfig does ("ECMA-419 OTA Update unsupported target")', () => {
    const zephyr = listBoards().find((b) => readBoard(b).mcconfigPlatform.startsWith('zephyr'))!;
    expect(boardModules(zephyr).modules.has('embedded:update')).toBe(false);
    const read = editing(`boards/_${readBoard(zephyr).family}/manifest.json`, addInclude('$(MODDABLE)/modules/io/update/manifest.json'));
    expect(() => boardModules(zephyr, read)).toThrow(/ECMA-419 OTA Update unsupported target/);
  });

  it('an SDK manifest the table does not describe is an error, not an empty set', () => {
    const read = editing('boards/_moddable/manifest.json', addInclude('$(MODDABLE)/modules/network/mdns/manifest.json'));
    expect(() => boardModules(listBoards()[0]!, read)).toThrow(/mdns\/manifest.json, which simulator\/moddable\/sdk-modules.json does not describe/);
  });
});

describe('the emulated host refuses modules the manifests do not provide, even if emulated', () => {
  const entry = (source: string): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'ota-mcu-guest-')), 'entry.ts');
    writeFileSync(file, source);
    return file;
  };

  it('embedded:update on a Zephyr board', async () => {
    const zephyr = listBoards().find((b) => readBoard(b).mcconfigPlatform.startsWith('zephyr'))!;
    const script = moddableGuestScript(zephyr, entry(`import Update from 'embedded:update';\nglobalThis.Update = Update;\n`));
    await expect(script).rejects.toThrow(new RegExp(`"embedded:update" is not provided by board ${zephyr}'s manifests on zephyr`));
  });

  it('embedded:io/system (the SDK names that module "system")', async () => {
    const script = moddableGuestScript(listBoards()[0]!, entry(`import System from 'embedded:io/system';\nglobalThis.S = System;\n`));
    await expect(script).rejects.toThrow(/"embedded:io\/system" is not provided/);
  });
});

describe('mc/ffi: a type tools/ffi.js does not know is refused when the emulated FFI is built', () => {
  const esp32 = () => listBoards().find((b) => readBoard(b).kind === 'esp-idf')!;
  const withFunction = (declaration: object): ManifestReader =>
    editing(`boards/_${readBoard(esp32()).family}/manifest.json`, (m) => {
      const ffi = m.ffi as { functions: Record<string, object> };
      ffi.functions = { ...ffi.functions, extra: declaration };
    });

  it.each([
    [{ arguments: ['size_t'], returns: 'int32_t' }, /functions\.extra\.arguments\[0\]: invalid type size_t/],
    [{ arguments: ['bool'] }, /functions\.extra\.arguments\[0\]: invalid type bool/],
    [{ arguments: [], returns: 'uint8_t*' }, /functions\.extra\.returns: invalid type uint8_t\*/],
    [{ arguments: ['const char*'] }, /functions\.extra\.arguments\[0\]: invalid type const char\*/],
    [{ arguments: ['uint8_t[]'] }, /invalid type uint8_t\[\] \(T\[N\] needs a count\)/],
  ])('%j', async (declaration, message) => {
    await expect(moddableGuestScript(esp32(), undefined, withFunction(declaration))).rejects.toThrow(message);
  });

  it('the spellings ffi.js normalizes are accepted ("uint8_t *", "uint8_t[6]", "const char*" result, no "returns")', async () => {
    const read = withFunction({ arguments: ['uint8_t *', 'uint8_t[6]', 'char *', 'double', 'int64_t'] });
    await expect(moddableGuestScript(esp32(), undefined, read)).resolves.toContain('extra');
    const result = withFunction({ arguments: [], returns: 'const char*' });
    await expect(moddableGuestScript(esp32(), undefined, result)).resolves.toContain('extra');
  });
});

describe('mc/ffi on Zephyr: a __syscall bound directly is refused, as the device link fails', () => {
  const zephyr = () => listBoards().find((b) => readBoard(b).family === 'zephyr-mcuboot')!;
  const binding = (name: string, declaration: object): ManifestReader =>
    editing(`boards/_${readBoard(zephyr()).family}/manifest.json`, (m) => {
      const ffi = m.ffi as { functions: Record<string, object> };
      ffi.functions = { ...ffi.functions, [name]: declaration };
    });

  it.each([
    ['sys_csrand_get', { arguments: ['uint8_t*', 'uint32_t'], returns: 'int32_t' }],
    ['hwinfo_get_reset_cause', { arguments: ['uint8_t*'], returns: 'int32_t' }],
    ['hwinfo_get_device_id', { arguments: ['uint8_t*', 'uint32_t'], returns: 'int32_t' }],
  ])('%s', async (name, declaration) => {
    await expect(moddableGuestScript(zephyr(), undefined, binding(name, declaration))).rejects.toThrow(new RegExp(`${name} is a Zephyr __syscall`));
  });

  it('the family binds the plain functions directly and the syscalls through its C wrappers', async () => {
    await expect(moddableGuestScript(zephyr())).resolves.toContain('ota_csrand_get');
  });
});
