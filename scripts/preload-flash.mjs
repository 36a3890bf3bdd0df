// The flash the preloaded client takes, per module group (bench/results.json deviceMemory
// .preloadedFlashBytes), measured with the SDK's own xsl from the user's $MODDABLE.
//
// xsl links the client as ONE module (the board app bundle ota-mcu.js, preloaded), so its output
// cannot be split by source file after the fact. Instead each board's bundle is linked several
// times, cumulatively: nothing / core / +crypto / +cbor / +inflate glue / +board (= the real app,
// unchanged), each through exactly what `npm run check:boards` runs (scripts/check-boards.mjs
// checkBoard: mcconfig, then the generated build's xsc/xsl steps), and each group's flash is the
// difference between two consecutive links.
//
// A variant is the real bundle with the sections of later groups cut out (esbuild writes each
// source file's code under a `// path` line): the same code, the same tree shaking, the same order
// as the app, rather than a re-exporting entry (`export *` would keep exports the app drops, e.g.
// noble's p384/p521). What a group reaches only through later groups is kept alive by exporting
// those bindings; the price of those exports (measured on the full app) is taken off again.
//
// What xsl puts in flash (mc.xs.c, read per variant, see romLayout below):
//   gxHeap    every slot alive after preloading, 16 bytes each at 32 bits (xs/sources/xsAll.h:330
//             struct sxSlot: next, kind/flag/ID, 8-byte value), written by fxPrintHeap
//             (xs/tools/xslSlot.c:905) and declared with mxHeapCount (xs/tools/xsl.c:600-601)
//   literals  what those slots point to, written inline into the gxHeap initializers as C string
//             literals: the BYTE CODE of every preloaded function (XS_CODE_KIND: fxWriteCData of the
//             code chunk, xs/tools/xslSlot.c:1118-1128), strings (.string, :1060-1066), property
//             keys (.key, :1280-1290) and ArrayBuffer data (.arrayBuffer, :1104-1109). The
//             `gxCode<n>` arrays hold only the byte code of modules that are NOT preloaded
//             (xs/tools/xslBase.c:966-968, `if (script->preload == C_NULL)`): for a preloaded
//             client its code is in the literals, which is why gxCode arrays add up to a few KB.
//   tables    gxKeys (4-byte pointer per key) and gxColors (2-byte txID per key,
//             xs/tools/xsl.c:687-705), gxBigIntData (4 bytes per word, :652-663), gxRegExpData
//             (:665-676), gxSlotData (:677-681); gxNames/gxSymbols/gxStack are hash tables and the
//             stack, sized by the creation, not by the code (the same in every variant).
//
// Usage: MODDABLE=/path/to/moddable node scripts/preload-flash.mjs [--no-write] [board…]
//   writes bench/results.json deviceMemory.preloadedFlashBytes (and the per-board copies under
//   deviceMemory.boards.<board>) unless --no-write; scratch: build/preload-flash/<variant>/<board>.
import { existsSync, readFileSync, readdirSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listBoards } from './boards.mjs';
import { bundleBoardWithImports } from './build-board.mjs';
import { checkBoard, hostToolsDir, SDK_VERSION, sdkNeeded, sdkProblem } from './check-boards.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCRATCH_DIR = join(ROOT, 'build', 'preload-flash');
/** Bytes of one XS slot on the 32-bit devices (xs/sources/xsAll.h:330 struct sxSlot). */
export const SLOT_BYTES_32 = 16;

// ---------------------------------------------------------------------------------------------
// The module groups: THE one place a source file of a board bundle is given a group. Their names
// are a public interface (bench/results.json deviceMemory.preloadedFlashBytes.<board>.perGroup).
// Each file must match exactly one group (test/boards/preload-flash.test.ts checks every input of
// every board bundle), so a new file fails the test until it is given a group here.

/** Platform files that are signature checking (noble and what feeds it keys and signatures). */
const CRYPTO_PLATFORM = [
  'platform/verifier-noble.ts',
  'platform/signer-noble.ts',
  'platform/noble-curves.ts',
  'platform/public-key.ts',
  'platform/digest-noble.ts',
  // MCUboot's image TLVs: the hash and signature checks are its bulk (header parsing is a few
  // lines); the map is per file, so all of it counts as crypto.
  'platform/mcuboot-image.ts',
];
/** The CBOR state codec (boards use the JSON codec today: no board bundle has these). */
const CBOR_PLATFORM = ['platform/state-codec-cbor.ts'];
/** The glue between the download and the SDK's native inflate (miniz, C, not in this count). */
const INFLATE_GLUE = ['platform/gzip-member.ts', 'platform/inflate-fflate.ts', 'boards/_moddable/inflate.ts'];

