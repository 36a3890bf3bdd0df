// `npm run check:boards`: every board of the catalogue (scripts/boards.mjs) through the host-side
// steps of a real Moddable build, with the SDK's own tools from the user's $MODDABLE:
//
//   1. build the board's mcconfig folder (scripts/build-board.mjs) into a scratch dir
//   2. mcconfig -d -p <mcconfigPlatform> -o <scratch>, WITHOUT -m: it reads every manifest and
//      writes the generated build (makefile for esp32, CMakeLists.txt for Zephyr), mc.config.js,
//      mc.ffi.c/.js, but runs no toolchain (tools/mcconfig.js:1278, `if (this.make)`)
//   3. the generated build's own rules for the XS steps only: xsc on every module, xsid on every C
//      file, mcdevicetree (Zephyr), mcrez, and xsl linking with the client preloaded
//   4. checks of its own: each module the bundle imports is a module of the build, and mc.ffi.c
//      declares each function of the manifests' "ffi" sections as they spell it
//
// and fails (exit 1, naming board, step and module) on any error. Without ESP-IDF or Zephyr the
// native compile and link cannot run, so the generated build is driven only up to its host steps:
//
//   esp32 (makefile): `make -f makefile <TMP_DIR>/mc.xs.c <TMP_DIR>/mc.resources.c`, the very rules
//     mcconfig -m would reach through `all`, with three make variables overridden on the command line:
//       SDKCONFIG_H=       mc.xs.c and mc.resources.c depend on build/config/sdkconfig.h, which only
//                          `idf.py reconfigure` writes (makefile rule `$(SDKCONFIG_H):`); it is an
//                          ordering prerequisite, not an input: no xsc/xsl/mcrez command reads it.
//       IDF_PATH, IDF_VERSION  only when IDF_PATH is unset: the makefile stops at parse time without
//                          them (`$(error $$IDF_PATH not set)`, `git describe` in $IDF_PATH); the
//                          version given is the makefile's own EXPECTED_ESP_IDF. No XS step reads them.
//   Zephyr (CMakeLists.txt): west would add it as a subdirectory of $MODDABLE/build/devices/zephyr/app
//     inside the Zephyr build. Here a small host CMake project (written into the scratch dir) adds it
//     the same way and builds its `generated_files` target, i.e. the same add_custom_command rules,
//     with these stand-ins:
//       find_package(Zephyr…), project()   no-ops: there is no Zephyr to find
//       zephyr_library_*, zephyr_get_*      no-ops: they configure the C compile, which is not run
//       execute_process(lin_start_xsbug)    not run: it launches xsbug
//       <build>/zephyr/zephyr.dts           an empty devicetree: Zephyr writes the real one from the
//                                           board files; mcdevicetree turns it into mc/devicetree,
//                                           whose io/pin tables are then empty (the client does not
//                                           import mc/devicetree; flash and key-value are unaffected)
//       ZEPHYR_BASE                          only when unset: mcconfig refuses to run without it
//                                           (tools/mcconfig.js:1236-1238) and only writes it out
//   A Zephyr target missing from $MODDABLE/build/devices/zephyr/targets is added the way Moddable's
//   documentation/devices/zephyr.md "Adding a new board" says: copy a sibling and set ZEPHYR_BOARD
//   (from the board description's zephyrBoard). That writes into the user's SDK, and says so.
//
// Opt-in, `--firmware`: where the toolchain is installed (ESP-IDF: IDF_PATH with export.sh or idf.py
// on PATH; Zephyr: ZEPHYR_BASE and west), each board then goes through `mcconfig -d -m -t build`,
// the SDK's own full build of the firmware image. Without the toolchain it says so and builds nothing.
//
// Usage: node scripts/check-boards.mjs [--firmware] [board…]      (scratch: build/check-boards/)
import { spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listBoards, readBoard } from './boards.mjs';
import { missingToolchain, onPath } from './build-board.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The scratch dir: build/ is gitignored. Each run starts it afresh. */
export const SCRATCH_DIR = join(ROOT, 'build', 'check-boards');
/** The SDK the manifests and this check were written against. */
export const SDK_VERSION = '8.2.3';
/** The host tools the check runs (mcconfig drives xsc/xsid/xsl/mcrez/mcdevicetree). */
export const SDK_TOOLS = ['mcconfig', 'xsc', 'xsid', 'xsl', 'mcrez', 'mcdevicetree'];
/** The sibling Moddable's "Adding a new board" copies (documentation/devices/zephyr.md:535). */
const ZEPHYR_SIBLING = 'nucleo_f413zh';

