// Builds and signs MCUboot images the way imgtool 2.4 (`imgtool sign`) lays them out, for tests and
// the demo. Node only: signs with node:crypto. Layout: ../shared/research/mcuboot-espidf-delta.md §1.
import { createHash, createPrivateKey, createPublicKey, sign, constants, type KeyObject } from 'node:crypto';
import { concatBytes } from '../base/bytes.ts';
import {
  IMAGE_HEADER_BYTES,
  IMAGE_MAGIC,
  TLV_ECDSA_SIG,
  TLV_ED25519,
  TLV_INFO_MAGIC,
  TLV_KEYHASH,
  TLV_PROT_INFO_MAGIC,
  TLV_RSA2048_PSS,
  TLV_SHA256,
} from '../platform/mcuboot-image.ts';
import { bootMagic, trailerLayout } from '../platform/mcuboot-trailer.ts';

export interface BuildMcubootImageOptions {
  /** "major.minor.revision+build", build optional ("1.2.3" = "1.2.3+0"). */
  version: string;
  payload: Uint8Array;
  /** PEM private key: ed25519, EC P-256 or RSA 2048. Without it the image carries only SHA256. */
  privateKeyPem?: string;
  /** Header size including the padding after the 32-byte header; 0x200 by default. */
  headerSize?: number;
  /** Flash write alignment (imgtool --align); BOOT_MAX_ALIGN is max(8, align). 8 by default. */
  align?: number;
  /** Pad to `slotBytes` with a trailer carrying the magic (imgtool --pad). */
  pad?: boolean;
  slotBytes?: number;
  /** Mark the image confirmed (image_ok = 0x01 in the trailer); implies pad (imgtool --confirm). */
  confirm?: boolean;
  /** TLVs for the protected area, in order (imgtool --custom-tlv and friends). */
  protectedTlvs?: { type: number; value: Uint8Array }[];
}

const DEFAULT_HEADER_BYTES = 0x200;
const IMGTOOL_MAX_SECTORS = 128; // imgtool --max-sectors default: sizes the trailer it leaves room for

export function buildMcubootImage(options: BuildMcubootImageOptions): Uint8Array {
  const { payload } = options;
  const headerSize = options.headerSize ?? DEFAULT_HEADER_BYTES;
  if (!Number.isInteger(headerSize) || headerSize < IMAGE_HEADER_BYTES || headerSize > 0xffff) {
    throw new RangeError(`"headerSize" expected ${IMAGE_HEADER_BYTES}..65535, got ${headerSize}`);
  }
  const version = parseVersion(options.version);

  const protectedArea = tlvArea(TLV_PROT_INFO_MAGIC, options.protectedTlvs ?? [], true);
  // imgtool --pad-header pads with its erased value, 0xff (the vectors agree; index.json's
  // "header bytes are zero" does not match their bytes).
  const header = new Uint8Array(headerSize).fill(0xff);
  header.fill(0, 0, IMAGE_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, IMAGE_MAGIC, true);
  view.setUint32(4, 0, true); // ih_load_addr
  view.setUint16(8, headerSize, true);
  view.setUint16(10, protectedArea.length, true);
  view.setUint32(12, payload.length, true);
  view.setUint32(16, 0, true); // ih_flags
  header[20] = version.major;
  header[21] = version.minor;
  view.setUint16(22, version.revision, true);
  view.setUint32(24, version.build, true);

  const hashed = concatBytes(header, payload, protectedArea);
  const digest = new Uint8Array(createHash('sha256').update(hashed).digest());
  const tlvs: { type: number; value: Uint8Array }[] = [{ type: TLV_SHA256, value: digest }];
  if (options.privateKeyPem !== undefined) {
    const key = createPrivateKey(options.privateKeyPem);
    const signer = signerFor(key);
    tlvs.push({ type: TLV_KEYHASH, value: new Uint8Array(createHash('sha256').update(signer.publicBytes).digest()) });
    tlvs.push({ type: signer.tlv, value: signer.sign(hashed, digest) });
  }
  const image = concatBytes(hashed, tlvArea(TLV_INFO_MAGIC, tlvs, false));

  if (!options.pad && !options.confirm) return image;
  return padToSlot(image, options);
}

