// MCUboot image checks as bootutil_img_validate (image_validate.c) and bootutil_tlv_iter_* (tlv.c)
// do them, but streaming: the bytes are fed once, in order, and nothing image-sized is buffered.
// Facts: ../shared/research/mcuboot-espidf-delta.md §1.1-§1.2.
import { OtaError } from '../base/errors.ts';
import { equalBytes, readU16LE, readU32LE, toHex } from '../base/bytes.ts';
import { publicKeyToSpki, readDer } from './public-key.ts';
import type { Digest, Sha256Factory } from './digest.ts';
import type { PublicKey, SignatureScheme, Verifier } from './verifier.ts';

export const IMAGE_MAGIC = 0x96f3b83d;
export const IMAGE_HEADER_BYTES = 32;
export const TLV_INFO_MAGIC = 0x6907;
export const TLV_PROT_INFO_MAGIC = 0x6908;

export const TLV_KEYHASH = 0x01;
export const TLV_SHA256 = 0x10;
export const TLV_RSA2048_PSS = 0x20;
export const TLV_ECDSA_SIG = 0x22;
export const TLV_ED25519 = 0x24;
/** IMAGE_TLV_SEC_CNT: the image's security counter (u32), read from the protected area only, as MCUboot does. */
export const TLV_SEC_CNT = 0x50;

const FLAG_ENCRYPTED = 0x4 | 0x8; // ENCRYPTED_AES128 | ENCRYPTED_AES256
const FLAG_NON_BOOTABLE = 0x10;
const FLAG_COMPRESSED = 0x200 | 0x400 | 0x800; // LZMA1 | LZMA2 | ARM_THUMB_FLT

const TLV_HEAD_BYTES = 4; // image_tlv_info and image_tlv are both u16 + u16
const VALUE_BYTES = 256; // the largest TLV value we read: an RSA-2048 signature
const HASH_BYTES = 32;

export interface McubootImageInfo {
  version: string /* "1.2.3+4" */;
  headerSize: number;
  imageSize: number;
  protectedTlvSize: number;
  loadAddr: number;
  flags: number;
  /** header + image + all TLVs; 0 from parseMcubootHeader when its bytes stop before the TLV info. */
  totalSize: number;
}

export interface McubootVerdict {
  info?: McubootImageInfo;
  hash: 'valid' | 'invalid';
  signature: 'valid' | 'invalid' | 'absent' | 'not-checked';
  signatureType: 'ed25519' | 'ecdsa-p256' | 'rsa-2048' | null;
  keyHashMatches: boolean | null;
  /** First failed check, one line. */
  problem?: string;
  /** The protected IMAGE_TLV_SEC_CNT value, when the image carries one. */
  securityCounter?: number;
  /** What MCUboot would decide: hash valid and, when a key is configured, a valid signature by it. */
  valid: boolean;
}

type SignatureType = NonNullable<McubootVerdict['signatureType']>;

interface SignatureTlv {
  readonly type: SignatureType;
  readonly name: string;
  readonly scheme: SignatureScheme;
  lengthOk(n: number): boolean;
}

// Frozen, entries included: the XS linker copies a preloaded object that is not frozen into RAM
// (its "not frozen" warning).
const SIGNATURE_TLVS: Readonly<Record<number, SignatureTlv>> = Object.freeze({
  [TLV_ED25519]: Object.freeze<SignatureTlv>({ type: 'ed25519', name: 'ED25519', scheme: 'ed25519', lengthOk: (n) => n === 64 }),
  [TLV_ECDSA_SIG]: Object.freeze<SignatureTlv>({ type: 'ecdsa-p256', name: 'ECDSA_SIG', scheme: 'ecdsa-p256-sha256', lengthOk: (n) => n > 0 && n <= 128 }),
  [TLV_RSA2048_PSS]: Object.freeze<SignatureTlv>({ type: 'rsa-2048', name: 'RSA2048_PSS', scheme: 'rsa-pss-sha256', lengthOk: (n) => n === 256 }),
});

const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const hex16 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

/**
 * Reads the 32-byte header (and, when `bytes` reaches it, the TLV info to learn `totalSize`).
 * OtaError('image-invalid') naming the field when the magic or the header size is wrong.
 */
