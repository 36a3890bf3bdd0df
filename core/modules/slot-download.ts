// The download side of the image modules: streams one payload file into the inactive slot through
// BootControl's SlotWriter, and taps the same bytes (in order, also those read back after a
// resume) into the module's checks: the image header first, then a streaming verifier.
import type { BootControl, SlotWriter } from '../../platform/boot-control.ts';
import type { PayloadFile } from '../artifact/types.ts';
import { OtaError } from '../../base/errors.ts';
import type { ModuleDownload } from './update-module.ts';

const READ_BACK_BYTES = 4096; // re-checking after a reset reads the slot in 4 KiB pieces

export interface SlotDownloadOptions {
  readonly bootControl: BootControl;
  /** Payload type, for messages. */
  readonly payloadType: string;
  /** How many bytes of the image start `onHeader` needs. */
  readonly headerBytes: number;
  /** Checks the image start before more of it is stored; throws OtaError naming the problem. */
  onHeader(first: Uint8Array, file: PayloadFile, slotBytes: number): void;
  /** Sees every byte of the file once, in order (a streaming image verifier). */
  tap?(bytes: Uint8Array): void;
}

export class SlotDownload implements ModuleDownload {
  readonly #options: SlotDownloadOptions;
  readonly #header: Uint8Array; // headerBytes: the image start, until onHeader has seen it
  #headerFill = 0;
  #tapped = 0; // bytes of the file the tap has seen
  #writer: SlotWriter | undefined;
  #file: PayloadFile | undefined;
  #closed = false;
  #slotBytes = 0; // the inactive slot's image capacity, from BootState at open

  constructor(options: SlotDownloadOptions) {
    this.#options = options;
    this.#header = new Uint8Array(options.headerBytes);
  }

  get durableOffset(): number {
    return this.#writer?.durableOffset ?? 0;
  }

  /** True once the one file is complete and its manifest checksum matched. */
  get isComplete(): boolean {
    return this.#closed;
  }

  async open(file: PayloadFile, resumeOffset: number): Promise<void> {
    const type = this.#options.payloadType;
    if (this.#file !== undefined) {
      throw new OtaError('incompatible', `${type} payload ${file.payloadIndex}: expected one image file, got a second one "${file.name}"`);
    }
    const { inactiveSlotBytes } = await this.#options.bootControl.state();
    if (file.size > inactiveSlotBytes) {
      throw new OtaError(
        'image-invalid',
        `${type} file "${file.name}": ${file.size} bytes, the inactive slot takes at most ${inactiveSlotBytes}`,
      );
    }
    this.#file = file;
    this.#slotBytes = inactiveSlotBytes;
    this.#writer = await this.#options.bootControl.openInactiveSlot(resumeOffset > 0 ? { resumeAt: resumeOffset } : undefined);
  }

  async write(bytes: Uint8Array): Promise<void> {
    const writer = this.#writer;
    if (writer === undefined || this.#closed) throw new Error(`${this.#options.payloadType}: write() without an open file`);
    this.see(bytes); // the header check runs before these bytes are stored
    await writer.write(bytes);
  }

  async close(): Promise<void> {
    if (this.#writer === undefined) throw new Error(`${this.#options.payloadType}: close() without an open file`);
    if (this.#headerFill < this.#header.length) {
      throw new OtaError('image-invalid', `${this.#options.payloadType} file "${this.#file!.name}": ${this.#tapped} bytes, shorter than an image header`);
    }
    await this.#writer.finish();
    this.#closed = true;
  }

  async discard(): Promise<void> {
    await this.#writer?.abort();
  }

  async readBack(offset: number, into: Uint8Array): Promise<void> {
    await this.#options.bootControl.readInactiveSlot(offset, into);
    if (offset === this.#tapped) this.see(into);
  }

  private see(bytes: Uint8Array): void {
    if (this.#headerFill < this.#header.length) {
      const take = Math.min(bytes.length, this.#header.length - this.#headerFill);
      this.#header.set(bytes.subarray(0, take), this.#headerFill);
      this.#headerFill += take;
      if (this.#headerFill === this.#header.length) {
        this.#options.onHeader(this.#header, this.#file!, this.#slotBytes);
      }
    }
    this.#options.tap?.(bytes);
    this.#tapped += bytes.length;
  }
}

/** Feeds the first `size` bytes of the inactive slot to `check`, in order: re-checking a stored image after a reset. */
export async function readSlot(bootControl: BootControl, size: number, check: (bytes: Uint8Array) => void): Promise<void> {
  const piece = new Uint8Array(READ_BACK_BYTES); // 4 KiB read-back buffer
  for (let offset = 0; offset < size; offset += piece.length) {
    const part = piece.subarray(0, Math.min(piece.length, size - offset));
    await bootControl.readInactiveSlot(offset, part);
    check(part);
  }
}