/** A metafile input as the groups read it: npm packages by package path, the rest repo-relative. */
export function normalizeInput(input) {
  const path = input.replace(/\\/g, '/');
  const at = path.lastIndexOf('node_modules/');
  return at >= 0 ? path.slice(at + 'node_modules/'.length) : path.replace(/^\.\//, '');
}

const inPackage = (name) => (path) => path.startsWith(`${name}/`);
const oneOf = (list) => (path) => list.includes(path);

/** group name → what it is and which (normalized) inputs are its own. */
export const GROUPS = {
  core: {
    what: 'core/** and base/** (bytes, errors, CRC-32, JSON checks): the client, artifact reader, deployment state machine, device API',
    match: (path) => path.startsWith('core/') || path.startsWith('base/'),
  },
  crypto: {
    what: '@noble/hashes, @noble/curves and the platform files over them (verifier, signer, curves, public keys, MCUboot image signatures)',
    match: (path) => inPackage('@noble/hashes')(path) || inPackage('@noble/curves')(path) || oneOf(CRYPTO_PLATFORM)(path),
  },
  cbor: {
    what: 'cbor-x and platform/state-codec-cbor.ts',
    match: (path) => inPackage('cbor-x')(path) || oneOf(CBOR_PLATFORM)(path),
  },
  inflateGlue: {
    what: 'platform/gzip-member.ts, boards/_moddable/inflate.ts (and fflate with platform/inflate-fflate.ts where bundled)',
    match: (path) => inPackage('fflate')(path) || oneOf(INFLATE_GLUE)(path),
  },
  board: {
    what: 'boards/** (family main, board, Moddable bindings) and the rest of platform/**, plus the board description esbuild generates',
    match: (path) =>
      path.startsWith('ota-mcu-board:') ||
      ((path.startsWith('boards/') || path.startsWith('platform/')) && ![...CRYPTO_PLATFORM, ...CBOR_PLATFORM, ...INFLATE_GLUE].includes(path)),
  },
};
/** The order the variants add the groups in (each variant is all groups up to one). */
export const GROUP_ORDER = ['core', 'crypto', 'cbor', 'inflateGlue', 'board'];

/** Every group whose pattern `input` matches (exactly one for a well-attributed file). */
export function groupsMatching(input) {
  const path = normalizeInput(input);
  return GROUP_ORDER.filter((group) => GROUPS[group].match(path));
}

/** The group of `input`; throws when it matches none or several. */
export function groupOf(input) {
  const groups = groupsMatching(input);
  if (groups.length !== 1) throw new Error(`${input}: ${groups.length === 0 ? 'in no module group' : `in several module groups (${groups.join(', ')})`} (scripts/preload-flash.mjs GROUPS)`);
  return groups[0];
}

// ---------------------------------------------------------------------------------------------
// Slicing the bundle (pure: test/boards/preload-flash.test.ts runs it without an SDK)

/**
 * The bundle cut at esbuild's `// <input>` lines: the preamble before the first one (esbuild's
 * runtime helpers, __publicField…), then one section per run of a file's code (a file may come
 * back when imports interleave), the final `export {…}` apart. Only lines naming an input count.
 */
export function bundleSections(text, inputs) {
  const known = new Set(inputs);
  const lines = text.split('\n');
  // esbuild ends an ESM bundle with one `export {\n  a as b,\n …\n};` statement.
  const lastExport = lines.findLastIndex((line) => /^export\s*\{/.test(line));
  const isExportTail = lastExport >= 0 && lines.slice(lastExport).join('\n').trim().endsWith('};') && lines.slice(lastExport + 1).every((line) => /^(\s+[\w$]+(\s+as\s+[\w$]+)?,?|\};?|\s*)$/.test(line));
  const exportAt = isExportTail ? lastExport : lines.length;
  const preamble = [];
  const sections = [];
  for (const line of lines.slice(0, exportAt)) {
    const marker = /^\/\/ (.+)$/.exec(line);
    if (marker && known.has(marker[1])) sections.push({ input: marker[1], group: groupOf(marker[1]), lines: [line] });
    else (sections.at(-1)?.lines ?? preamble).push(line);
  }
  return { preamble: preamble.join('\n'), sections: sections.map((s) => ({ input: s.input, group: s.group, text: s.lines.join('\n') })), exportBlock: lines.slice(exportAt).join('\n') };
}

/** The top-level import statements of a section (column 0, possibly over several lines). */
export function importStatements(text) {
  const statements = [];
  let current;
  for (const line of text.split('\n')) {
    if (current === undefined && /^import\b/.test(line)) current = [];
    if (current !== undefined) {
      current.push(line);
      if (/;\s*$/.test(line)) {
        statements.push(current.join('\n'));
        current = undefined;
      }
    }
  }
  return statements;
}

/** The names a section declares at top level (esbuild writes each declaration at column 0). */
export function topLevelNames(text) {
  const names = [];
  for (const match of text.matchAll(/^(?:var|let|const|class|(?:async\s+)?function\s*\*?)\s+([A-Za-z_$][\w$]*)/gm)) names.push(match[1]);
  return names;
}

const referenced = (name, text) => new RegExp(`(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(text);

/**
 * The bundle with only the sections of `keep` (a set of groups), as xsl should link it:
 *   - every import statement of the whole bundle stays, so each variant links and preloads the
 *     same SDK modules (the client's imports are all in the manifests' preload list anyway)
 *   - the preamble (esbuild's helpers) counts with the first group, so `keep` empty is the
 *     empty client
 *   - what later groups reach in the kept ones is exported: in the app, the bindings a group
 *     keeps alive are those reachable from main through the later groups; exporting exactly the
 *     kept names the cut sections refer to keeps those alive (xsl drops what nothing reaches)
 * Returns the text and the names it exports. With every group kept, the bundle is returned as is.
 */
export function sliceBundle(text, inputs, keep) {
  const { preamble, sections, exportBlock } = bundleSections(text, inputs);
  if (GROUP_ORDER.every((group) => keep.has(group))) return { text, exported: [] };
  const kept = sections.filter((s) => keep.has(s.group));
  const cut = sections.filter((s) => !keep.has(s.group));
  const imports = new Set(sections.flatMap((s) => importStatements(s.text)));
  const withoutImports = (section) => importStatements(section.text).reduce((rest, statement) => rest.replace(statement, ''), section.text);
  const cutText = cut.map(withoutImports).join('\n');
  const declared = [...new Set(kept.flatMap((s) => topLevelNames(s.text)))];
  const exported = declared.filter((name) => referenced(name, cutText));
  const keptText = kept.map(withoutImports);
  const parts = [
    `// ota-mcu preload-flash variant: groups ${GROUP_ORDER.filter((g) => keep.has(g)).join(', ') || '(none)'}`,
    ...imports,
    ...(kept.length > 0 ? [preamble] : []),
    ...keptText,
    ...(exported.length > 0 ? [`export {\n  ${exported.join(',\n  ')}\n};`] : []),
  ];
  void exportBlock; // the app's own export (main, in the board group) goes with the board group
  return { text: `${parts.join('\n')}\n`, exported };
}

