// scripts/preload-flash.mjs measures the preloaded client's flash per module group with a real
// Moddable SDK, which CI does not have. This covers what runs without one: every source file of
// every board bundle is in exactly one group (a new file cannot go unattributed), the bundle
// slicing the measurement links, and the reading of xsl's mc.xs.c.
import { describe, expect, it } from 'vitest';
import { listBoards } from '../../scripts/boards.mjs';
import { bundleBoardWithImports } from '../../scripts/build-board.mjs';
import {
  bundleSections, cLiteralBytes, clientWarnings, GROUP_ORDER, groupsMatching, importStatements, romLayout, sliceBundle, topLevelNames,
} from '../../scripts/preload-flash.mjs';

describe('the module groups of the preloaded flash figures', () => {
  for (const board of listBoards()) {
    it(`cover every input of the ${board} bundle exactly once`, async () => {
      const { text, inputs } = await bundleBoardWithImports(board);
      expect(inputs.length).toBeGreaterThan(10);
      const unattributed = inputs.map((input) => [input, groupsMatching(input)] as const).filter(([, groups]) => groups.length !== 1);
      expect(unattributed).toEqual([]);
      // The slicing finds a section for each input: esbuild's `// path` lines are what it cuts at.
      const { sections } = bundleSections(text, inputs);
      expect(new Set(sections.map((s) => s.input))).toEqual(new Set(inputs));
    }, 30_000);
  }

  it('give each group its files', () => {
    expect(groupsMatching('core/client.ts')).toEqual(['core']);
    expect(groupsMatching('../../main/node_modules/@noble/curves/abstract/weierstrass.js')).toEqual(['crypto']);
    expect(groupsMatching('node_modules/@noble/hashes/sha2.js')).toEqual(['crypto']);
    expect(groupsMatching('platform/mcuboot-image.ts')).toEqual(['crypto']);
    expect(groupsMatching('node_modules/cbor-x/decode.js')).toEqual(['cbor']);
    expect(groupsMatching('platform/gzip-member.ts')).toEqual(['inflateGlue']);
    expect(groupsMatching('boards/_moddable/inflate.ts')).toEqual(['inflateGlue']);
    expect(groupsMatching('node_modules/fflate/esm/browser.js')).toEqual(['inflateGlue']);
    expect(groupsMatching('boards/_moddable/http.ts')).toEqual(['board']);
    expect(groupsMatching('platform/slot-writer.ts')).toEqual(['board']);
    expect(groupsMatching('ota-mcu-board:esp32')).toEqual(['board']);
    expect(groupsMatching('node_modules/some-new-package/index.js')).toEqual([]);
    expect(GROUP_ORDER).toEqual(['core', 'crypto', 'cbor', 'inflateGlue', 'board']);
  });
});

describe('slicing a bundle', () => {
  const bundle = [
    'var __defProp = Object.defineProperty;',
    '',
    '// core/a.ts',
    'import Timer from "timer";',
    'function coreHelper() { return 1; }',
    'const CORE_TABLE = [1, 2];',
    '',
    '// platform/verifier-noble.ts',
    'import {',
    '  Digest',
    '} from "crypt";',
    'function verify() { return coreHelper() + Timer; }',
    '',
    '// boards/_moddable/http.ts',
    'class Http { get() { return verify(); } }',
    '',
    '// boards/_esp-idf/main.ts',
    'function main() { return new Http(); }',
    'export {',
    '  main as default',
    '};',
    '',
  ].join('\n');
  const inputs = ['core/a.ts', 'platform/verifier-noble.ts', 'boards/_moddable/http.ts', 'boards/_esp-idf/main.ts'];

  it('cuts at the input lines only, the preamble and the final export apart', () => {
    const { preamble, sections, exportBlock } = bundleSections(bundle, inputs);
    expect(preamble).toContain('__defProp');
    expect(sections.map((s) => `${s.group} ${s.input}`)).toEqual(['core core/a.ts', 'crypto platform/verifier-noble.ts', 'board boards/_moddable/http.ts', 'board boards/_esp-idf/main.ts']);
    expect(exportBlock).toMatch(/^export \{\n {2}main as default\n\};/);
    expect(importStatements(sections[1]!.text)).toEqual(['import {\n  Digest\n} from "crypt";']);
    expect(topLevelNames(sections[0]!.text)).toEqual(['coreHelper', 'CORE_TABLE']);
  });

  it('keeps every import, exports what the cut groups use, and leaves the full bundle as is', () => {
    const none = sliceBundle(bundle, inputs, new Set());
    expect(none.text).toContain('import Timer from "timer";');
    expect(none.text).toContain('} from "crypt";');
    expect(none.text).not.toContain('__defProp');
    expect(none.exported).toEqual([]);

    const core = sliceBundle(bundle, inputs, new Set(['core']));
    expect(core.text).toContain('__defProp');
    expect(core.text).toContain('function coreHelper()');
    expect(core.text).not.toContain('function verify()');
    expect(core.exported).toEqual(['coreHelper']); // CORE_TABLE: nothing later uses it
    expect(core.text).toMatch(/export \{\n {2}coreHelper\n\};\n$/);
    expect(core.text.match(/from "timer"/g)).toHaveLength(1);

    const crypto = sliceBundle(bundle, inputs, new Set(['core', 'crypto', 'cbor', 'inflateGlue']));
    expect(crypto.exported).toEqual(['verify']);
    expect(crypto.text).not.toContain('main as default');

    expect(sliceBundle(bundle, inputs, new Set(GROUP_ORDER)).text).toBe(bundle);
  });
});

