// The `manifest` and `manifest-augment` entries: `sha256sum` lines, "<64 hex>  <name>\n"
// (research/mender-protocol.md §1.3, parsed as Go's artifact/checksum.go ReadRaw does).
import { fromHex, fromUtf8 } from '../../base/bytes.ts';
import { formatError } from '../../base/errors.ts';

export interface ManifestLine {
  readonly name: string;
  readonly sha256: Uint8Array;
}

const LINE = /^([0-9a-f]{64}) {2}(\S+)$/;

/**
 * Parses manifest text into lines in file order. As in Go: lines split on "\n", a final line
 * without "\n" is ignored, blank lines are skipped, each line is trimmed; names must be unique
 * across `seen` (the manifest's names when parsing manifest-augment).
 */
export function parseManifest(bytes: Uint8Array, entry: string, seen: ReadonlySet<string> = new Set()): ManifestLine[] {
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    throw formatError(`${entry}: not UTF-8 text`);
  }
  const lines = text.split('\n');
  lines.pop(); // the part after the last "\n": empty for a well-formed manifest, ignored otherwise (Go)
  const out: ManifestLine[] = [];
  const names = new Set(seen);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const match = LINE.exec(line);
    if (!match) {
      throw formatError(`${entry} line ${index + 1}: expected "<64 lowercase hex>  <name>", got ${JSON.stringify(line.slice(0, 100))}`);
    }
    const name = match[2]!;
    if (names.has(name)) throw formatError(`${entry} line ${index + 1}: "${name}" is listed twice`);
    names.add(name);
    out.push({ name, sha256: fromHex(match[1]!) });
  });
  return out;
}
