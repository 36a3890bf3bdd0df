// The mcconfig folders `npm run build:esp32` / `build:stm32` produce: the app bundle imports only
// Moddable module specifiers (each one a module the board's manifests provide) and holds no Node
// API; the manifest points at the bundle and the files it names are in the folder.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listBoards, readBoard } from '../../scripts/boards.mjs';
import { buildBoard, bundleBoardWithImports, MODDABLE_MODULES } from '../../scripts/build-board.mjs';

const out = mkdtempSync(join(tmpdir(), 'ota-mcu-build-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Every module specifier an ESM text imports (static imports and re-exports, and import()). */
function importsOf(code: string): string[] {
  const found = new Set<string>();
  for (const match of code.matchAll(/(?:^|[;\n}])\s*(?:import|export)\s*(?:[\w*${},\s]+from\s*)?["']([^"']+)["']/g)) found.add(match[1]!);
  for (const match of code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)) found.add(match[1]!);
  return [...found].sort();
}

/** Node APIs a device build cannot have, as used (a bare identifier), not as a guarded probe. */
const NODE_APIS: [string, RegExp][] = [
  ['Buffer', /(?<![\w.$])Buffer\s*[.(]/],
  ['process', /(?<![\w.$])process\s*\./],
  ['require()', /(?<![\w.$])require\s*\(/],
  ['timers', /(?<![\w.$])(setTimeout|setInterval|setImmediate|clearTimeout)\s*\(/],
  ['__dirname', /__dirname|__filename/],
  ['node: modules', /["']node:/],
  ['atob/btoa', /(?<![\w.$])(atob|btoa)\s*\(/],
  ['eval', /new Function\s*\(|(?<![\w.$])eval\s*\(/],
];

it('the catalogue holds the boards package.json builds (a board left out would be tested by nothing)', () => {
  const scripts = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')).scripts as Record<string, string>;
  // The board shortcuts are the build:<name> scripts that run build-board.mjs (build:cli builds the CLI).
  const shortcuts = Object.entries(scripts).filter(([s, command]) => s.startsWith('build:') && command.includes('build-board.mjs')).map(([s]) => s.slice('build:'.length));
  expect(shortcuts.length).toBeGreaterThanOrEqual(2);
  expect(listBoards().length).toBeGreaterThanOrEqual(2);
  expect(listBoards()).toEqual(expect.arrayContaining(shortcuts));
});

describe.each(listBoards())('npm run build:%s', (board) => {
  const dir = join(out, board);
  const built = buildBoard(board, dir);
  const description = readBoard(board);

  it('writes the bundle, the manifests, the settings example and the native pieces', async () => {
    const { files } = await built;
    expect(files).toEqual(expect.arrayContaining(['ota-mcu.js', 'manifest.json', 'manifest_moddable.json', 'settings.example.json']));
    for (const file of files) expect(existsSync(join(dir, file)), file).toBe(true);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.include).toContain('./manifest_family.json');
    const family = JSON.parse(readFileSync(join(dir, 'manifest_family.json'), 'utf8'));
    expect(family.include).toContain('./manifest_moddable.json');
    const shared = JSON.parse(readFileSync(join(dir, 'manifest_moddable.json'), 'utf8'));
    expect(shared.modules['ota-mcu']).toBe('./ota-mcu'); // the bundle is the app's main module
    expect(shared.creation.main).toBe('ota-mcu');
    expect(shared.preload).toContain('ota-mcu'); // code and constants in flash, not RAM
    for (const source of [...(family.ffi?.sources ?? []), ...(manifest.zephyrOverlay ?? [])]) expect(existsSync(join(dir, source)), source).toBe(true);
    const settings = JSON.parse(readFileSync(join(dir, 'settings.example.json'), 'utf8'));
    expect(settings).toMatchObject({ serverUrl: expect.any(String), deviceType: manifest.config.deviceType });
    if (description.family === 'esp-idf') {
      expect(readFileSync(join(dir, 'sdkconfig', 'sdkconfig.defaults'), 'utf8')).toMatch(/^CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE=y$/m);
      expect(readFileSync(join(dir, 'partitions.csv'), 'utf8')).toMatch(/ota_0[\s\S]*ota_1/);
    }
  });

  it('imports only Moddable module specifiers, and none of its own files is left out', async () => {
    await built;
    const code = readFileSync(join(dir, 'ota-mcu.js'), 'utf8');
    const imports = importsOf(code);
    expect(imports.length).toBeGreaterThan(5);
    const foreign = imports.filter((specifier) => !MODDABLE_MODULES.test(specifier) && !(specifier.startsWith('./') && existsSync(join(dir, `${specifier}.js`))));
    expect(foreign).toEqual([]);
    expect(imports).toContain('embedded:storage/flash');
    expect(imports).toContain('mc/ffi');
    if (description.family === 'esp-idf') expect(imports).toContain('embedded:update');
    else expect(imports).not.toContain('embedded:update'); // Zephyr has none: the MCUboot slot is written through the flash API
  });

  it('preloads no noble: ota-mcu and the parts it imports statically hold none; noble comes in parts loaded by import()', async () => {
    // On XS 17.9.1 a preloaded noble fails: its SHA-2 scratch buffers are read-only ("read-only
    // buffer", seen in the SDK's XS with the parts preloaded) and its BigInt constants compare
    // wrongly. The build splits it into modules loaded on demand (boards/_moddable/verifier-on-demand.ts).
    const { text, parts } = await bundleBoardWithImports(board);
    const byName = new Map(parts.map((part) => [part.name, part]));
    const preloaded = new Set<string>();
    const visit = (code: string): void => {
      for (const match of code.matchAll(/(?:^|[;\n}])\s*(?:import|export)\s*(?:[\w*${},\s]+from\s*)?["']\.\/(ota-mcu-part-[\w-]+)["']/g)) {
        if (!preloaded.has(match[1]!)) {
          preloaded.add(match[1]!);
          visit(byName.get(match[1]!)!.text);
        }
      }
    };
    visit(text);
    const nobleIn = (inputs: readonly string[]) => inputs.filter((input) => input.includes('@noble/'));
    expect(text).not.toMatch(/@noble\//);
    for (const name of preloaded) expect(nobleIn(byName.get(name)!.inputs), name).toEqual([]);
    const onDemand = parts.filter((part) => !preloaded.has(part.name));
    expect(onDemand.flatMap((part) => nobleIn(part.inputs)).length).toBeGreaterThan(0);
    expect(text).toMatch(/import\(["']\.\/ota-mcu-part-/);
  });

  it('holds no Node API', async () => {
    await built;
    const code = readFileSync(join(dir, 'ota-mcu.js'), 'utf8');
    const found = NODE_APIS.filter(([, pattern]) => pattern.test(code)).map(([name]) => name);
    expect(found).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('see a Node import and a Buffer use when they are there', () => {
    const code = 'import { readFileSync } from "node:fs";\nexport { x } from "./other";\nconst b = Buffer.from([1]);\n';
    expect(importsOf(code)).toEqual(['./other', 'node:fs']);
    expect(NODE_APIS.filter(([, p]) => p.test(code)).map(([n]) => n)).toEqual(['Buffer', 'node: modules']);
    expect(MODDABLE_MODULES.test('node:fs')).toBe(false);
    expect(MODDABLE_MODULES.test('embedded:update')).toBe(true);
  });
});
