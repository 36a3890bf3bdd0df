// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): the persisted-record check and the
// ESP-IDF otadata check. Small records only, so a table-driven byte loop is fine here.

let table: Uint32Array | undefined; // 1 KiB, built on first use (no top-level side effects on XS)

function crcTable(): Uint32Array {
  if (table) return table;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return (table = t);
}

/**
 * Raw reflected CRC-32 update with no final inversion: `crc32Update(0xffffffff, b) ^ 0xffffffff`
 * is the usual CRC-32 (zlib); ESP-IDF's `esp_rom_crc32_le` differs in where it inverts, so callers
 * that need it compose it from this one primitive.
 */
export function crc32Update(crc: number, bytes: Uint8Array): number {
  const t = crcTable();
  let c = crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** The usual CRC-32 (zlib, PNG, gzip). */
export function crc32(bytes: Uint8Array): number {
  return (crc32Update(0xffffffff, bytes) ^ 0xffffffff) >>> 0;
}
