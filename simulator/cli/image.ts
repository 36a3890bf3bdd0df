// `ota-mcu image IMAGE [--key PUBLIC.pem] [--json] [--align N]`: checks an MCUboot image as the
// bootloader would (header, SHA256 TLV, KEYHASH and signature under --key) and, when the file is
// padded to a slot, reads its trailer. Exit 0 only when valid (and signed by the key when given).
import { open } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isOtaError } from '../../base/errors.ts';
import { equalBytes } from '../../base/bytes.ts';
import { McubootImageVerifier, type McubootVerdict } from '../../platform/mcuboot-image.ts';
import { bootMagic, parseTrailer, trailerLayout, type FlagState } from '../../platform/mcuboot-trailer.ts';
import { sha256Noble } from '../../platform/digest-noble.ts';
import { verifierNoble } from '../../platform/verifier-noble.ts';
import type { PublicKey } from '../../platform/verifier.ts';
import { readPublicKeyFlag } from './key-flag.ts';

const USAGE = 'usage: ota-mcu image IMAGE [--key PUBLIC.pem] [--json] [--align N]\n';
const READ_CHUNK_BYTES = 64 * 1024;
const MAGIC_BYTES = 16;
const ALIGNS = [8, 16, 32]; // BOOT_MAX_ALIGN values a trailer magic can carry

/** The `--json` shape (a public interface: field names and order as documented). */
export interface ImageJson {
  version: string | null;
  header_size: number | null;
  image_size: number | null;
  protected_tlv_size: number | null;
  hash: 'valid' | 'invalid';
  signature: 'valid' | 'invalid' | 'absent' | 'not-checked';
  signature_type: 'ed25519' | 'ecdsa-p256' | 'rsa-2048' | null;
  trailer: { magic: boolean; image_ok: FlagState; copy_done: FlagState } | null;
}

export async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { key: { type: 'string', short: 'k' }, json: { type: 'boolean' }, align: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new Error(`expected one IMAGE, got ${positionals.length}`);
    const align = values.align === undefined ? undefined : Number(values.align);
    if (align !== undefined && ![1, 2, 4, 8, 16, 32].includes(align)) throw new Error(`--align expected 1, 2, 4, 8, 16 or 32, got ${values.align}`);
    const key = values.key === undefined ? undefined : readPublicKeyFlag('--key', values.key);
    const path = positionals[0]!;

    const { verdict, tail, fileBytes } = await checkImageFile(path, key);
    const facts = toJson(verdict, tail, fileBytes, align);
    process.stdout.write(values.json ? `${JSON.stringify(facts)}\n` : humanSummary(facts, key !== undefined));
    if (!verdict.valid) {
      process.stderr.write(`ota-mcu image: ${path}: ${verdict.problem}\n`);
      return 1;
    }
    return 0;
  } catch (error) {
    const message = ((error as Error)?.message ?? String(error)).split('\n')[0]!;
    process.stderr.write(`ota-mcu image: ${isOtaError(error) ? `${error.code}: ${message}` : message}\n`);
    return 1;
  }
}

/** Streams the file through the verifier; keeps the last 160 bytes (the largest trailer tail). */
async function checkImageFile(path: string, key: PublicKey | undefined): Promise<{ verdict: McubootVerdict; tail: Uint8Array; fileBytes: number }> {
  const verifier = new McubootImageVerifier({ sha256: sha256Noble, verifier: verifierNoble, ...(key === undefined ? {} : { key }) });
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const buffer = new Uint8Array(READ_CHUNK_BYTES); // the one read buffer
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      verifier.write(buffer.subarray(0, bytesRead));
    }
    const tail = new Uint8Array(Math.min(size, 5 * 32)); // swap_size cell to the end at BOOT_MAX_ALIGN 32
    await file.read(tail, 0, tail.length, size - tail.length);
    return { verdict: await verifier.end(), tail, fileBytes: size };
  } finally {
    await file.close();
  }
}

/**
 * The trailer, when the file runs past the image (padded to a slot). Its BOOT_MAX_ALIGN: --align
 * when given (max(8, N) as imgtool), else what the magic says (the A=8 magic, or one tagged with
 * its u16 alignment), else 8.
 */
function readFileTrailer(tail: Uint8Array, fileBytes: number, totalSize: number, align: number | undefined): ImageJson['trailer'] {
  if (fileBytes <= totalSize || tail.length < 5 * 8) return null;
  const magic = tail.subarray(tail.length - MAGIC_BYTES);
  const inferred = ALIGNS.find((a) => equalBytes(magic, bootMagic(a)));
  const maxAlign = align !== undefined ? Math.max(8, align) : (inferred ?? 8);
  if (fileBytes % maxAlign !== 0 || tail.length < 5 * maxAlign) return null;
  const layout = trailerLayout({ slotBytes: fileBytes, writeGranule: maxAlign, maxAlign, maxImageSectors: 0 });
  const state = parseTrailer(tail.subarray(tail.length - (fileBytes - layout.swapSizeOffset)), layout);
  return { magic: state.magic === 'good', image_ok: state.imageOk, copy_done: state.copyDone };
}

function toJson(verdict: McubootVerdict, tail: Uint8Array, fileBytes: number, align: number | undefined): ImageJson {
  const info = verdict.info;
  return {
    version: info?.version ?? null,
    header_size: info?.headerSize ?? null,
    image_size: info?.imageSize ?? null,
    protected_tlv_size: info?.protectedTlvSize ?? null,
    hash: verdict.hash,
    signature: verdict.signature,
    signature_type: verdict.signatureType,
    trailer: info === undefined || info.totalSize === 0 ? null : readFileTrailer(tail, fileBytes, info.totalSize, align),
  };
}

function humanSummary(facts: ImageJson, withKey: boolean): string {
  const signature = facts.signature_type === null ? facts.signature : `${facts.signature} (${facts.signature_type}${withKey ? '' : ', no --key'})`;
  const lines = [
    `${facts.version ?? '?'}: MCUboot image, header ${facts.header_size ?? '?'} bytes, payload ${facts.image_size ?? '?'} bytes, protected TLVs ${facts.protected_tlv_size ?? '?'} bytes`,
    `  hash:      ${facts.hash}`,
    `  signature: ${signature}`,
    `  trailer:   ${facts.trailer === null ? '-' : `magic ${facts.trailer.magic ? 'good' : 'not good'}, image_ok ${facts.trailer.image_ok}, copy_done ${facts.trailer.copy_done}`}`,
  ];
  return `${lines.join('\n')}\n`;
}

