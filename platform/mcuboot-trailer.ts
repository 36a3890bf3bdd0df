// The MCUboot image trailer at the end of each slot: offsets for a BOOT_MAX_ALIGN, reads of the
// tri-state magic and flags, the single-cell writes bootutil_public.c makes, and the swap-type
// table. Facts: ../shared/research/mcuboot-espidf-delta.md §1.3-§1.5.
import { equalBytes, readU32LE, writeU32LE } from '../base/bytes.ts';
import type { Flash } from './flash.ts';

export type MagicState = 'good' | 'unset' | 'bad';
export type FlagState = 'set' | 'unset' | 'bad';
export type SwapType = 'none' | 'test' | 'perm' | 'revert';

const MAGIC_BYTES = 16;
const DEFAULT_MAX_ALIGN = 8;
const FLAG_SET = 0x01;
const STATE_COUNT = 3; // swap status records per sector (swap-scratch)

/** boot_img_magic for BOOT_MAX_ALIGN = 8. */
const MAGIC_ALIGN_8 = Uint8Array.of(0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80);
/** The 14 bytes that follow the u16 BOOT_MAX_ALIGN when it is not 8. */
const MAGIC_TAIL = Uint8Array.of(0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a);

const SWAP_TYPE_CODES: Record<Exclude<SwapType, 'none'>, number> = { test: 2, perm: 3, revert: 4 };

/** The 16-byte trailer magic for a BOOT_MAX_ALIGN. */
export function bootMagic(maxAlign: number): Uint8Array {
  if (maxAlign === DEFAULT_MAX_ALIGN) return MAGIC_ALIGN_8.slice();
  const magic = new Uint8Array(MAGIC_BYTES);
  magic[0] = maxAlign & 0xff;
  magic[1] = maxAlign >> 8;
  magic.set(MAGIC_TAIL, 2);
  return magic;
}

