// The board catalogue: every folder under boards/ with a board.json is a board, and its description
// is the one place its facts live. The build, the SDK check, the simulator and every board test read
// boards through here; nothing else lists board names.
//
// boards/<name>/board.json   the board description (checked below)
// boards/<name>/manifest.json the Moddable manifest (creation sizes, config, platforms); it includes
//                            its family's manifest
// boards/_<family>/           the family's code shared by its boards: main.ts (the app's entry),
//                            board.ts, boot control, natives (C), manifest.json, and its other
//                            native files (partition table, sdkconfig, …), copied next to the bundle
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BOARDS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'boards');

/** The bootloader models the simulator runs (simulator/board/sim-device.ts). */
const KINDS = ['esp-idf', 'mcuboot'];

/** Every board's name, sorted: the folders of boards/ that hold a board.json. */
export function listBoards() {
  return readdirSync(BOARDS_DIR)
    .filter((name) => !name.startsWith('_') && !name.startsWith('.') && existsSync(join(BOARDS_DIR, name, 'board.json')))
    .sort();
}

const cache = new Map();

/** The description of board `name`, checked; throws an error naming the field at fault. */
export function readBoard(name) {
  let board = cache.get(name);
  if (board === undefined) {
    if (typeof name !== 'string' || !listBoards().includes(name)) {
      throw new TypeError(`board expected one of ${listBoards().join(', ')}, got ${JSON.stringify(name)}`);
    }
    board = Object.freeze(checkDescription(name, JSON.parse(readFileSync(join(BOARDS_DIR, name, 'board.json'), 'utf8'))));
    cache.set(name, board);
  }
  return board;
}

/** Every board's description. */
export function readBoards() {
  return listBoards().map(readBoard);
}

function checkDescription(name, d) {
  const where = `boards/${name}/board.json`;
  const fail = (field, expected, got) => {
    throw new TypeError(`${where}: "${field}" expected ${expected}, got ${JSON.stringify(got)}`);
  };
  const text = (field) => {
    if (typeof d[field] !== 'string' || d[field].length === 0) fail(field, 'a non-empty string', d[field]);
    return d[field];
  };
  const positive = (object, field, prefix) => {
    const value = object?.[field];
    if (!Number.isInteger(value) || value <= 0) fail(`${prefix}${field}`, 'a positive integer', value);
    return value;
  };
  const family = text('family');
  const familyDir = join(BOARDS_DIR, `_${family}`);
  if (!existsSync(join(familyDir, 'main.ts'))) fail('family', `a folder boards/_<family> with a main.ts`, family);
  if (!KINDS.includes(d.kind)) fail('kind', `one of ${KINDS.join(', ')}`, d.kind);
  text('title');
  text('payloadType');
  text('mcconfigPlatform');
  text('soc');
  const flash = d.flash;
  const sectorBytes = positive(flash, 'sectorBytes', 'flash.');
  const writeGranule = positive(flash, 'writeGranule', 'flash.');
  const slotBytes = positive(flash, 'slotBytes', 'flash.');
  if (slotBytes % sectorBytes !== 0) fail('flash.slotBytes', `a multiple of flash.sectorBytes (${sectorBytes})`, slotBytes);
  if (sectorBytes % writeGranule !== 0) fail('flash.writeGranule', `a divisor of flash.sectorBytes (${sectorBytes})`, writeGranule);
  if (flash.eraseBlockBytes !== undefined) {
    const block = positive(flash, 'eraseBlockBytes', 'flash.');
    if (block % sectorBytes !== 0) fail('flash.eraseBlockBytes', `a multiple of flash.sectorBytes (${sectorBytes})`, block);
  }
  if (d.kind === 'mcuboot') positive(d, 'deviceIdBytes', '');
  const nativeFiles = d.nativeFiles ?? [];
  if (!Array.isArray(nativeFiles)) fail('nativeFiles', 'an array of file names in the board folder', nativeFiles);
  for (const file of nativeFiles) {
    if (typeof file !== 'string' || !existsSync(join(BOARDS_DIR, name, file))) fail('nativeFiles', `files in boards/${name}/`, file);
  }
  if (d.settings !== undefined && (typeof d.settings !== 'object' || d.settings === null || Array.isArray(d.settings))) fail('settings', 'an object', d.settings);
  const manifest = JSON.parse(readFileSync(join(BOARDS_DIR, name, 'manifest.json'), 'utf8'));
  if (!manifest.include?.includes(`../_${family}/manifest.json`)) {
    throw new TypeError(`boards/${name}/manifest.json: "include" expected to list "../_${family}/manifest.json" (its family's manifest)`);
  }
  return {
    ...d,
    name,
    nativeFiles,
    settings: d.settings ?? {},
    deviceType: manifest.config?.deviceType ?? name,
    dir: join(BOARDS_DIR, name),
    familyDir,
    /** The family's files the build copies next to the bundle: everything but its TypeScript and manifest. */
    familyFiles: readdirSync(familyDir).filter((file) => !file.endsWith('.ts') && file !== 'manifest.json' && (statSync(join(familyDir, file)).isDirectory() || !file.startsWith('.'))),
  };
}