// ---------------------------------------------------------------------------------------------
// Pure helpers (test/boards/check-boards.test.ts runs them without an SDK)

/** Where a Moddable SDK keeps its host tools on this host, or undefined (Windows is not handled). */
export function hostToolsDir(moddable, platform = process.platform) {
  const host = { linux: 'lin', darwin: 'mac' }[platform];
  return host === undefined ? undefined : join(moddable, 'build', 'bin', host, 'release');
}

/** What this check needs, told plainly; printed when $MODDABLE is missing or not a built SDK. */
export function sdkNeeded(problem) {
  return [
    `check-boards: ${problem}`,
    `check-boards needs MODDABLE set to a Moddable SDK ${SDK_VERSION} with its host tools built, as the SDK's`,
    `documentation/Moddable SDK - Getting Started.md describes (on Linux: build/makefiles/lin, which puts`,
    `${SDK_TOOLS.join(', ')} in $MODDABLE/build/bin/lin/release). Then: MODDABLE=/path/to/moddable npm run check:boards`,
  ].join('\n');
}

/**
 * The first reason `env.MODDABLE` is not a usable built SDK, or undefined when it is. `probe`
 * answers whether a path is an executable file or an existing path (injectable for tests).
 */
export function sdkProblem(env, platform = process.platform, probe = defaultProbe) {
  const moddable = env.MODDABLE;
  if (!moddable) return 'MODDABLE is not set';
  if (!probe.exists(join(moddable, 'tools', 'mcconfig.js'))) return `MODDABLE=${moddable} is not a Moddable SDK (no tools/mcconfig.js)`;
  const tools = hostToolsDir(moddable, platform);
  if (tools === undefined) return `no Moddable host tools for ${platform} in this check (Linux and macOS only)`;
  const missing = SDK_TOOLS.filter((tool) => !probe.executable(join(tools, tool)));
  if (missing.length > 0) return `MODDABLE=${moddable} has no built host tools: ${missing.join(', ')} missing from ${tools}`;
  return undefined;
}

const defaultProbe = {
  exists: (path) => existsSync(path),
  executable: (path) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  },
};

/** The xsl summary line (`### 2651 instances, 3125 keys, 73 colors, 0 holes`) of a log, parsed. */
export function parseXslSummary(log) {
  const match = /^### (\d+) instances, (\d+) keys, (\d+) colors, (\d+) holes$/m.exec(log);
  if (!match) return undefined;
  const [line, instances, keys, colors, holes] = match;
  return { line, instances: Number(instances), keys: Number(keys), colors: Number(colors), holes: Number(holes) };
}

/**
 * The module name XS gives a file of the modules dir: mcconfig stores `embedded:x/y` as
 * `~.embedded/x/y.xsb` (tools/mcmanifest.js:3134-3139 resolvePrefix) and xsl turns it back
 * (xs/tools/xslBase.c:98-107 fxBasePrefix).
 */
export function moduleOfPath(path) {
  const name = path.replace(/\\/g, '/').replace(/\.xsb$/, '');
  const prefixed = /^~\.([^/]+)\/(.+)$/.exec(name);
  return prefixed ? `${prefixed[1]}:${prefixed[2]}` : name;
}

/** The file of the modules dir a module specifier is linked from (the inverse of moduleOfPath). */
export function pathOfModule(specifier) {
  const colon = specifier.indexOf(':');
  return `${colon > 0 ? `~.${specifier.slice(0, colon)}/${specifier.slice(colon + 1)}` : specifier}.xsb`;
}