describe('reading mc.xs.c', () => {
  it('counts C literal bytes as fxWriteCString/fxWriteCData escape them', () => {
    expect(cLiteralBytes('abc')).toBe(3);
    expect(cLiteralBytes('\\x01\\x02\\xff')).toBe(3);
    expect(cLiteralBytes('a\\"b\\\\')).toBe(4);
  });

  it('lays out the heap, the literals its slots point to and the tables', () => {
    const mcXsC = [
      '#define mxAliasCount 3',
      '#define mxRegExpCount 2',
      '#define mxHeapCount 4',
      'static const txSlot gxHeap[mxHeapCount];',
      '#define mxStackCount 10',
      '#define mxKeysCount 5',
      '#define mxNamesCount 7',
      '#define mxSymbolsCount 1',
      'static const txU1 gxCode1[100];',
      'static const txSlot gxHeap[mxHeapCount] = {',
      '/* 0000 */\t{ NULL, {.ID = XS_NO_ID, .flag = XS_NO_FLAG, .kind = XS_REFERENCE_KIND}, .value = { .reference = (txSlot*)&gxHeap[4] } },',
      '/* 0001 */\t{ NULL, {.ID = 1, .flag = 0x80, .kind = XS_CODE_X_KIND}, .value = { .code = { (txByte*)"\\x01\\x02\\x03", NULL } } },',
      '/* 0002 */\t{ NULL, {.ID = 2, .flag = 0x80, .kind = XS_STRING_X_KIND}, .value = { .string = "caf\\xc3""\\xa9" } },',
      '/* 0003 */\t{ NULL, {.ID = 3, .flag = 0x80, .kind = XS_KEY_X_KIND}, .value = { .key = { "name", 0x1234 } } },',
      '/* 0004 */\t{ NULL, {.ID = XS_NO_ID, .flag = XS_NO_FLAG, .kind = XS_REFERENCE_KIND}, .value = { .reference = NULL } }',
      '};',
      'static const txID gxColors[mxKeysCount] ICACHE_FLASH1_ATTR = {',
    ].join('\n');
    const layout = romLayout(mcXsC);
    expect(layout).toMatchObject({ heapSlots: 4, heapBytes: 64, codeBytes: 4, stringBytes: 6, keyBytes: 5, keyTableBytes: 30, regExpBytes: 8, gxCodeBytes: 100, fixedBytes: 160 + 32, keys: 5, aliases: 3 });
    expect(layout.totalBytes).toBe(64 + 4 + 6 + 5 + 30 + 8 + 100 + 192);
  });

  it("counts xsl's alias warnings about the client only", () => {
    const output = [
      '### warning: ssl/cache: default: not frozen',
      '### warning: ota-mcu: default() createBoard() X: no const',
      '### warning: ota-mcu: default() createBoard() Y: not frozen',
      '### warning: ota-mcu: default() createBoard() Z: no const',
    ].join('\n');
    expect(clientWarnings(output)).toEqual({ notFrozen: 1, noConst: 2 });
  });
});
