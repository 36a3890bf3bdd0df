// Test helper: runs Debian's `mender-artifact read` and parses the facts it prints, so the reader's
// results can be compared with the reference implementation.
import { spawnSync } from 'node:child_process';

export interface MenderReadFacts {
  name: string;
  signature: string;
  deviceTypes: string[];
  providesGroup: string;
  dependsArtifacts: string[];
  dependsGroups: string[];
  payloads: {
    type: string;
    provides: Record<string, string>;
    depends: Record<string, string>;
    clearsProvides: string[];
    metaData: unknown;
    files: { name: string; size: number; checksum: string }[];
  }[];
}

function list(text: string): string[] {
  const inner = text.replace(/^'?\[/, '').replace(/\]'?$/, '').trim();
  return inner === '' ? [] : inner.split(/,\s*|\s+/).filter(Boolean);
}

export function menderArtifact(args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync('mender-artifact', args, { encoding: 'utf8' });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** `mender-artifact read [options] path`, parsed; throws when the tool fails. */
export function menderRead(path: string, options: string[] = []): MenderReadFacts {
  const { status, stdout, stderr } = menderArtifact(['read', ...options, path]);
  if (status !== 0) throw new Error(`mender-artifact read ${path} failed: ${stderr || stdout}`);
  return parseMenderRead(stdout);
}

/** The facts in what `mender-artifact read` prints. */
export function parseMenderRead(stdout: string): MenderReadFacts {
  const text = stdout.slice(stdout.indexOf('Mender artifact:'));
  const field = (label: string) => (new RegExp(`^\\s*${label}: ?(.*)$`, 'm').exec(text)?.[1] ?? '').trim();
  const facts: MenderReadFacts = {
    name: field('Name'),
    signature: field('Signature'),
    deviceTypes: list(field('Compatible devices')),
    providesGroup: field('Provides group'),
    dependsArtifacts: list(field('Depends on one of artifact\\(s\\)')),
    dependsGroups: list(field('Depends on one of group\\(s\\)')),
    payloads: [],
  };
  const updates = text.slice(text.indexOf('Updates:'));
  for (const block of updates.split(/^\s{4}\d+:$/m).slice(1)) {
    const lines = block.split('\n');
    const section = (label: string): string[] => {
      const start = lines.findIndex((l) => l.trim().startsWith(`${label}:`));
      if (start < 0 || lines[start]!.includes('Nothing')) return [];
      const out: string[] = [];
      for (let i = start + 1; i < lines.length && lines[i]!.startsWith('\t'); i++) out.push(lines[i]!.trim());
      return out;
    };
    const pairs = (label: string) => Object.fromEntries(section(label).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
    const type = (/^\s*Type:\s*(.*)$/m.exec(block)?.[1] ?? '').trim();
    const clears = /Clears Provides: (\[.*\])/.exec(block)?.[1];
    const meta = section('Metadata');
    const files: { name: string; size: number; checksum: string }[] = [];
    const fileRe = /name:\s+(\S+)\n\s+size:\s+(\d+)\n(?:\s+modified:.*\n)?\s+checksum:\s+([0-9a-f]+)/g;
    for (let m = fileRe.exec(block); m; m = fileRe.exec(block)) files.push({ name: m[1]!, size: Number(m[2]), checksum: m[3]! });
    facts.payloads.push({
      type: type === 'Empty type' ? '' : type,
      provides: pairs('Provides'),
      depends: pairs('Depends'),
      clearsProvides: clears ? (JSON.parse(clears) as string[]) : [],
      metaData: meta.length ? JSON.parse(meta.join('')) : null,
      files,
    });
  }
  return facts;
}