/** The full bundle with `names` exported besides main: what exporting them costs, measured. */
export function withExtraExports(text, names) {
  return names.length === 0 ? text : `${text.replace(/\n*$/, '\n')}export {\n  ${names.join(',\n  ')}\n};\n`;
}

// ---------------------------------------------------------------------------------------------
// Reading xsl's output (pure)

/** The byte length of a C string literal body ("\x12ab\"" → 4): escapes as fxWriteCString/fxWriteCData write them. */
export function cLiteralBytes(body) {
  let bytes = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\') {
      const next = body[i + 1];
      if (next === 'x') {
        i += 1;
        while (/[0-9a-fA-F]/.test(body[i + 1] ?? '') && i < body.length) i++;
      } else i += 1;
    }
    bytes++;
  }
  return bytes;
}

/** The bytes of every C string literal in `text` (adjacent "a""b" pieces are one literal: one NUL). */
function literalBytes(text) {
  let total = 0;
  // A literal, possibly split into adjacent pieces ("\xe9""abc") as fxWriteCString does.
  for (const match of text.matchAll(/"((?:[^"\\]|\\.)*)"(?:"((?:[^"\\]|\\.)*)")*/g)) {
    const pieces = match[0].slice(1, -1).split('""');
    total += pieces.reduce((sum, piece) => sum + cLiteralBytes(piece), 0) + 1;
  }
  return total;
}

