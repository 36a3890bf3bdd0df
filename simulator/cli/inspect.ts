// `ota-mcu inspect ARTIFACT [--key PUBLIC.pem] [--json]`: streams the file through the artifact
// reader (structure, every checksum, the signature) and prints its facts.
import { open } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createArtifactReader } from '../../core/artifact/artifact-reader.ts';
import type { ArtifactSummary, PayloadSink } from '../../core/artifact/types.ts';
import { isOtaError } from '../../base/errors.ts';
import { toHex } from '../../base/bytes.ts';
import type { PublicKey, Verifier } from '../../platform/verifier.ts';
import { sha256Node } from '../digest-node.ts';
import { inflateNode } from '../inflate-node.ts';
import { readPublicKeyFlag } from './key-flag.ts';

const USAGE = 'usage: ota-mcu inspect ARTIFACT [--key PUBLIC.pem] [--json]\n';
// 1 MiB reads: the reader's own work per write() is ~2.5 µs, 6% of node:crypto's SHA-256 over a
// 64 KiB write but 1% over 1 MiB; and a sixteenth of the reads through libuv's thread pool.
export const READ_CHUNK_BYTES = 1024 * 1024;

type Signature = 'valid' | 'invalid' | 'unsigned' | 'not-checked';

/** The `--json` shape (a public interface: field names and order as documented). */
export interface InspectJson {
  format: 'mender';
  version: number;
  artifact_name: string;
  device_types: string[];
  compression: 'none' | 'gzip';
  signature: Signature;
  provides: Record<string, unknown>;
  depends: Record<string, unknown>;
  payloads: {
    type: string;
    provides: Record<string, unknown>;
    depends: Record<string, unknown>;
    clears_provides: string[];
    meta_data: Record<string, unknown> | null;
    files: { name: string; size: number; sha256: string }[];
  }[];
}

export async function run(argv: string[]): Promise<number> {
  let json = false;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { key: { type: 'string', short: 'k' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new Error(`expected one ARTIFACT, got ${positionals.length}`);
    json = values.json ?? false;
    const path = positionals[0]!;
    const key = values.key === undefined ? undefined : readPublicKeyFlag('--key', values.key);

    let summary: ArtifactSummary;
    let signature: Signature;
    let failure: string | undefined;
    try {
      summary = await readArtifactFile(path, key);
      signature = summary.signature;
    } catch (error) {
      // A bad or missing signature under --key: read again without the key so the facts can still
      // be shown, marked as such; the exit code stays 1.
      const code = isOtaError(error, 'signature-invalid') ? 'invalid' : isOtaError(error, 'signature-missing') ? 'unsigned' : undefined;
      if (key === undefined || code === undefined) throw error;
      failure = describe(error);
      try {
        summary = await readArtifactFile(path, undefined);
      } catch {
        throw error;
      }
      signature = code;
    }

    const facts = toJson(summary, signature);
    process.stdout.write(json ? `${JSON.stringify(facts)}\n` : humanSummary(facts));
    if (failure !== undefined) {
      process.stderr.write(`ota-mcu inspect: ${failure}\n`);
      return 1;
    }
    return 0;
  } catch (error) {
    process.stderr.write(`ota-mcu inspect: ${describe(error)}\n`);
    return 1;
  }
}

/**
 * platform/verifier-noble.ts, loaded on first use: only a signature checked under --key needs it,
 * and @noble/curves takes ~40 ms to load, half the CLI's start.
 */
const verifierNobleOnDemand: Verifier = {
  async verify(scheme, key, signed, signature) {
    const { verifierNoble } = await import('../../platform/verifier-noble.ts');
    return verifierNoble.verify(scheme, key, signed, signature);
  },
};

/**
 * What inspect reads with on a host: node:crypto's SHA-256 (OpenSSL, SHA-NI where the CPU has it)
 * and node:zlib's inflate, about as fast as mender-artifact's Go; a board uses its own.
 */
export const INSPECT_PLATFORM = { sha256: sha256Node, inflate: inflateNode, verifier: verifierNobleOnDemand } as const;

/**
 * Streams the file through the reader in 1 MiB reads; the payload bytes go nowhere. Two buffers:
 * the next read runs in libuv's thread pool while the reader hashes the current one.
 */
export async function readArtifactFile(path: string, key: PublicKey | undefined): Promise<ArtifactSummary> {
  const sink: PayloadSink = { open() {}, write() {}, close() {}, discard() {} };
  const reader = createArtifactReader({ ...INSPECT_PLATFORM, sink, ...(key === undefined ? {} : { key }) });
  const file = await open(path, 'r');
  const buffers = [new Uint8Array(READ_CHUNK_BYTES), new Uint8Array(READ_CHUNK_BYTES)];
  let next = file.read(buffers[0]!, 0, READ_CHUNK_BYTES, null);
  try {
    for (let turn = 1; ; turn++) {
      const { bytesRead, buffer } = await next;
      if (bytesRead === 0) break;
      next = file.read(buffers[turn % 2]!, 0, READ_CHUNK_BYTES, null); // the other buffer: write() is done with it
      await reader.write(buffer.subarray(0, bytesRead));
    }
  } finally {
    await next.catch(() => undefined); // a read still running when the reader failed
    await file.close();
  }
  return reader.end();
}

function describe(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  const line = message.split('\n')[0]!;
  return isOtaError(error) ? `${error.code}: ${line}` : line;
}

function toJson(summary: ArtifactSummary, signature: Signature): InspectJson {
  return {
    format: 'mender',
    version: summary.version,
    artifact_name: summary.artifactName,
    device_types: [...summary.deviceTypes],
    compression: summary.compression,
    signature,
    provides: { ...summary.provides },
    depends: { ...summary.depends },
    payloads: summary.payloads.map((payload) => ({
      type: payload.type,
      provides: { ...payload.provides },
      depends: { ...payload.depends },
      clears_provides: [...payload.clearsProvides],
      meta_data: payload.metaData,
      files: summary.files
        .filter((file) => file.payloadIndex === payload.index)
        .map((file) => ({ name: file.name, size: file.size, sha256: toHex(file.sha256) })),
    })),
  };
}

function humanSummary(facts: InspectJson): string {
  const map = (m: Record<string, unknown>) => {
    const entries = Object.entries(m);
    return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`).join(', ');
  };
  const lines = [
    `${facts.artifact_name}: mender artifact v${facts.version}, compression ${facts.compression}`,
    `  signature:    ${facts.signature}`,
    `  device types: ${facts.device_types.join(', ')}`,
    `  provides:     ${map(facts.provides)}`,
    `  depends:      ${map(facts.depends)}`,
  ];
  facts.payloads.forEach((payload, i) => {
    lines.push(`  payload ${i}: ${payload.type}`);
    lines.push(`    provides:  ${map(payload.provides)}`);
    lines.push(`    depends:   ${map(payload.depends)}`);
    lines.push(`    clears:    ${payload.clears_provides.length === 0 ? '-' : payload.clears_provides.join(', ')}`);
    lines.push(`    meta-data: ${payload.meta_data === null ? '-' : JSON.stringify(payload.meta_data)}`);
    for (const file of payload.files) lines.push(`    ${file.name}  ${file.size} bytes  sha256 ${file.sha256}`);
  });
  return `${lines.join('\n')}\n`;
}