/** The step of the generated build that makes `target` (a file it names). */
export function stepOfTarget(target) {
  if (target.endsWith('.xsb')) return 'xsc';
  if (target.endsWith('.xsi')) return 'xsid';
  if (/mc\.xs\.[ch]$/.test(target)) return 'xsl';
  if (/mc\.resources\.c$/.test(target)) return 'mcrez';
  if (/mc\.devicetree\.\w+$/.test(target)) return 'mcdevicetree';
  return 'build';
}

/**
 * Every failure a log of the generated build's host steps shows: compile errors (xsc, xsid:
 * `file:line: error: …`), link errors (xsl: `### ReferenceError: module "x" not found!`), and the
 * make/cmake rule that stopped, each as { step, module, message }. `modulesDir` turns an .xsb
 * target back into its module name.
 */
export function findFailures(log, modulesDir = '') {
  const failures = [];
  const moduleOf = (target) => {
    const rel = modulesDir && target.startsWith(modulesDir) ? target.slice(modulesDir.length).replace(/^[/\\]/, '') : basename(target);
    return target.endsWith('.xsb') ? moduleOfPath(rel) : rel;
  };
  for (const line of log.split('\n')) {
    let match;
    if ((match = /^(.+?):(\d+): error: (.*)$/.exec(line))) {
      const step = /\.[ch]$/.test(match[1]) ? 'xsid' : 'xsc';
      failures.push({ step, module: match[1], message: `${basename(match[1])}:${match[2]}: ${match[3]}` });
    } else if ((match = /^### (?!warning)(?!\d+ (?:error|instances))(.+?)!?$/.exec(line))) {
      failures.push({ step: 'xsl', module: /module "([^"]+)"/.exec(match[1])?.[1] ?? '(link)', message: match[1] });
    } else if ((match = /\*\*\* \[(?:[^\]]*?:\d+: )?([^\]]+)\] Error (\d+)/.exec(line))) {
      const target = match[1].trim();
      failures.push({ step: stepOfTarget(target), module: moduleOf(target), message: `rule for ${basename(target)} failed (exit ${match[2]})` });
    } else if ((match = /No rule to make target '([^']+)'(?:, needed by '([^']+)')?/.exec(line))) {
      failures.push({ step: match[2] ? stepOfTarget(match[2]) : 'build', module: match[1], message: `missing input ${match[1]}` });
    }
  }
  // One failure per step and module: make repeats the rule that stopped at each recursion level,
  // and its own targets (…/generated_files.dir/all) say nothing when a tool's error is there.
  const specific = failures.some((f) => f.step !== 'build');
  const seen = new Set();
  return failures.filter((f) => {
    if (specific && f.step === 'build') return false;
    const key = `${f.step} ${f.module} ${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The bundle's imports that no module of the build provides (`modules`: names of the build's modules). */
export function unresolvedImports(imports, modules) {
  const provided = new Set(modules);
  return imports.filter((specifier) => !provided.has(specifier));
}

/**
 * What is wrong between the manifests' "ffi" functions and the mc.ffi.c mcconfig generated
 * (tools/ffi.js writes one `extern <returns> <name>(<type> arg0, …);` per function): a function
 * not declared, or declared with other types.
 */
export function ffiProblems(functions, mcFfiC) {
  const declared = new Map();
  for (const match of mcFfiC.matchAll(/^extern\s+(.+?)\s*\b(\w+)\((.*)\);$/gm)) {
    const args = match[3].trim() === '' ? [] : match[3].split(',').map((a) => a.trim().replace(/\s*\barg\d+$/, '').replace(/\s+\*/g, '*'));
    declared.set(match[2], { returns: match[1].replace(/\s+\*/g, '*'), args });
  }
  // A type as the manifest spells it ("uint8_t*", "uint8_t[6]") or as mcconfig leaves it in
  // manifest_flat.json (tools/ffi.js replaces each by a Type object with its C name; T[N] becomes T*).
  const typeName = (type) => {
    const text = (typeof type === 'string' ? type : type?.name ?? 'void').replace(/\s+\*/g, '*');
    return text.replace(/^(.+?)\s*\[\d+\]$/, '$1*');
  };
  const problems = [];
  for (const [name, { arguments: rawArgs = [], returns: rawReturns = 'void' }] of Object.entries(functions ?? {})) {
    const args = rawArgs.map(typeName);
    const returns = typeName(rawReturns);
    const found = declared.get(name);
    if (!found) problems.push(`${name}: not declared in mc.ffi.c`);
    else if (found.returns !== returns || found.args.join(',') !== args.join(',')) {
      problems.push(`${name}: mc.ffi.c declares ${found.returns} ${name}(${found.args.join(', ')}), the manifest says ${returns} ${name}(${args.join(', ')})`);
    }
  }
  return problems;
}

/** The function names a C source defines (a name, a parameter list, then a body). */
export function definedFunctions(source) {
  const names = new Set();
  for (const match of source.matchAll(/^[A-Za-z_][\w \t*]*?\b(\w+)\s*\([^;{)]*\)\s*\{/gm)) names.add(match[1]);
  return [...names];
}

// ---------------------------------------------------------------------------------------------
// Running the SDK

/** Runs a command with its output captured to `log`; returns { status, output }. */
function run(command, args, { cwd, env, log }) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? `\n${result.error.message}\n` : ''}`;
  writeFileSync(log, `$ (cd ${cwd} && ${command} ${args.join(' ')})\n${output}`, { flag: 'a' });
  return { status: result.error ? -1 : result.status, output };
}

/** A path as printed: relative to the repository when inside it. */
function shown(path) {
  const rel = relative(ROOT, path);
  return rel.startsWith('..') ? path : rel;
}

class StepError extends Error {
  constructor(board, step, module, message, log) {
    super(`${board}: ${step}${module ? ` ${module}` : ''}: ${message}${log ? ` (log: ${shown(log)})` : ''}`);
    this.failures = [{ board, step, module, message }];
  }
}

/** The Zephyr target mcconfig -p zephyr/<target> reads, added per Moddable's "Adding a new board" if missing. */
function ensureZephyrTarget(board, moddable, say) {
  const target = board.mcconfigPlatform.slice('zephyr/'.length);
  const targets = join(moddable, 'build', 'devices', 'zephyr', 'targets');
  const dir = join(targets, target);
  const manifestPath = join(dir, 'manifest.json');
  if (board.zephyrBoard === undefined) throw new StepError(board.name, 'zephyr target', target, 'board.json has no "zephyrBoard" to set ZEPHYR_BOARD from');
  if (existsSync(manifestPath)) {
    const zephyrBoard = JSON.parse(readFileSync(manifestPath, 'utf8')).build?.ZEPHYR_BOARD;
    if (zephyrBoard !== board.zephyrBoard) {
      throw new StepError(board.name, 'zephyr target', target, `${manifestPath} sets ZEPHYR_BOARD ${JSON.stringify(zephyrBoard)}, board.json says zephyrBoard ${JSON.stringify(board.zephyrBoard)}`);
    }
    return;
  }
  const siblings = readdirSync(targets).filter((name) => existsSync(join(targets, name, 'manifest.json'))).sort();
  const sibling = siblings.includes(ZEPHYR_SIBLING) ? ZEPHYR_SIBLING : siblings[0];
  if (sibling === undefined) throw new StepError(board.name, 'zephyr target', target, `no target in ${targets} to copy`);
  cpSync(join(targets, sibling), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.build = { ...manifest.build, ZEPHYR_BOARD: board.zephyrBoard };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, '\t')}\n`);
  say(`zephyr target: added ${dir} to your SDK: a copy of targets/${sibling} with ZEPHYR_BOARD "${board.zephyrBoard}" (Moddable's documentation/devices/zephyr.md, "Adding a new board")`);
}

/** The host CMake project that adds mcconfig's CMakeLists.txt as Zephyr's app would, minus Zephyr. */
const ZEPHYR_HOST_PROJECT = `# Written by ota-mcu scripts/check-boards.mjs: runs only the host XS steps of mcconfig's generated
# CMakeLists.txt (its generated_files target). Stand-ins for what the Zephyr build would provide:
cmake_minimum_required(VERSION 3.20.0)
project(ota_mcu_check_boards NONE)
# No Zephyr: find_package(Zephyr…) and the app's project() do nothing.
macro(find_package)
endmacro()
macro(project)
endmacro()
# The generated file's execute_process launches xsbug: not run.
function(execute_process)
  message(STATUS "check-boards stand-in: not run: execute_process(\${ARGV})")
endfunction()
# They configure the C compile of the Zephyr library, which is not run here.
foreach(stub zephyr_get_include_directories_for_lang_as_string zephyr_get_system_include_directories_for_lang_as_string
    zephyr_get_compile_definitions_for_lang_as_string zephyr_get_compile_options_for_lang_as_string
    zephyr_library_add_dependencies zephyr_library_compile_definitions zephyr_library_compile_options
    zephyr_library_include_directories zephyr_library_sources)
  cmake_language(EVAL CODE "function(\${stub})\\nendfunction()")
endforeach()
# Zephyr writes the board's final devicetree here; an empty one stands in (mc/devicetree gets no io/pin tables).
file(MAKE_DIRECTORY \${CMAKE_BINARY_DIR}/zephyr)
file(WRITE \${CMAKE_BINARY_DIR}/zephyr/zephyr.dts "/dts-v1/;\\n/ {\\n};\\n")
add_subdirectory(\${MODDABLE_BUILD_DIR} \${CMAKE_BINARY_DIR}/app)
`;

/** The XS steps of the generated build in `tmpDir`; returns { output, standIns }. */
function runHostSteps(board, tmpDir, env, log, root) {
  const failWith = (step, output, fallback) => {
    const failures = findFailures(output, join(tmpDir, 'modules'));
    const error = new StepError(board.name, failures[0]?.step ?? step, failures[0]?.module, failures[0]?.message ?? fallback, log);
    if (failures.length > 0) error.failures = failures.map((f) => ({ board: board.name, ...f }));
    throw error;
  };
  if (existsSync(join(tmpDir, 'makefile'))) {
    if (!onPath('make', env)) throw new StepError(board.name, 'make', '', 'make is not on PATH (mcconfig -m runs it too)');
    const makefile = readFileSync(join(tmpDir, 'makefile'), 'utf8');
    const overrides = ['SDKCONFIG_H=', 'VERBOSE=1'];
    const standIns = ['SDKCONFIG_H= (mc.xs.c/mc.resources.c need not wait for idf.py to write sdkconfig.h; no XS step reads it)'];
    if (/^IDF_VERSION :=/m.test(makefile) && !env.IDF_PATH) {
      const expected = /^EXPECTED_ESP_IDF = (\S+)/m.exec(makefile)?.[1] ?? 'v6.0';
      const idfPath = join(root, 'no-esp-idf');
      overrides.push(`IDF_PATH=${idfPath}`, `IDF_VERSION=${expected}`);
      standIns.push(`IDF_PATH=${shown(idfPath)} IDF_VERSION=${expected} (no ESP-IDF: the makefile stops at parse time without them; no XS step reads them)`);
    }
    const targets = [join(tmpDir, 'mc.xs.c'), join(tmpDir, 'mc.resources.c')];
    const { status, output } = run('make', ['-f', 'makefile', ...overrides, ...targets], { cwd: tmpDir, env, log });
    if (status !== 0) failWith('make', output, `make exited ${status}`);
    return { output, standIns, command: `make -f makefile ${overrides.join(' ')} mc.xs.c mc.resources.c` };
  }
  if (existsSync(join(tmpDir, 'CMakeLists.txt'))) {
    if (!onPath('cmake', env)) throw new StepError(board.name, 'cmake', '', 'cmake is not on PATH (west build runs it too)');
    const project = join(root, 'host-project');
    const binary = join(project, 'build');
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'CMakeLists.txt'), ZEPHYR_HOST_PROJECT);
    const configured = run('cmake', ['-S', project, '-B', binary, `-DMODDABLE_BUILD_DIR=${tmpDir}`], { cwd: project, env, log });
    if (configured.status !== 0) failWith('cmake', configured.output, `cmake configure exited ${configured.status}`);
    const built = run('cmake', ['--build', binary, '--target', 'generated_files', '--verbose'], { cwd: project, env, log });
    const output = `${configured.output}${built.output}`;
    if (built.status !== 0) failWith('cmake', output, `cmake --build exited ${built.status}`);
    const standIns = [
      'find_package(Zephyr), project(), zephyr_* as no-ops (no Zephyr, no C compile)',
      'execute_process(lin_start_xsbug) not run',
      'an empty zephyr.dts for mcdevicetree (mc/devicetree without io/pin tables; the client does not import it)',
    ];
    return { output, standIns, command: `cmake --build … --target generated_files (host project ${shown(join(project, 'CMakeLists.txt'))})` };
  }
  throw new StepError(board.name, 'mcconfig', '', `no makefile or CMakeLists.txt in ${tmpDir}`);
}