export function parseMcubootHeader(bytes: Uint8Array): McubootImageInfo {
  if (bytes.length < IMAGE_HEADER_BYTES) {
    throw new RangeError(`"bytes" expected at least ${IMAGE_HEADER_BYTES} bytes, got ${bytes.length}`);
  }
  const magic = readU32LE(bytes, 0);
  if (magic !== IMAGE_MAGIC) {
    throw new OtaError('image-invalid', `MCUboot header ih_magic: expected ${hex32(IMAGE_MAGIC)}, got ${hex32(magic)}`);
  }
  const headerSize = readU16LE(bytes, 8);
  if (headerSize < IMAGE_HEADER_BYTES) {
    throw new OtaError('image-invalid', `MCUboot header ih_hdr_size: expected at least ${IMAGE_HEADER_BYTES}, got ${headerSize}`);
  }
  const info: McubootImageInfo = {
    version: `${bytes[20]}.${bytes[21]}.${readU16LE(bytes, 22)}+${readU32LE(bytes, 24)}`,
    headerSize,
    imageSize: readU32LE(bytes, 12),
    protectedTlvSize: readU16LE(bytes, 10),
    loadAddr: readU32LE(bytes, 4),
    flags: readU32LE(bytes, 16),
    totalSize: 0,
  };
  const infoAt = info.headerSize + info.imageSize + info.protectedTlvSize;
  if (bytes.length >= infoAt + TLV_HEAD_BYTES && readU16LE(bytes, infoAt) === TLV_INFO_MAGIC) {
    info.totalSize = infoAt + readU16LE(bytes, infoAt + 2);
  }
  return info;
}

/**
 * The key's bytes as MCUboot stores and hashes them for KEYHASH (imgtool `get_public_bytes`):
 * SubjectPublicKeyInfo DER for Ed25519 and ECDSA, PKCS#1 RSAPublicKey DER for RSA.
 */
export function mcubootKeyBytes(key: PublicKey): Uint8Array {
  const spki = publicKeyToSpki(key);
  if (key.type !== 'rsa') return spki;
  // SPKI = SEQUENCE { AlgorithmIdentifier, BIT STRING { 0 unused bits, RSAPublicKey } }
  const outer = readDer(spki, 0);
  const algorithm = readDer(spki, outer.start, outer.end);
  const bits = readDer(spki, algorithm.end, outer.end);
  return spki.subarray(bits.start + 1, bits.end);
}

function expectedSignatureTlv(key: PublicKey): number {
  if (key.type === 'ed25519') return TLV_ED25519;
  if (key.type === 'ecdsa-p256') return TLV_ECDSA_SIG;
  if (key.bits === 2048) return TLV_RSA2048_PSS;
  throw new TypeError(`"key" expected ed25519, ecdsa-p256 or a 2048-bit rsa key, got rsa ${key.bits}`);
}

type Stage = 'header' | 'body' | 'info' | 'tlv-head' | 'tlv-value' | 'done' | 'stopped';

/** Streaming check of an image as MCUboot's bootutil_img_validate does: feed the bytes in order. */
export class McubootImageVerifier {
  readonly #verifier: Verifier | undefined;
  readonly #key: PublicKey | undefined;
  readonly #keyHash: Uint8Array | undefined; // 32: SHA-256 of mcubootKeyBytes(key)
  readonly #expectedSig: number | undefined; // the signature TLV type a bootloader built for `key` checks
  readonly #maxImageBytes: number;
  readonly #digest: Digest;
  readonly #head = new Uint8Array(IMAGE_HEADER_BYTES); // 32: the image header, then reused for TLV heads
  readonly #value = new Uint8Array(VALUE_BYTES); // 256: the TLV value being read
  readonly #signature = new Uint8Array(VALUE_BYTES); // 256: the signature to verify at end()

  #stage: Stage = 'header';
  #at = 0; // bytes seen
  #fill = 0; // bytes collected into #head or #value for the current item
  #info: McubootImageInfo | undefined;
  #hashEnd = IMAGE_HEADER_BYTES; // grows to hdr + img + prot once the header is read
  #computed: Uint8Array | undefined;
  #protEnd = 0; // end of the protected TLV area (0: none)
  #areaEnd = 0; // end of the TLV area being read
  #unprotectedSeen = false;
  #tlvType = 0;
  #tlvLength = 0;
  #tlvAt = 0; // offset of the current TLV's value
  #ended = false;

  #problem: string | undefined; // first failed check; once set, TLVs are still parsed but not judged
  #hashValid = false;
  #keyMatched = false; // MCUboot's key_id >= 0: set by a matching KEYHASH, used up by one signature
  #keyHashMatches: boolean | null = null;
  #signatureLength = 0;
  #signatureSkipped = false; // an expected-type signature was not preceded by a matching KEYHASH
  #signatureType: SignatureType | null = null;
  #otherSignature: string | undefined; // name of a signature TLV of another type than the key's
  #securityCounter: number | undefined; // the protected SEC_CNT TLV

