// What the server records about an uploaded artifact (Mender's image meta): name, device types,
// provides/depends, payload types, files. The artifact is checked on upload as Mender does.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { ArtifactPayload } from './model.ts';

export interface ArtifactFacts {
  version: number;
  name: string;
  deviceTypes: string[];
  provides: Record<string, string>;
  depends: Record<string, string | string[]>;
  signed: boolean;
  payloads: ArtifactPayload[];
}

// TEMPORARY (replace with core/artifact/artifact-reader.ts once it lands): a minimal read of the
// tar head — version, manifest, manifest.sig, header.tar(.gz) — without checking payload checksums.
export function readArtifactFacts(bytes: Uint8Array): ArtifactFacts {
  const entries = new Map<string, Uint8Array>();
  const order: string[] = [];
  let at = 0;
  while (at + 512 <= bytes.length) {
    const block = bytes.subarray(at, at + 512);
    if (block.every((b) => b === 0)) break;
    const name = cString(block.subarray(0, 100));
    const size = parseInt(cString(block.subarray(124, 136)).trim() || '0', 8);
    if (!Number.isFinite(size) || at + 512 + size > bytes.length) throw new Error(`tar header at byte ${at}: entry "${name}" size ${size} runs past the end (${bytes.length} bytes)`);
    order.push(name);
    if (!name.startsWith('data/')) entries.set(name, bytes.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  if (order[0] !== 'version') throw new Error(`first tar entry: expected "version", got ${JSON.stringify(order[0])}`);
  const version = JSON.parse(Buffer.from(entries.get('version')!).toString('utf8')) as { format: string; version: number };
  if (version.format !== 'mender' || version.version !== 3) throw new Error(`version: expected {"format":"mender","version":3}, got ${JSON.stringify(version)}`);
  const headerName = order.find((n) => n.startsWith('header.tar'));
  if (headerName === undefined) throw new Error('no header.tar entry');
  const headerRaw = entries.get(headerName)!;
  const manifest = Buffer.from(entries.get('manifest') ?? new Uint8Array()).toString('utf8');
  const sums = new Map(manifest.split('\n').filter(Boolean).map((line) => line.split('  ').reverse() as [string, string]));
  const headerSum = createHash('sha256').update(headerRaw).digest('hex');
  if (sums.get(headerName) !== headerSum) throw new Error(`manifest entry "${headerName}": expected sha256 ${sums.get(headerName)}, got ${headerSum}`);
  const header = headerName.endsWith('.gz') ? gunzipSync(headerRaw) : headerName === 'header.tar' ? headerRaw : undefined;
  if (header === undefined) throw new Error(`${headerName}: unsupported compression`);
  const headerEntries = new Map<string, Uint8Array>();
  for (let h = 0; h + 512 <= header.length; ) {
    const block = header.subarray(h, h + 512);
    if (block.every((b) => b === 0)) break;
    const name = cString(block.subarray(0, 100));
    const size = parseInt(cString(block.subarray(124, 136)).trim() || '0', 8);
    headerEntries.set(name, header.subarray(h + 512, h + 512 + size));
    h += 512 + Math.ceil(size / 512) * 512;
  }
  const json = (name: string): Record<string, unknown> | undefined => {
    const data = headerEntries.get(name);
    return data === undefined || data.length === 0 ? undefined : (JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>);
  };
  const info = json('header-info') as {
    payloads: { type: string | null }[];
    artifact_provides: { artifact_name: string } & Record<string, string>;
    artifact_depends: { device_type: string[] } & Record<string, string | string[]>;
  };
  const payloads: ArtifactPayload[] = info.payloads.map((p, index) => {
    const dir = `headers/${String(index).padStart(4, '0')}`;
    const typeInfo = (json(`${dir}/type-info`) ?? {}) as { artifact_provides?: Record<string, string>; artifact_depends?: Record<string, string | string[]>; clears_artifact_provides?: string[] };
    const prefix = `data/${String(index).padStart(4, '0')}/`;
    return {
      type: p.type,
      provides: typeInfo.artifact_provides ?? {},
      depends: typeInfo.artifact_depends ?? {},
      clearsProvides: typeInfo.clears_artifact_provides ?? [],
      metaData: json(`${dir}/meta-data`) ?? null,
      files: [...sums].filter(([n]) => n.startsWith(prefix)).map(([n, sum]) => ({ name: n.slice(prefix.length), size: 0, checksum: sum })),
    };
  });
  const { device_type, ...depends } = info.artifact_depends;
  return {
    version: 3,
    name: info.artifact_provides.artifact_name,
    deviceTypes: device_type,
    provides: info.artifact_provides,
    depends,
    signed: order.includes('manifest.sig'),
    payloads,
  };
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end < 0 ? bytes : bytes.subarray(0, end)).toString('utf8');
}
