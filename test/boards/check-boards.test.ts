// `npm run check:boards` (scripts/check-boards.mjs) drives a real Moddable SDK, which CI does not
// have: this covers what runs without one, the refusal without $MODDABLE and the pure logic that
// reads the SDK tools' output (xsl summary, compile/link failures, module names, mc.ffi.c).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  definedFunctions,
  ffiProblems,
  findFailures,
  moduleOfPath,
  parseXslSummary,
  pathOfModule,
  sdkProblem,
  unresolvedImports,
} from '../../scripts/check-boards.mjs';

const ROOT = join(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/check-boards.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'ota-mcu-check-boards-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the script with `env` in place of the environment's Moddable variables. */
function checkBoards(env: Record<string, string>, args: string[] = []) {
  const { MODDABLE: _m, ...rest } = process.env;
  return spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, env: { ...rest, ...env }, encoding: 'utf8' });
}

describe('check:boards without a built SDK', () => {
  it('is the package.json script', () => {
    const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    expect(scripts['check:boards']).toBe('node scripts/check-boards.mjs');
  });

  it('without MODDABLE says what it needs and exits non-zero', () => {
    const result = checkBoards({});
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('MODDABLE is not set');
    expect(result.stderr).toContain('Moddable SDK 8.2.3');
    expect(result.stderr).toContain('Getting Started');
    expect(result.stdout).not.toContain('==');
  });

  it('with MODDABLE at a folder that is not an SDK, says so', () => {
    const result = checkBoards({ MODDABLE: scratch });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('is not a Moddable SDK');
  });

  it('with an SDK whose host tools are not built, names the missing tools', () => {
    const sdk = join(scratch, 'unbuilt');
    mkdirSync(join(sdk, 'tools'), { recursive: true });
    writeFileSync(join(sdk, 'tools', 'mcconfig.js'), '');
    const result = checkBoards({ MODDABLE: sdk });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/no built host tools: mcconfig, xsc, xsid, xsl, mcrez, mcdevicetree missing/);
  });

  it('refuses a board the catalogue does not have', () => {
    const result = checkBoards({}, ['no-such-board']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('no board no-such-board');
  });

  it('sdkProblem accepts an SDK with every tool built', () => {
    const probe = { exists: () => true, executable: () => true };
    expect(sdkProblem({ MODDABLE: '/sdk' }, 'linux', probe)).toBeUndefined();
    expect(sdkProblem({ MODDABLE: '/sdk' }, 'linux', { ...probe, executable: (p: string) => !p.endsWith('/xsl') })).toMatch(/xsl missing from \/sdk\/build\/bin\/lin\/release/);
    expect(sdkProblem({ MODDABLE: '/sdk' }, 'win32', probe)).toMatch(/Linux and macOS only/);
  });
});