/** Every module name in the build's modules dir (what xsl links). */
function modulesOfBuild(modulesDir) {
  const names = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.xsb')) names.push(moduleOfPath(relative(modulesDir, join(dir, entry.name))));
    }
  };
  walk(modulesDir);
  return names.sort();
}

/**
 * One board through mcconfig and the host XS steps; throws a StepError. Returns the app and output
 * dirs, the generated build's dir (tmpDir, where xsl writes mc.xs.c), the host steps' output and
 * xsl's summary. `rewriteBundle`, when given, replaces ota-mcu.js by what it returns for the
 * built text before mcconfig runs (scripts/preload-flash.mjs links slices of the client this way).
 */
export async function checkBoard(name, { moddable, env, scratch, say, rewriteBundle }) {
  const { buildBoard } = await import('./build-board.mjs');
  const board = readBoard(name);
  const root = join(scratch, name);
  const appDir = join(root, 'app');
  const outDir = join(root, 'out');
  const log = join(root, 'check.log');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(log, '');
  say(`== ${name}: mcconfig -p ${board.mcconfigPlatform}`);

  let built;
  try {
    built = await buildBoard(name, appDir);
  } catch (error) {
    throw new StepError(name, 'bundle', 'ota-mcu', error.message);
  }
  if (rewriteBundle) {
    const bundlePath = join(appDir, 'ota-mcu.js');
    writeFileSync(bundlePath, rewriteBundle(readFileSync(bundlePath, 'utf8')));
    built.bundleBytes = statSync(bundlePath).size;
  }
  say(`bundle: ${shown(appDir)}/ota-mcu.js ${built.bundleBytes} bytes, imports ${built.imports.length} Moddable modules`);

  const boardEnv = { ...env };
  if (board.mcconfigPlatform.startsWith('zephyr/')) {
    ensureZephyrTarget(board, moddable, say);
    if (!boardEnv.ZEPHYR_BASE) {
      boardEnv.ZEPHYR_BASE = join(root, 'no-zephyr-base');
      say(`stand-in: ZEPHYR_BASE=${shown(boardEnv.ZEPHYR_BASE)} (no Zephyr: mcconfig refuses to run without it, tools/mcconfig.js:1236-1238, and only writes it into CMakeLists.txt)`);
    }
  }
  const mcconfigArgs = ['-d', '-p', board.mcconfigPlatform, '-o', outDir];
  const configured = run('mcconfig', mcconfigArgs, { cwd: appDir, env: boardEnv, log });
  const mcconfigError = /^### Error: (.*)$/m.exec(configured.output)?.[1];
  if (configured.status !== 0 || mcconfigError) throw new StepError(name, 'mcconfig', '', mcconfigError ?? `exited ${configured.status}`, log);
  const tmpDir = join(outDir, 'tmp', ...board.mcconfigPlatform.split('/'), 'debug', basename(appDir));
  if (!existsSync(tmpDir)) throw new StepError(name, 'mcconfig', '', `wrote no build to ${tmpDir}`, log);
  say(`mcconfig: ok (mcconfig -d -p ${board.mcconfigPlatform} -o ${shown(outDir)}, no -m: generated ${existsSync(join(tmpDir, 'makefile')) ? 'makefile' : 'CMakeLists.txt'}, mc.ffi.c)`);

  const { output, standIns, command } = runHostSteps(board, tmpDir, boardEnv, log, root);
  for (const standIn of standIns) say(`stand-in: ${standIn}`);
  const modulesDir = join(tmpDir, 'modules');
  const modules = modulesOfBuild(modulesDir);
  const xsi = readdirSync(tmpDir).filter((file) => file.endsWith('.xsi')).length;
  const failures = findFailures(output, modulesDir);
  if (failures.length > 0) {
    const error = new StepError(name, failures[0].step, failures[0].module, failures[0].message, log);
    error.failures = failures.map((f) => ({ board: name, ...f }));
    throw error;
  }
  const summary = parseXslSummary(output);
  if (!summary) throw new StepError(name, 'xsl', '', 'no xsl summary line in the output', log);
  const preloaded = output.includes('-p ota-mcu.xsb');
  if (!preloaded) throw new StepError(name, 'xsl', 'ota-mcu', 'xsl did not preload ota-mcu (boards/_moddable/manifest.json "preload")', log);
  say(`host steps: ${command}: xsc ${modules.length} modules, xsid ${xsi} C files, xsl linked with ota-mcu preloaded`);

  const missing = unresolvedImports(built.imports, modules);
  if (missing.length > 0) {
    const error = new StepError(name, 'imports', missing.join(', '), `the bundle imports ${missing.length === 1 ? 'a module' : 'modules'} the build does not provide`, log);
    error.failures = missing.map((module) => ({ board: name, step: 'imports', module, message: 'imported by ota-mcu.js, not a module of the build' }));
    throw error;
  }
  say(`imports: all ${built.imports.length} modules ota-mcu.js imports are modules of the build`);

  const flat = JSON.parse(readFileSync(join(tmpDir, 'manifest_flat.json'), 'utf8'));
  const functions = flat.ffi?.functions ?? {};
  if (Object.keys(functions).length > 0) {
    const mcFfiC = readFileSync(join(tmpDir, 'mc.ffi.c'), 'utf8');
    const problems = ffiProblems(functions, mcFfiC);
    if (problems.length > 0) throw new StepError(name, 'ffi', 'mc.ffi.c', problems.join('; '), log);
    const sources = [flat.ffi.sources ?? []].flat().map((source) => resolve(appDir, source.replace('$(MAIN_DIR)', appDir)));
    const ours = new Set(sources.filter((source) => existsSync(source)).flatMap((source) => definedFunctions(readFileSync(source, 'utf8'))));
    const names = Object.keys(functions);
    const fromPlatform = names.filter((fn) => !ours.has(fn));
    say(`ffi: mc.ffi.c declares all ${names.length} functions as the manifests type them; ${names.length - fromPlatform.length} defined in ${sources.map((s) => basename(s)).join(', ') || '(no sources)'}, ${fromPlatform.length} from the platform (${fromPlatform.join(', ')})`);
    // The generated glue against XS's own xsffi.h, with the host C compiler if there is one.
    if (onPath('cc', env)) {
      const compiled = run('cc', ['-fsyntax-only', '-Wall', '-Werror', '-I', join(moddable, 'xs', 'includes'), join(tmpDir, 'mc.ffi.c')], { cwd: tmpDir, env, log });
      if (compiled.status !== 0) throw new StepError(name, 'ffi', 'mc.ffi.c', `does not compile against xs/includes/xsffi.h: ${compiled.output.trim().split('\n')[0]}`, log);
      say('ffi: mc.ffi.c compiles (host cc -fsyntax-only against $MODDABLE/xs/includes; the platform functions are not linked here)');
    }
  }
  say(summary.line);
  return { appDir, outDir, tmpDir, output, summary };
}