/**
 * What mc.xs.c puts in flash, by kind: the heap (slots × 16) and each kind of literal its slots
 * point to, the key tables, the other data arrays, and gxCode (modules not preloaded). Counting
 * C literals one by one is an upper bound: a compiler may merge identical ones.
 */
export function romLayout(mcXsC) {
  const define = (name) => Number(new RegExp(`^#define ${name} (\\d+)`, 'm').exec(mcXsC)?.[1] ?? 0);
  const heapStart = mcXsC.indexOf('static const txSlot gxHeap[mxHeapCount] = {');
  const heapEnd = mcXsC.indexOf('\n};', heapStart);
  if (heapStart < 0 || heapEnd < 0) throw new Error('mc.xs.c: no gxHeap initializer');
  const literals = { codeBytes: 0, stringBytes: 0, keyBytes: 0, arrayBufferBytes: 0 };
  const kinds = { codeBytes: '.code = { (txByte*)', stringBytes: '.string = ', keyBytes: '.key = { ', arrayBufferBytes: '.arrayBuffer = { (txByte*)' };
  for (const line of mcXsC.slice(heapStart, heapEnd).split('\n')) {
    for (const [field, marker] of Object.entries(kinds)) {
      const at = line.indexOf(marker);
      if (at < 0) continue;
      const literal = /^"(?:[^"\\]|\\.)*"(?:"(?:[^"\\]|\\.)*")*/.exec(line.slice(at + marker.length));
      if (literal) literals[field] += literalBytes(literal[0]);
    }
  }
  const gxCodeBytes = [...mcXsC.matchAll(/^static const txU1 gxCode\d+\[(\d+)\];$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  const heapSlots = define('mxHeapCount');
  const keys = define('mxKeysCount');
  const layout = {
    heapSlots,
    heapBytes: heapSlots * SLOT_BYTES_32,
    ...literals,
    keyTableBytes: keys * 4 + (mcXsC.includes('static const txID gxColors[') ? keys * 2 : 0),
    // Compiled regular expressions (gxRegExpData), BigInt words (gxBigIntData), slot tables (gxSlotData).
    regExpBytes: define('mxRegExpCount') * 4,
    bigIntBytes: define('mxBigIntCount') * 4,
    slotDataBytes: define('mxSlotCount') * 4,
    gxCodeBytes,
    // Not code-dependent (hash tables and stack sized by the creation), listed for the whole image.
    fixedBytes: define('mxStackCount') * SLOT_BYTES_32 + (define('mxNamesCount') + define('mxSymbolsCount')) * 4,
    keys,
    aliases: define('mxAliasCount'),
  };
  return { ...layout, totalBytes: flashOf(layout) };
}

/** The flash bytes of a layout (or of a difference of layouts). */
export function flashOf(layout) {
  return ['heapBytes', 'codeBytes', 'stringBytes', 'keyBytes', 'arrayBufferBytes', 'keyTableBytes', 'regExpBytes', 'bigIntBytes', 'slotDataBytes', 'gxCodeBytes', 'fixedBytes'].reduce((sum, field) => sum + layout[field], 0);
}

/** Field by field a − b (numbers only). */
export function subtractLayouts(a, b) {
  return Object.fromEntries(Object.keys(a).filter((k) => typeof a[k] === 'number').map((k) => [k, a[k] - b[k]]));
}

/** xsl's alias warnings about the client (`### warning: ota-mcu: …: not frozen` / `: no const`). */
export function clientWarnings(output) {
  const lines = output.split('\n').filter((line) => line.startsWith('### warning: ota-mcu:'));
  return { notFrozen: lines.filter((l) => l.endsWith(': not frozen')).length, noConst: lines.filter((l) => l.endsWith(': no const')).length };
}

// ---------------------------------------------------------------------------------------------
// Measuring with the SDK

function findFile(dir, name) {
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return path;
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    }
  }
  return undefined;
}

