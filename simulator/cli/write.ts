// `ota-mcu write module-image …`: the artifact writer behind mender-artifact's flag names.
import { closeSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { isObject } from '../../base/json.ts';
import { writeArtifactTo, type PayloadStream } from '../artifact-writer.ts';

const USAGE = `usage: ota-mcu write module-image -o OUT -n NAME -t DEVICE_TYPE [-t …] -T TYPE [-f FILE]…
    [-p|--provides K:V]… [-d|--depends K:V]… [--clears-provides GLOB]… [-m|--meta-data FILE]
    [-N|--artifact-name-depends NAME]… [-g|--provides-group G] [-G|--depends-groups G]…
    [--software-name N] [--software-version V] [--software-filesystem FS]
    [--no-default-software-version] [--no-default-clears-provides]
    [--compression none|gzip] [-k|--key PRIVATE.pem]
`;
const READ_CHUNK_BYTES = 64 * 1024;

export async function run(argv: string[]): Promise<number> {
  try {
    const [kind, ...rest] = argv;
    if (kind === '--help' || kind === '-h') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (kind !== 'module-image') throw new Error(`expected "module-image", got ${kind === undefined ? 'nothing' : JSON.stringify(kind)}`);
    writeModuleImage(rest);
    return 0;
  } catch (error) {
    process.stderr.write(`ota-mcu write: ${(error as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}

function writeModuleImage(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      'output-path': { type: 'string', short: 'o' },
      'artifact-name': { type: 'string', short: 'n' },
      'device-type': { type: 'string', short: 't', multiple: true },
      type: { type: 'string', short: 'T' },
      file: { type: 'string', short: 'f', multiple: true },
      provides: { type: 'string', short: 'p', multiple: true },
      depends: { type: 'string', short: 'd', multiple: true },
      'clears-provides': { type: 'string', multiple: true },
      'meta-data': { type: 'string', short: 'm' },
      'artifact-name-depends': { type: 'string', short: 'N', multiple: true },
      'provides-group': { type: 'string', short: 'g' },
      'depends-groups': { type: 'string', short: 'G', multiple: true },
      'software-name': { type: 'string' },
      'software-version': { type: 'string' },
      'software-filesystem': { type: 'string' },
      'no-default-software-version': { type: 'boolean' },
      'no-default-clears-provides': { type: 'boolean' },
      compression: { type: 'string' },
      key: { type: 'string', short: 'k' },
    },
  });
  const output = required(values['output-path'], '-o/--output-path');
  const compression = values.compression ?? 'gzip';
  if (compression !== 'none' && compression !== 'gzip') {
    throw new Error(
      `--compression "${compression}" is not supported: use none or gzip (a device cannot inflate lzma/xz with its 64 MiB dictionary, and zstd is not in mender-artifact 3.9)`,
    );
  }
  const files = (values.file ?? []).map(fileSource);
  const temp = `${output}.partial`;
  const fd = openSync(temp, 'w');
  try {
    writeArtifactTo(
      {
        artifactName: required(values['artifact-name'], '-n/--artifact-name'),
        deviceTypes: required(values['device-type'], '-t/--device-type'),
        payloadType: required(values.type, '-T/--type'),
        files,
        provides: keyValues(values.provides, '--provides'),
        depends: keyValues(values.depends, '--depends'),
        clearsProvides: values['clears-provides'],
        metaData: values['meta-data'] === undefined ? undefined : readMetaData(values['meta-data']),
        artifactNameDepends: values['artifact-name-depends'],
        providesGroup: values['provides-group'],
        dependsGroups: values['depends-groups'],
        softwareName: values['software-name'],
        softwareVersion: values['software-version'],
        softwareFilesystem: values['software-filesystem'],
        noDefaultSoftwareVersion: values['no-default-software-version'],
        noDefaultClearsProvides: values['no-default-clears-provides'],
        compression,
        signingKey: values.key === undefined ? undefined : readFileSync(values.key, 'utf8'),
      },
      (chunk) => {
        for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
      },
    );
    closeSync(fd);
    renameSync(temp, output); // no half-written artifact under the final name
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
}

function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new Error(`${flag} is required`);
  return value;
}

// "K:V", split at the first colon as mender-artifact does.
function keyValues(items: string[] | undefined, flag: string): Record<string, string> | undefined {
  if (items === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const item of items) {
    const colon = item.indexOf(':');
    if (colon <= 0) throw new Error(`${flag} expected KEY:VALUE, got ${JSON.stringify(item)}`);
    out[item.slice(0, colon)] = item.slice(colon + 1);
  }
  return out;
}

function readMetaData(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`--meta-data ${path}: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) {
    throw new Error(`--meta-data ${path}: expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`);
  }
  return parsed;
}

// Payload files are read in 64 KiB chunks on each of the writer's two passes, never whole.
function fileSource(path: string): PayloadStream {
  const stat = statSync(path);
  if (!stat.isFile()) throw new Error(`-f ${path}: not a regular file`);
  return {
    name: basename(path),
    size: stat.size,
    mode: stat.mode & 0o7777,
    mtime: Math.floor(stat.mtimeMs / 1000),
    chunks: function* () {
      const buffer = new Uint8Array(READ_CHUNK_BYTES); // one read buffer per pass
      const fd = openSync(path, 'r');
      try {
        for (;;) {
          const read = readSync(fd, buffer, 0, buffer.length, null);
          if (read === 0) return;
          yield buffer.subarray(0, read);
        }
      } finally {
        closeSync(fd);
      }
    },
  };
}