function parseVersion(text: string): { major: number; minor: number; revision: number; build: number } {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:\+(\d+))?$/.exec(text);
  const fields = match === null ? undefined : { major: +match[1]!, minor: +match[2]!, revision: +match[3]!, build: +(match[4] ?? 0) };
  if (fields === undefined || fields.major > 0xff || fields.minor > 0xff || fields.revision > 0xffff || fields.build > 0xffffffff) {
    throw new TypeError(`"version" expected "major.minor.revision+build" within u8.u8.u16+u32, got ${JSON.stringify(text)}`);
  }
  return fields;
}

/** image_tlv_info then the TLVs; it_tlv_tot includes the 4-byte info. */
function tlvArea(magic: number, tlvs: { type: number; value: Uint8Array }[], omitWhenEmpty: boolean): Uint8Array {
  if (omitWhenEmpty && tlvs.length === 0) return new Uint8Array(0);
  const parts = tlvs.map(({ type, value }) => {
    if (!Number.isInteger(type) || type < 0 || type > 0xffff || value.length > 0xffff) {
      throw new RangeError(`TLV type ${type}: expected a u16 type and at most 65535 bytes, got ${value.length}`);
    }
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint16(0, type, true);
    new DataView(head.buffer).setUint16(2, value.length, true);
    return concatBytes(head, value);
  });
  const body = concatBytes(...parts);
  const info = new Uint8Array(4);
  new DataView(info.buffer).setUint16(0, magic, true);
  new DataView(info.buffer).setUint16(2, body.length + 4, true);
  if (body.length + 4 > 0xffff) throw new RangeError(`TLV area of ${body.length + 4} bytes does not fit it_tlv_tot`);
  return concatBytes(info, body);
}

interface ImageSigner {
  tlv: number;
  /** The key as MCUboot hashes it for KEYHASH (imgtool get_public_bytes). */
  publicBytes: Uint8Array;
  sign(hashed: Uint8Array, digest: Uint8Array): Uint8Array;
}

function signerFor(key: KeyObject): ImageSigner {
  const publicKey = createPublicKey(key);
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ed25519') {
    // imgtool signs the 32-byte SHA-256 digest with Ed25519, not the image.
    return { tlv: TLV_ED25519, publicBytes: spki, sign: (_hashed, digest) => new Uint8Array(sign(null, digest, key)) };
  }
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') {
    // ECDSA-SHA256 over the hashed region = ECDSA over its digest; DER-encoded (r, s).
    return { tlv: TLV_ECDSA_SIG, publicBytes: spki, sign: (hashed) => new Uint8Array(sign('sha256', hashed, key)) };
  }
  if (key.asymmetricKeyType === 'rsa' && details.modulusLength === 2048) {
    const pkcs1 = new Uint8Array(publicKey.export({ type: 'pkcs1', format: 'der' }));
    return {
      tlv: TLV_RSA2048_PSS,
      publicBytes: pkcs1,
      sign: (hashed) => new Uint8Array(sign('sha256', hashed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })),
    };
  }
  const what = key.asymmetricKeyType === 'ec' ? `ec ${details.namedCurve}` : key.asymmetricKeyType === 'rsa' ? `rsa ${details.modulusLength}` : key.asymmetricKeyType;
  throw new TypeError(`"privateKeyPem" expected an ed25519, EC P-256 or RSA 2048 key, got ${what}`);
}

/** imgtool pad_to: 0xff up to the slot size, the magic at the end, image_ok = 0x01 for --confirm. */
function padToSlot(image: Uint8Array, options: BuildMcubootImageOptions): Uint8Array {
  const { slotBytes } = options;
  if (slotBytes === undefined) throw new TypeError('"slotBytes" is required with pad or confirm');
  const align = options.align ?? 8;
  const layout = trailerLayout({ slotBytes, writeGranule: align, maxImageSectors: IMGTOOL_MAX_SECTORS });
  if (image.length + layout.trailerBytes > slotBytes) {
    throw new RangeError(`image of ${image.length} bytes plus a ${layout.trailerBytes}-byte trailer does not fit the ${slotBytes}-byte slot`);
  }
  const slot = new Uint8Array(slotBytes).fill(0xff);
  slot.set(image);
  slot.set(bootMagic(layout.maxAlign), layout.magicOffset);
  if (options.confirm) slot[layout.imageOkOffset] = 0x01;
  return slot;
}