/** Where each trailer field lives in a slot; offsets are bytes from the slot start. */
export interface TrailerLayout {
  readonly slotBytes: number;
  /** BOOT_MAX_ALIGN: the cell size of the trailer fields. */
  readonly maxAlign: number;
  /** Flash write size W: each flag write is ALIGN_UP(1, W) bytes. */
  readonly writeGranule: number;
  readonly magicOffset: number;
  readonly imageOkOffset: number;
  readonly copyDoneOffset: number;
  readonly swapInfoOffset: number;
  readonly swapSizeOffset: number;
  /** Whole trailer, swap status area included (MCUboot's boot_trailer_sz for swap-scratch). */
  readonly trailerBytes: number;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;
const alignDown = (n: number, a: number): number => Math.floor(n / a) * a;

/**
 * The trailer layout for a slot. `maxAlign` defaults to max(8, writeGranule) as imgtool's
 * --max-align does; `maxImageSectors` (BOOT_MAX_IMG_SECTORS) sizes the swap status area.
 */
export function trailerLayout(options: { slotBytes: number; writeGranule: number; maxAlign?: number; maxImageSectors: number }): TrailerLayout {
  const { slotBytes, writeGranule, maxImageSectors } = options;
  const maxAlign = options.maxAlign ?? Math.max(DEFAULT_MAX_ALIGN, writeGranule);
  if (![8, 16, 32].includes(maxAlign)) throw new RangeError(`"maxAlign" expected 8, 16 or 32, got ${maxAlign}`);
  if (![1, 2, 4, 8, 16, 32].includes(writeGranule) || writeGranule > maxAlign) {
    throw new RangeError(`"writeGranule" expected a power of two up to maxAlign ${maxAlign}, got ${writeGranule}`);
  }
  if (!Number.isInteger(slotBytes) || slotBytes % maxAlign !== 0) {
    throw new RangeError(`"slotBytes" expected a multiple of ${maxAlign}, got ${slotBytes}`);
  }
  const magicOffset = slotBytes - MAGIC_BYTES;
  const imageOkOffset = alignDown(magicOffset - maxAlign, maxAlign);
  const copyDoneOffset = imageOkOffset - maxAlign;
  const swapInfoOffset = copyDoneOffset - maxAlign;
  const swapSizeOffset = swapInfoOffset - maxAlign;
  const trailerBytes = maxImageSectors * STATE_COUNT * writeGranule + 4 * maxAlign + alignUp(MAGIC_BYTES, maxAlign);
  if (trailerBytes > slotBytes) throw new RangeError(`trailer of ${trailerBytes} bytes does not fit a ${slotBytes}-byte slot`);
  return { slotBytes, maxAlign, writeGranule, magicOffset, imageOkOffset, copyDoneOffset, swapInfoOffset, swapSizeOffset, trailerBytes };
}

/** The layout MCUboot uses for a Flash region: W = its write granule, one status record set per sector. */
export function trailerLayoutFor(flash: Flash): TrailerLayout {
  return trailerLayout({ slotBytes: flash.byteLength, writeGranule: flash.writeGranule, maxImageSectors: flash.byteLength / flash.sectorBytes });
}

/** Bytes an image may use in a slot: everything below the first sector that holds trailer bytes. */
export function imageCapacity(layout: TrailerLayout, sectorBytes: number): number {
  return alignDown(layout.slotBytes - layout.trailerBytes, sectorBytes);
}

export interface TrailerState {
  readonly magic: MagicState;
  readonly imageOk: FlagState;
  readonly copyDone: FlagState;
  /** swap_info low nibble; 'none' when erased or > 4 (boot_read_swap_state). */
  readonly swapType: SwapType;
  readonly imageIndex: number;
  /** swap_size, or undefined when erased. */
  readonly swapSize: number | undefined;
}

/** Reads the trailer fields from the last `layout.slotBytes - layout.swapSizeOffset` bytes of a slot. */
export async function readTrailer(slot: Pick<Flash, 'read' | 'erasedByte'>, layout: TrailerLayout): Promise<TrailerState> {
  const tail = new Uint8Array(layout.slotBytes - layout.swapSizeOffset); // 48 (A=8) to 160 (A=32): swap_size cell to the end
  await slot.read(layout.swapSizeOffset, tail);
  return parseTrailer(tail, layout, slot.erasedByte);
}

/** The trailer fields from the slot's tail bytes (from swapSizeOffset to the end). */
export function parseTrailer(tail: Uint8Array, layout: TrailerLayout, erasedByte = 0xff): TrailerState {
  const base = layout.swapSizeOffset;
  if (tail.length !== layout.slotBytes - base) {
    throw new RangeError(`"tail" expected ${layout.slotBytes - base} bytes, got ${tail.length}`);
  }
  const magic = tail.subarray(layout.magicOffset - base);
  const magicState: MagicState = magic.every((b) => b === erasedByte) ? 'unset' : equalBytes(magic, bootMagic(layout.maxAlign)) ? 'good' : 'bad';
  const flag = (offset: number): FlagState => {
    const b = tail[offset - base]!;
    return b === erasedByte ? 'unset' : b === FLAG_SET ? 'set' : 'bad';
  };
  const swapInfo = tail[layout.swapInfoOffset - base]!;
  const type = swapInfo & 0x0f;
  const erasedInfo = swapInfo === erasedByte || type > 4;
  const swapType: SwapType = erasedInfo ? 'none' : type === 2 ? 'test' : type === 3 ? 'perm' : type === 4 ? 'revert' : 'none';
  const sizeBytes = tail.subarray(0, 4);
  return {
    magic: magicState,
    imageOk: flag(layout.imageOkOffset),
    copyDone: flag(layout.copyDoneOffset),
    swapType,
    imageIndex: erasedInfo ? 0 : swapInfo >> 4,
    swapSize: sizeBytes.every((b) => b === erasedByte) ? undefined : readU32LE(sizeBytes, 0),
  };
}

/** The magic: ALIGN_UP(16, A) bytes at ALIGN_DOWN(S-16, A), pad bytes erased (boot_write_magic). */
export async function writeMagic(slot: Flash, layout: TrailerLayout): Promise<void> {
  const cell = new Uint8Array(alignUp(MAGIC_BYTES, layout.maxAlign)).fill(slot.erasedByte); // 16 or 32
  cell.set(bootMagic(layout.maxAlign), cell.length - MAGIC_BYTES);
  await slot.write(alignDown(layout.magicOffset, layout.maxAlign), cell);
}

export async function writeImageOk(slot: Flash, layout: TrailerLayout): Promise<void> {
  await writeCell(slot, layout, layout.imageOkOffset, Uint8Array.of(FLAG_SET));
}

export async function writeCopyDone(slot: Flash, layout: TrailerLayout): Promise<void> {
  await writeCell(slot, layout, layout.copyDoneOffset, Uint8Array.of(FLAG_SET));
}

/** swap_info = (imageIndex << 4) | type. */
export async function writeSwapInfo(slot: Flash, layout: TrailerLayout, type: Exclude<SwapType, 'none'>, imageIndex = 0): Promise<void> {
  await writeCell(slot, layout, layout.swapInfoOffset, Uint8Array.of((imageIndex << 4) | SWAP_TYPE_CODES[type]));
}

export async function writeSwapSize(slot: Flash, layout: TrailerLayout, swapSize: number): Promise<void> {
  const value = new Uint8Array(4); // u32 LE
  writeU32LE(value, 0, swapSize);
  await writeCell(slot, layout, layout.swapSizeOffset, value);
}

/** One field write: ALIGN_UP(len, W) bytes, the value then the erased value (boot_write_trailer). */
async function writeCell(slot: Flash, layout: TrailerLayout, offset: number, value: Uint8Array): Promise<void> {
  const cell = new Uint8Array(alignUp(value.length, layout.writeGranule)).fill(slot.erasedByte); // W, or 4 rounded up to W
  cell.set(value);
  await slot.write(offset, cell);
}

/** The part of a trailer the swap-type table looks at. */
export type TrailerFlags = Pick<TrailerState, 'magic' | 'imageOk' | 'copyDone'>;

/**
 * boot_swap_tables[] as boot_swap_type_multi evaluates it, top to bottom, first match wins;
 * 'any' matches every value including bad. State I only exists in swap-offset builds.
 */
export function decideSwapType(primary: TrailerFlags, secondary: TrailerFlags, options?: { swapOffset?: boolean }): SwapType {
  if (options?.swapOffset && secondary.magic === 'good' && secondary.imageOk === 'unset' && secondary.copyDone === 'set') return 'revert'; // State I
  if (secondary.magic === 'good' && secondary.imageOk === 'unset') return 'test'; // State II
  if (secondary.magic === 'good' && secondary.imageOk === 'set') return 'perm'; // State III
  if (primary.magic === 'good' && primary.imageOk === 'unset' && primary.copyDone === 'set') return 'revert'; // State IV
  return 'none'; // State V
}
