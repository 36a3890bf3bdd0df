// Test helper: one entry of a plain ustar archive by name (fixtures only; the real reader is core/artifact).
export function tarEntry(archive: Uint8Array, name: string): Uint8Array {
  for (let at = 0; at + 512 <= archive.length; ) {
    const header = archive.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const entryName = new TextDecoder().decode(header.subarray(0, 100)).replace(/\0.*$/s, '');
    const size = parseInt(new TextDecoder().decode(header.subarray(124, 136)).replace(/\0.*$/s, '').trim(), 8);
    if (entryName === name) return archive.slice(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`no tar entry ${name}`);
}