/** `mcconfig -d -m -t build`: the SDK's full firmware build, where the board's toolchain is installed. */
function buildFirmware(name, { appDir, outDir }, env, say) {
  const platform = readBoard(name).mcconfigPlatform;
  const missing = missingToolchain(readBoard(name), env);
  if (missing) {
    say(`firmware: not built: no ${missing} on this machine`);
    return true;
  }
  say(`firmware: mcconfig -d -m -t build -p ${platform} -o ${outDir} (output follows)`);
  const result = spawnSync('mcconfig', ['-d', '-m', '-t', 'build', '-p', platform, '-o', outDir], { cwd: appDir, env, stdio: 'inherit' });
  if (result.status !== 0) {
    say(`firmware: FAILED (mcconfig exited ${result.status ?? result.error?.message})`);
    return false;
  }
  say(`firmware: built under ${join(outDir, 'bin')}`);
  return true;
}

function sdkVersion(moddable) {
  const git = spawnSync('git', ['-C', moddable, 'describe', '--tags', '--always'], { encoding: 'utf8' });
  return git.status === 0 ? git.stdout.trim() : undefined;
}

async function main(argv, env) {
  const firmware = argv.includes('--firmware');
  const names = argv.filter((arg) => arg !== '--firmware');
  const unknown = names.filter((name) => !listBoards().includes(name));
  if (unknown.length > 0) {
    console.error(`check-boards: no board ${unknown.join(', ')}; boards: ${listBoards().join(', ')}`);
    return 2;
  }
  const problem = sdkProblem(env);
  if (problem) {
    console.error(sdkNeeded(problem));
    return 2;
  }
  const moddable = resolve(env.MODDABLE);
  const tools = hostToolsDir(moddable);
  const runEnv = { ...env, MODDABLE: moddable, PATH: `${tools}${delimiter}${env.PATH ?? ''}` };
  const version = sdkVersion(moddable);
  console.log(`check-boards: MODDABLE=${moddable} (${version ? `git describe: ${version}` : 'no git metadata to tell its version'}; written against ${SDK_VERSION}), tools ${tools}`);
  const scratch = SCRATCH_DIR;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  console.log(`check-boards: scratch ${shown(scratch)} (logs: <board>/check.log)`);

  const failures = [];
  let firmwareOk = true;
  for (const name of names.length > 0 ? names : listBoards()) {
    const say = (text) => console.log(text.startsWith('==') ? text : `  ${text}`);
    try {
      const built = await checkBoard(name, { moddable, env: runEnv, scratch, say });
      if (firmware) firmwareOk = buildFirmware(name, built, runEnv, say) && firmwareOk;
    } catch (error) {
      if (!(error instanceof StepError)) throw error;
      for (const f of error.failures) console.log(`  FAILED: ${f.board}: ${f.step}${f.module ? ` ${f.module}` : ''}: ${f.message}`);
      console.log(`  (${error.message})`);
      failures.push(...error.failures);
    }
  }
  if (failures.length > 0) {
    console.error(`check-boards: ${failures.length} failure(s): ${failures.map((f) => `${f.board} ${f.step} ${f.module}`).join('; ')}`);
    return 1;
  }
  if (!firmwareOk) return 1;
  console.log(`check-boards: ok, ${names.length > 0 ? names.join(', ') : listBoards().join(', ')}${firmware ? '' : ' (host XS steps; firmware images: npm run check:boards -- --firmware)'}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (error) => {
      console.error(`check-boards: ${error.stack ?? error.message}`);
      process.exit(1);
    },
  );
}