/** One variant of one board through check-boards' steps; its layout and warnings. */
async function linkVariant(board, variant, rewriteBundle, { moddable, env, say }) {
  const scratch = join(SCRATCH_DIR, variant);
  mkdirSync(scratch, { recursive: true });
  const quiet = () => {};
  const { tmpDir, output, summary } = await checkBoard(board, { moddable, env, scratch, say: quiet, rewriteBundle });
  const mcXsC = join(tmpDir, 'mc.xs.c');
  const layout = romLayout(readFileSync(mcXsC, 'utf8'));
  say(`  ${variant}: ${summary.line.slice(4)}; flash ${layout.totalBytes} B (${relative(ROOT, mcXsC)})`);
  return { layout, warnings: clientWarnings(output), mcXsC };
}

/**
 * Links every variant of `board` and returns its preloadedFlashBytes record. Throws (a
 * check-boards StepError naming the step) when a variant does not link.
 */
export async function measureBoard(board, { moddable, env, say = console.log, date = new Date() }) {
  const { text, inputs } = await bundleBoardWithImports(board);
  const present = new Set(inputs.map(groupOf));
  say(`== ${board}: groups in the bundle: ${GROUP_ORDER.filter((g) => present.has(g)).join(', ')}`);
  const exportsBy = {};
  const links = {};
  links.none = await linkVariant(board, 'none', (t) => sliceBundle(t, inputs, new Set()).text, { moddable, env, say });
  const keep = new Set();
  for (const group of GROUP_ORDER) {
    keep.add(group);
    if (!present.has(group)) continue; // nothing of it in the bundle: the same link as the one before
    const slice = sliceBundle(text, inputs, keep);
    exportsBy[group] = slice.exported;
    links[group] = await linkVariant(board, group, (t) => sliceBundle(t, inputs, new Set(keep)).text, { moddable, env, say });
  }
  // What exporting a kept name costs (export slots, its key): the full app once more, with the
  // largest set of such exports added; each variant's count is lowered by its own share.
  const extra = [...new Set(Object.values(exportsBy).flat())];
  let perExport = { heapSlots: 0 };
  let exportCost;
  if (extra.length > 0) {
    const withExports = await linkVariant(board, 'export-cost', (t) => withExtraExports(t, extra), { moddable, env, say });
    const cost = subtractLayouts(withExports.layout, links.board.layout);
    perExport = Object.fromEntries(Object.entries(cost).map(([k, v]) => [k, v / extra.length]));
    exportCost = { names: extra.length, flashBytes: flashOf(cost), perNameBytes: Math.round((flashOf(cost) / extra.length) * 10) / 10 };
  }
  const corrected = (group) => {
    if (group === 'none') return links.none.layout;
    const n = exportsBy[group].length;
    const layout = links[group].layout;
    return Object.fromEntries(Object.entries(layout).map(([k, v]) => [k, typeof v === 'number' && k !== 'totalBytes' ? v - (perExport[k] ?? 0) * n : v]));
  };
  const perGroup = {};
  const detail = {};
  let before = 'none';
  for (const group of GROUP_ORDER) {
    if (!present.has(group)) {
      perGroup[group] = 0;
      detail[group] = { note: group === 'cbor' ? 'not in the board bundles: boards store their state as JSON (platform/state-codec-cbor.ts and cbor-x are for hosts), so 0' : 'no file of this group in the bundle, so 0' };
      continue;
    }
    const diff = subtractLayouts(corrected(group), corrected(before));
    const round = (v) => Math.round(v);
    perGroup[group] = round(flashOf(diff));
    detail[group] = {
      heapSlots: round(diff.heapSlots),
      heapBytes: round(diff.heapBytes),
      byteCodeBytes: round(diff.codeBytes),
      stringBytes: round(diff.stringBytes),
      keyStringBytes: round(diff.keyBytes),
      arrayBufferBytes: round(diff.arrayBufferBytes),
      keyTableBytes: round(diff.keyTableBytes),
      regExpBytes: round(diff.regExpBytes),
      bigIntBytes: round(diff.bigIntBytes),
      otherBytes: round(diff.slotDataBytes + diff.gxCodeBytes + diff.fixedBytes),
      keys: round(diff.keys),
      // Instances xsl left unfrozen: flash, but each gets a RAM copy when first written.
      aliasableInstances: round(diff.aliases),
      xslWarnings: { notFrozen: links[group].warnings.notFrozen - links[before].warnings.notFrozen, noConst: links[group].warnings.noConst - links[before].warnings.noConst },
      exportsAddedToMeasure: exportsBy[group].length,
    };
    before = group;
  }
  const full = links.board;
  const client = subtractLayouts(full.layout, links.none.layout);
  return {
    perGroup,
    detail,
    client: {
      totalBytes: flashOf(client),
      heapBytes: client.heapBytes,
      byteCodeBytes: client.codeBytes,
      stringBytes: client.stringBytes,
      keyStringBytes: client.keyBytes,
      keyTableBytes: client.keyTableBytes,
      regExpBytes: client.regExpBytes,
      bigIntBytes: client.bigIntBytes,
      arrayBufferBytes: client.arrayBufferBytes,
      xslWarnings: full.warnings,
      note: 'the whole preloaded client: the full app link minus the link of an empty client (same SDK modules, same preload list); the sum of perGroup',
    },
    wholeImage: { ...full.layout, note: 'everything xsl put in flash for the full app, the SDK modules included' },
    ...(exportCost ? { exportCost } : {}),
    source: {
      sdk: `Moddable SDK ${SDK_VERSION} at ${moddable} (xsl from ${hostToolsDir(moddable)})`,
      date: date.toISOString().slice(0, 10),
      board,
      how: 'scripts/preload-flash.mjs: cumulative slices of the board bundle, each linked as `npm run check:boards` links the app (mcconfig -d, then the generated build\'s xsc/xsl), differenced; flash = gxHeap slots x 16 B + the C literals its slots point to (byte code, strings, keys, ArrayBuffer data) + key/colour tables + data arrays, read from mc.xs.c',
      caveats: 'a debug build, as check:boards links it (mcconfig -d: xsc -d puts line numbers in the byte code, so a release build\'s byte code is smaller); C literals counted one by one (a compiler merging identical ones makes flash a little smaller); bindings a group only reaches through later groups are exported to measure it, and that export cost (exportCost, measured on the full app) is taken off',
      mcXsC: relative(ROOT, full.mcXsC),
    },
  };
}

