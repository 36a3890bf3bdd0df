// Builds ota-mcu's variant of xsnap-worker from the C sources @agoric/xsnap installs, without touching
// node_modules: the package's own makefile (xsnap-worker.mk: flags, defines, object list) is included
// by simulator/xs/native/xsnap-worker-ota.mk, which adds native/creation.c (machine creation from
// OTA_XS_CREATION, XS's memory counters as otaMemory()). BUILD_DIR points every output here.
//
// Two variants: 64 bits (the host's; 32-byte slots) and 32 bits (gcc -m32: 16-byte slots as on the
// ESP32 and Cortex-M, so slot and chunk figures are the device's; Debian needs gcc-multilib).
//
// Cache: .tmp/xsnap/<bits>-<hash>/xsnap-worker, the hash covering every source file the build reads
// and the build's arguments, so an upgraded package or an edited creation.c builds anew and
// anything else is reused across runs. Vitest runs test files in parallel workers, so one build per
// variant at a time: a lock directory (mkdir is atomic) held by the builder's pid; the others wait
// for the binary, which appears by rename, whole. A lock whose pid is gone is taken over.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type XsBits = 32 | 64;

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
const NATIVE = join(HERE, 'native');
const CACHE = resolve(HERE, '../../.tmp/xsnap');

function packageRoot(): string {
  return dirname(require.resolve('@agoric/xsnap/package.json'));
}

/** Every file under `dir` (recursively), sorted. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

/** make's arguments for `bits`, except the output folder. */
function makeArguments(bits: XsBits): string[] {
  const root = packageRoot();
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  // The package's own CC (src/build.js, build.config.env), plus -m32 for the 32-bit variant.
  const cc = `cc${bits === 32 ? ' -m32' : ''} "-D__has_builtin(x)=1"`;
  return [
    '-f', join(NATIVE, 'xsnap-worker-ota.mk'),
    'XSNAP_MK=xsnap-worker.mk',
    `OTA_NATIVE_DIR=${NATIVE}`,
    `MODDABLE=${join(root, 'moddable')}`,
    'GOAL=release',
    `XSNAP_VERSION=${version}`,
    `CC=${cc}`,
  ];
}

const hashes = new Map<XsBits, string>();

/** A digest of what the build reads (XS, xsnap's sources and makefile, ours) and how it is run. */
function sourceHash(bits: XsBits): string {
  let hash = hashes.get(bits);
  if (hash !== undefined) return hash;
  const root = packageRoot();
  const moddable = join(root, 'moddable');
  const files = [
    ...filesUnder(join(moddable, 'xs')),
    ...filesUnder(join(moddable, 'modules/data')),
    ...filesUnder(join(root, 'xsnap-native/xsnap/sources')),
    join(root, 'xsnap-native/xsnap/makefiles/lin/xsnap-worker.mk'),
    ...filesUnder(NATIVE),
  ];
  const digest = createHash('sha256').update(JSON.stringify(makeArguments(bits).map((arg) => arg.replace(root, '<pkg>').replace(NATIVE, '<native>'))));
  for (const file of files) {
    digest.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  hash = digest.digest('hex').slice(0, 16);
  hashes.set(bits, hash);
  return hash;
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${output.slice(-4000)}`));
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

async function build(bits: XsBits, target: string): Promise<void> {
  if (process.platform !== 'linux') throw new Error(`xsnap-build: the ${bits}-bit xsnap variant is built with the package's Linux makefile only`);
  const scratch = `${dirname(target)}.build-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  try {
    const jobs = String(Math.max(1, cpus().length));
    const cwd = join(packageRoot(), 'xsnap-native/xsnap/makefiles/lin');
    try {
      await run('make', ['-j', jobs, ...makeArguments(bits), `BUILD_DIR=${scratch}`], cwd);
    } catch (error) {
      const hint = bits === 32 ? ' (the 32-bit variant needs a multilib gcc: apt-get install -y gcc-multilib)' : '';
      throw new Error(`xsnap-build: building the ${bits}-bit xsnap-worker failed${hint}: ${(error as Error).message}`);
    }
    mkdirSync(dirname(target), { recursive: true });
    renameSync(join(scratch, 'bin/lin/release/xsnap-worker'), target);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const pending = new Map<XsBits, Promise<string>>();

/** The path of the `bits` variant of xsnap-worker, built first if this machine has none yet. */
export function xsnapVariant(bits: XsBits): Promise<string> {
  let path = pending.get(bits);
  if (path === undefined) {
    path = ensure(bits);
    pending.set(bits, path);
    path.catch(() => pending.delete(bits));
  }
  return path;
}

async function ensure(bits: XsBits): Promise<string> {
  const name = `${bits}-${sourceHash(bits)}`;
  const target = join(CACHE, name, 'xsnap-worker');
  const lock = join(CACHE, `${name}.lock`);
  for (;;) {
    if (existsSync(target)) return target;
    mkdirSync(CACHE, { recursive: true });
    let owner = false;
    try {
      mkdirSync(lock);
      owner = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (owner) {
      try {
        writeFileSync(join(lock, 'pid'), String(process.pid));
        if (!existsSync(target)) await build(bits, target);
        return target;
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    }
    // Someone else builds. Take over a lock whose builder died (its pid is gone, or it never wrote
    // one within a minute).
    let pid = Number.NaN;
    try {
      pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    } catch {
      // not written yet
    }
    const age = (() => {
      try {
        return Date.now() - statSync(lock).mtimeMs;
      } catch {
        return 0;
      }
    })();
    if ((Number.isInteger(pid) && !pidAlive(pid)) || (Number.isNaN(pid) && age > 60_000)) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    await sleep(500);
  }
}