  /**
   * `verifier` is needed only with a `key` (a hash-only check never verifies a signature).
   * `maxImageBytes`: the slot's capacity (MCUboot's bootutil_max_image_size); the TLV end must not pass it.
   */
  constructor(options: { sha256: Sha256Factory; verifier?: Verifier; key?: PublicKey; maxImageBytes?: number }) {
    if (options.key !== undefined && options.verifier === undefined) throw new TypeError('"verifier" is required with a "key"');
    this.#verifier = options.verifier;
    this.#key = options.key;
    this.#maxImageBytes = options.maxImageBytes ?? Infinity;
    this.#digest = options.sha256();
    if (options.key !== undefined) {
      this.#expectedSig = expectedSignatureTlv(options.key);
      const keyDigest = options.sha256();
      keyDigest.update(mcubootKeyBytes(options.key));
      this.#keyHash = keyDigest.digest();
    }
  }

  write(bytes: Uint8Array): void {
    if (this.#ended) throw new Error('McubootImageVerifier: write() after end()');
    let i = 0;
    while (i < bytes.length) {
      if (this.#stage === 'done' || this.#stage === 'stopped') {
        this.#at += bytes.length - i; // padding and trailer after the image, or an unreadable rest
        return;
      }
      const n = this.step(bytes, i);
      this.hashRange(bytes.subarray(i, i + n));
      i += n;
    }
  }

  /** After the last TLV: the verdict (never throws for a bad image; throws only on misuse). */
  async end(): Promise<McubootVerdict> {
    if (this.#ended) throw new Error('McubootImageVerifier: end() called twice');
    this.#ended = true;
    if (this.#stage !== 'done' && this.#stage !== 'stopped') {
      const end = this.#stage === 'header' ? IMAGE_HEADER_BYTES : this.#unprotectedSeen ? this.#areaEnd : undefined;
      this.fail(`image truncated: ${this.#at} bytes, ${end === undefined ? 'the TLV area is incomplete' : `expected ${end}`}`);
    }
    if (this.#problem === undefined && !this.#hashValid) this.fail('no SHA256 TLV: the image hash is mandatory');

    let signature: McubootVerdict['signature'];
    const sigName = this.#expectedSig === undefined ? '' : SIGNATURE_TLVS[this.#expectedSig]!.name;
    if (this.#key === undefined) {
      signature = this.#signatureType === null ? 'absent' : 'not-checked';
    } else if (this.#problem !== undefined) {
      // Validation stopped before the signature; a signature over a digest this image does not have
      // cannot be a valid signature of it.
      signature = this.#signatureType === null ? 'absent' : 'invalid';
    } else if (this.#signatureLength > 0) {
      const info = SIGNATURE_TLVS[this.#expectedSig!]!;
      const ok = await this.#verifier!.verify(info.scheme, this.#key, this.#computed!, this.#signature.subarray(0, this.#signatureLength));
      signature = ok ? 'valid' : 'invalid';
      if (!ok) this.fail(`${sigName} signature TLV does not verify with the ${this.#key.type} key`);
    } else if (this.#signatureSkipped) {
      signature = 'invalid';
      this.fail(`${sigName} signature skipped: ${this.#keyHashMatches === false ? 'KEYHASH does not match the key' : 'no KEYHASH TLV before it'}`);
    } else if (this.#otherSignature !== undefined) {
      signature = 'invalid';
      this.fail(`image is signed with ${this.#otherSignature}, but the ${this.#key.type} key needs a ${sigName} signature TLV`);
    } else {
      signature = 'absent';
      this.fail(`no ${sigName} signature TLV: the image is not signed`);
    }

    const hash = this.#hashValid ? 'valid' : 'invalid';
    const verdict: McubootVerdict = {
      hash,
      signature,
      signatureType: this.#signatureType,
      keyHashMatches: this.#keyHashMatches,
      valid: this.#problem === undefined,
    };
    if (this.#info !== undefined) verdict.info = this.#info;
    if (this.#problem !== undefined) verdict.problem = this.#problem;
    if (this.#securityCounter !== undefined) verdict.securityCounter = this.#securityCounter;
    return verdict;
  }

  private fail(problem: string): void {
    this.#problem ??= problem;
  }

  private stop(problem: string): void {
    this.fail(problem);
    this.#stage = 'stopped';
  }

  /** Hashes the part of `piece` (which starts at the current offset) that lies below hdr+img+prot. */
  private hashRange(piece: Uint8Array): void {
    const from = this.#at;
    this.#at += piece.length;
    if (from < this.#hashEnd) {
      this.#digest.update(piece.subarray(0, Math.min(piece.length, this.#hashEnd - from)));
      if (this.#at >= this.#hashEnd && this.#computed === undefined) {
        this.#computed = this.#digest.digest();
      }
    }
  }

  /** Consumes bytes of the current item from `bytes[i..]`; returns how many. */
  private step(bytes: Uint8Array, i: number): number {
    const available = bytes.length - i;
    switch (this.#stage) {
      case 'header': {
        const n = Math.min(available, IMAGE_HEADER_BYTES - this.#fill);
        this.#head.set(bytes.subarray(i, i + n), this.#fill);
        this.#fill += n;
        if (this.#fill === IMAGE_HEADER_BYTES) this.readHeader();
        return n;
      }
      case 'body': {
        const n = Math.min(available, this.tlvStart() - this.#at);
        if (this.#at + n === this.tlvStart()) this.beginHead('info');
        return n;
      }
      case 'info':
      case 'tlv-head': {
        const n = Math.min(available, TLV_HEAD_BYTES - this.#fill);
        this.#head.set(bytes.subarray(i, i + n), this.#fill);
        this.#fill += n;
        if (this.#fill === TLV_HEAD_BYTES) {
          const headEnd = this.#at + n; // #at advances after this step returns
          if (this.#stage === 'info') this.readInfo(headEnd);
          else this.readTlvHead(headEnd);
        }
        return n;
      }
      case 'tlv-value': {
        const n = Math.min(available, this.#tlvLength - this.#fill);
        if (this.#tlvLength <= VALUE_BYTES) this.#value.set(bytes.subarray(i, i + n), this.#fill);
        this.#fill += n;
        if (this.#fill === this.#tlvLength) this.endTlv(this.#at + n);
        return n;
      }
      default:
        return available;
    }
  }

  private tlvStart(): number {
    return this.#info!.headerSize + this.#info!.imageSize;
  }

  private readHeader(): void {
    let info: McubootImageInfo;
    try {
      info = parseMcubootHeader(this.#head);
    } catch (error) {
      if (!(error instanceof OtaError)) throw error;
      this.stop(error.message);
      return;
    }
    this.#info = info;
    this.#hashEnd = info.headerSize + info.imageSize + info.protectedTlvSize;
    if (info.flags & FLAG_NON_BOOTABLE) return this.stop(`MCUboot header ih_flags ${hex32(info.flags)}: NON_BOOTABLE is set`);
    if (info.flags & FLAG_ENCRYPTED) return this.stop(`MCUboot header ih_flags ${hex32(info.flags)}: encrypted images are not supported`);
    if (info.flags & FLAG_COMPRESSED) return this.stop(`MCUboot header ih_flags ${hex32(info.flags)}: compressed images are not supported`);
    if (this.#hashEnd >= this.#maxImageBytes) {
      return this.stop(`MCUboot header: ih_hdr_size + ih_img_size + ih_protect_tlv_size = ${this.#hashEnd} does not fit the slot's ${this.#maxImageBytes} bytes`);
    }
    if (info.headerSize === this.tlvStart()) this.beginHead('info');
    else this.#stage = 'body';
  }

  private beginHead(stage: 'info' | 'tlv-head'): void {
    this.#stage = stage;
    this.#fill = 0;
  }

  /** An image_tlv_info: the protected one (0x6908) first when ih_protect_tlv_size != 0, then 0x6907. */
  private readInfo(headEnd: number): void {
    const magic = readU16LE(this.#head, 0);
    const total = readU16LE(this.#head, 2);
    const at = headEnd - TLV_HEAD_BYTES;
    const prot = this.#info!.protectedTlvSize;
    if (!this.#unprotectedSeen && this.#protEnd === 0 && magic === TLV_PROT_INFO_MAGIC) {
      if (total !== prot || total < TLV_HEAD_BYTES) {
        return this.stop(`protected TLV info at byte ${at}: it_tlv_tot ${total} != ih_protect_tlv_size ${prot}`);
      }
      this.#protEnd = at + total;
      this.#areaEnd = this.#protEnd;
    } else {
      if (this.#protEnd === 0 && prot !== 0) {
        return this.stop(`TLV info at byte ${at}: expected protected magic ${hex16(TLV_PROT_INFO_MAGIC)} (ih_protect_tlv_size ${prot}), got ${hex16(magic)}`);
      }
      if (magic !== TLV_INFO_MAGIC) {
        return this.stop(`TLV info at byte ${at}: expected magic ${hex16(TLV_INFO_MAGIC)}, got ${hex16(magic)}`);
      }
      this.#unprotectedSeen = true;
      this.#areaEnd = this.tlvStart() + prot + total;
      this.#info!.totalSize = this.#areaEnd;
      if (total < TLV_HEAD_BYTES) return this.stop(`TLV info at byte ${at}: it_tlv_tot ${total} is smaller than the info itself`);
      if (this.#areaEnd > this.#maxImageBytes) {
        return this.stop(`TLV area ends at byte ${this.#areaEnd}, beyond the slot's ${this.#maxImageBytes} bytes for an image`);
      }
    }
    this.nextTlv(headEnd);
  }

  private nextTlv(at: number): void {
    if (at === this.#areaEnd) {
      if (this.#unprotectedSeen) this.#stage = 'done';
      else this.beginHead('info'); // the protected area ended: the unprotected info follows
      return;
    }
    if (this.#areaEnd - at < TLV_HEAD_BYTES) {
      return this.stop(`TLV area: ${this.#areaEnd - at} stray bytes at byte ${at}, before its end ${this.#areaEnd}`);
    }
    this.beginHead('tlv-head');
  }

  private readTlvHead(headEnd: number): void {
    this.#tlvType = readU16LE(this.#head, 0);
    this.#tlvLength = readU16LE(this.#head, 2);
    this.#tlvAt = headEnd;
    if (headEnd + this.#tlvLength > this.#areaEnd) {
      return this.stop(`TLV ${hex16(this.#tlvType)} at byte ${headEnd - TLV_HEAD_BYTES}: length ${this.#tlvLength} runs past the TLV area end ${this.#areaEnd}`);
    }
    this.#stage = 'tlv-value';
    this.#fill = 0;
    if (this.#tlvLength === 0) this.endTlv(headEnd);
  }

  /** One whole TLV, in image order: the switch in bootutil_img_validate. */
  private endTlv(end: number): void {
    const type = this.#tlvType;
    const length = this.#tlvLength;
    const value = this.#value.subarray(0, Math.min(length, VALUE_BYTES));
    const where = `TLV ${hex16(type)} at byte ${this.#tlvAt - TLV_HEAD_BYTES}`;
    const judged = this.#problem === undefined;
    const isProtected = !this.#unprotectedSeen;
    const signatureTlv = SIGNATURE_TLVS[type];

    if (isProtected && (type === TLV_SHA256 || type === TLV_KEYHASH || signatureTlv !== undefined)) {
      // imgtool never puts these in the protected area; judging them there would need the digest
      // before it is complete, i.e. a second pass.
      this.stop(`${where}: hash, KEYHASH and signature TLVs in the protected area are not supported`);
      return;
    }
    if (type === TLV_SEC_CNT && isProtected) {
      // bootutil_get_img_security_cnt: a u32 in the protected area; another length fails the image.
      if (length !== 4) return this.stopOrContinue(`${where}: SEC_CNT length expected 4, got ${length}`, end);
      this.#securityCounter = readU32LE(value, 0);
    } else if (type === TLV_SHA256 && judged) {
      if (length !== HASH_BYTES) return this.stopOrContinue(`${where}: SHA256 length expected ${HASH_BYTES}, got ${length}`, end);
      if (!equalBytes(value, this.#computed!)) {
        this.#hashValid = false;
        this.fail(`hash mismatch: SHA256 TLV ${toHex(value)}, computed ${toHex(this.#computed!)} over bytes [0, ${this.#hashEnd})`);
      } else {
        this.#hashValid = true;
      }
    } else if (type === TLV_KEYHASH && this.#keyHash !== undefined) {
      // Compared even after a failure: keyHashMatches is reported either way.
      const matches = length === HASH_BYTES && equalBytes(value, this.#keyHash);
      this.#keyHashMatches = matches;
      if (judged) this.#keyMatched = matches;
    } else if (signatureTlv !== undefined) {
      if (this.#expectedSig === undefined || type !== this.#expectedSig) {
        this.#signatureType ??= signatureTlv.type;
        this.#otherSignature ??= signatureTlv.name;
      } else {
        this.#signatureType = signatureTlv.type;
        if (judged) {
          if (!this.#keyMatched) {
            this.#signatureSkipped = true;
          } else if (!signatureTlv.lengthOk(length)) {
            this.fail(`${where}: ${signatureTlv.name} signature length ${length} is not valid`);
          } else {
            this.#signature.set(value);
            this.#signatureLength = length;
            this.#signatureSkipped = false;
          }
          this.#keyMatched = false;
        }
      }
    }
    this.nextTlv(end);
  }

  private stopOrContinue(problem: string, end: number): void {
    this.fail(problem);
    this.nextTlv(end);
  }
}