/** Writes the records into bench/results.json (deviceMemory.preloadedFlashBytes and its per-board copies only). */
export function writeResults(records, path = join(ROOT, 'bench', 'results.json')) {
  const results = JSON.parse(readFileSync(path, 'utf8'));
  results.deviceMemory ??= {};
  results.deviceMemory.preloadedFlashBytes = { ...results.deviceMemory.preloadedFlashBytes, ...records };
  for (const [board, record] of Object.entries(records)) {
    if (results.deviceMemory.boards?.[board]) results.deviceMemory.boards[board].preloadedFlashBytes = record;
  }
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

/** Measures `boards` (all by default) when env.MODDABLE is a built SDK; undefined and the reason otherwise. */
export async function measure(env = process.env, boards = listBoards(), say = console.log) {
  const problem = sdkProblem(env);
  if (problem) return { problem };
  const moddable = resolve(env.MODDABLE);
  const runEnv = { ...env, MODDABLE: moddable, PATH: `${hostToolsDir(moddable)}${delimiter}${env.PATH ?? ''}` };
  rmSync(SCRATCH_DIR, { recursive: true, force: true });
  const records = {};
  for (const board of boards) records[board] = await measureBoard(board, { moddable, env: runEnv, say });
  return { records };
}

async function main(argv) {
  const write = !argv.includes('--no-write');
  const boards = argv.filter((arg) => !arg.startsWith('--'));
  const unknown = boards.filter((b) => !listBoards().includes(b));
  if (unknown.length > 0) {
    console.error(`preload-flash: no board ${unknown.join(', ')}; boards: ${listBoards().join(', ')}`);
    return 2;
  }
  const { problem, records } = await measure(process.env, boards.length > 0 ? boards : listBoards());
  if (problem) {
    console.error(sdkNeeded(problem).replace(/check-boards/g, 'preload-flash'));
    return 2;
  }
  for (const [board, record] of Object.entries(records)) {
    console.log(`${board}: client ${record.client.totalBytes} B in flash; per group ${GROUP_ORDER.map((g) => `${g} ${record.perGroup[g]}`).join(', ')}`);
  }
  if (write) {
    writeResults(records);
    console.log('preload-flash: wrote bench/results.json deviceMemory.preloadedFlashBytes');
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(`preload-flash: ${error.stack ?? error.message}`);
      process.exit(1);
    },
  );
}