describe('reading the SDK tools', () => {
  // Lines as xsc, xsl, make and cmake print them (Moddable SDK 8.2.3, GNU make 4.3).
  const modules = '/b/out/tmp/esp32/debug/app/modules';

  it('parses the xsl summary line', () => {
    const log = '# xsl modules\n### warning: ota-mcu: default() X: no const\n### 2651 instances, 3125 keys, 73 colors, 0 holes\n';
    expect(parseXslSummary(log)).toEqual({ line: '### 2651 instances, 3125 keys, 73 colors, 0 holes', instances: 2651, keys: 3125, colors: 73, holes: 0 });
    expect(parseXslSummary('### 1 error(s)\n')).toBeUndefined();
  });

  it('finds a compile error with its module and the rule that stopped', () => {
    const log = [
      `xsc /b/app/ota-mcu.js -d -c -e -o ${modules} -r ota-mcu`,
      '/b/app/ota-mcu.js:7317: error: missing expression!',
      '### 1 error(s)',
      `make: *** [makefile:1437: ${modules}/ota-mcu.xsb] Error 22`,
    ].join('\n');
    expect(findFailures(log, modules)).toEqual([
      { step: 'xsc', module: '/b/app/ota-mcu.js', message: 'ota-mcu.js:7317: missing expression!' },
      { step: 'xsc', module: 'ota-mcu', message: 'rule for ota-mcu.xsb failed (exit 22)' },
    ]);
  });

  it('finds a link error naming the unresolved module', () => {
    const log = [
      '# xsl modules',
      'ReferenceError: module "text/decoder" not found',
      '### ReferenceError: module "text/decoder" not found!',
      'make: *** [makefile:1204: /b/out/tmp/esp32/debug/app/mc.xs.c] Error 22',
    ].join('\n');
    const failures = findFailures(log, modules);
    expect(failures[0]).toEqual({ step: 'xsl', module: 'text/decoder', message: 'ReferenceError: module "text/decoder" not found' });
    expect(failures[1]).toMatchObject({ step: 'xsl', module: 'mc.xs.c' });
  });

  it('names the step of a failed cmake rule and drops make\'s own targets', () => {
    const log = [
      `gmake[3]: *** [app/CMakeFiles/generated_files.dir/build.make:1234: ${modules}/~.embedded/io/socket/tcp.xsb] Error 22`,
      'gmake[2]: *** [CMakeFiles/Makefile2:98: app/CMakeFiles/generated_files.dir/all] Error 2',
      "gmake[3]: *** No rule to make target '/sdk/build/devices/zephyr/targets/x/manifest.json', needed by '/b/app/mc.resources.c'.  Stop.",
    ].join('\n');
    expect(findFailures(log, modules)).toEqual([
      { step: 'xsc', module: 'embedded:io/socket/tcp', message: 'rule for tcp.xsb failed (exit 22)' },
      { step: 'mcrez', module: '/sdk/build/devices/zephyr/targets/x/manifest.json', message: 'missing input /sdk/build/devices/zephyr/targets/x/manifest.json' },
    ]);
  });

  it('ignores warnings and a clean build', () => {
    const log = '### warning: ssl/cache: not frozen\n/sdk/modules/data/zlib/inflate.js:25: warning: cannot optimize native!\n### 10 instances, 20 keys, 3 colors, 0 holes\n';
    expect(findFailures(log, modules)).toEqual([]);
  });

  it('maps module specifiers to the files xsl links and back', () => {
    expect(pathOfModule('embedded:io/socket/tcp')).toBe('~.embedded/io/socket/tcp.xsb');
    expect(pathOfModule('mc/config')).toBe('mc/config.xsb');
    expect(moduleOfPath('~.embedded/storage/flash.xsb')).toBe('embedded:storage/flash');
    expect(moduleOfPath('text/decoder.xsb')).toBe('text/decoder');
  });

  it('reports the imports no module of the build provides', () => {
    expect(unresolvedImports(['timer', 'text/decoder', 'embedded:update'], ['timer', 'embedded:storage/flash'])).toEqual(['text/decoder', 'embedded:update']);
    expect(unresolvedImports(['timer'], ['timer'])).toEqual([]);
  });
});

describe('mc.ffi.c against the manifests\' "ffi" sections', () => {
  // As tools/ffi.js writes it.
  const mcFfiC = [
    '#include "xsffi.h"',
    'extern int32_t ota_running_state();',
    'extern void ota_fill_random(uint8_t* arg0, uint32_t arg1, uint32_t arg2);',
    'extern int32_t esp_read_mac(uint8_t* arg0, int32_t arg1);',
  ].join('\n');

  it('accepts the declarations of the manifest spelling and of manifest_flat.json', () => {
    expect(ffiProblems({ ota_running_state: { arguments: [], returns: 'int32_t' }, esp_read_mac: { arguments: ['uint8_t[6]', 'int32_t'], returns: 'int32_t' } }, mcFfiC)).toEqual([]);
    expect(ffiProblems({ ota_fill_random: { arguments: [{ name: 'uint8_t*' }, { name: 'uint32_t' }, { name: 'uint32_t' }], returns: 'void' } }, mcFfiC)).toEqual([]);
  });

  it('names a function not declared or declared with other types', () => {
    expect(ffiProblems({ ota_device_id: { arguments: ['uint8_t*'], returns: 'int32_t' } }, mcFfiC)).toEqual(['ota_device_id: not declared in mc.ffi.c']);
    expect(ffiProblems({ esp_read_mac: { arguments: ['uint8_t*'], returns: 'int32_t' } }, mcFfiC)[0]).toMatch(/^esp_read_mac: mc.ffi.c declares int32_t esp_read_mac\(uint8_t\*, int32_t\), the manifest says int32_t esp_read_mac\(uint8_t\*\)$/);
  });

  it('finds the functions our C natives define, each one the family manifest binds', () => {
    for (const [family, source] of [['_esp-idf', 'ota-state.c'], ['_zephyr-mcuboot', 'zephyr-natives.c']] as const) {
      const defined = definedFunctions(readFileSync(join(ROOT, 'boards', family, source), 'utf8'));
      const functions = JSON.parse(readFileSync(join(ROOT, 'boards', family, 'manifest.json'), 'utf8')).ffi.functions as Record<string, unknown>;
      const ours = defined.filter((name) => name.startsWith('ota_'));
      expect(ours.length, source).toBeGreaterThan(0);
      for (const name of ours) expect(Object.keys(functions), `${source} ${name}`).toContain(name);
      for (const name of Object.keys(functions).filter((n) => n.startsWith('ota_'))) expect(defined, `${family} manifest ${name}`).toContain(name);
    }
  });
});
