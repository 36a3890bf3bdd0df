// The dev server's signing keys (device JWTs, pre-signed download links) in a file of their own:
// DATA/secrets/server-keys.json, mode 0600 in a 0700 directory. Whoever reads them can forge a
// token for any device, so they are kept out of the general journal (which tests, backups and
// people read) and the server refuses to start when the file or its directory is open to others.
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ServerSecrets } from './model.ts';
import { writeFileDurably } from './durable-file.ts';

export const SECRETS_DIR = 'secrets';
export const SECRETS_FILE = 'server-keys.json';

/**
 * The keys from DATA/secrets/server-keys.json, made on first start. `legacy` (the keys an older
 * server kept in its journal) is moved there, so tokens and links issued before stay valid.
 */
export function loadOrCreateSecrets(dataDir: string, legacy?: ServerSecrets): ServerSecrets {
  const dir = join(dataDir, SECRETS_DIR);
  const path = join(dir, SECRETS_FILE);
  if (!existsSync(dir)) {
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o700); // whatever the umask left
  }
  checkPrivate(dir, 'directory', 0o700);
  if (existsSync(path)) {
    checkPrivate(path, 'file', 0o600);
    return parseSecrets(path, readFileSync(path, 'utf8'));
  }
  const secrets: ServerSecrets = legacy ?? { id: 'secrets', jwtKey: randomBytes(32).toString('hex'), linkKey: randomBytes(32).toString('hex') };
  writeFileDurably(path, JSON.stringify({ jwtKey: secrets.jwtKey, linkKey: secrets.linkKey }) + '\n', 0o600);
  return secrets;
}

/** Refuses a path open to group or others, a symlink, or one owned by another user. */
function checkPrivate(path: string, kind: 'file' | 'directory', wanted: number): void {
  if (process.platform === 'win32') return; // no POSIX modes to check
  const stat = lstatSync(path);
  if (stat.isSymbolicLink() || (kind === 'directory' ? !stat.isDirectory() : !stat.isFile())) {
    throw new Error(`${path}: expected a ${kind} (not a symbolic link) holding the server's signing keys`);
  }
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `${path} has mode ${octal(mode)}: the server's signing keys must be private (${kind} mode ${octal(wanted)}); ` +
        `run: chmod ${octal(wanted)} ${path}`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) throw new Error(`${path} is owned by uid ${stat.uid}, not by this user (uid ${uid})`);
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

function parseSecrets(path: string, text: string): ServerSecrets {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not JSON (${(error as Error).message})`);
  }
  const { jwtKey, linkKey } = (value ?? {}) as Record<string, unknown>;
  for (const [name, key] of [['jwtKey', jwtKey], ['linkKey', linkKey]] as const) {
    if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) throw new Error(`${path}: "${name}" must be 64 hex digits`);
  }
  return { id: 'secrets', jwtKey: jwtKey as string, linkKey: linkKey as string };
}
