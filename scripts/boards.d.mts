// Types for scripts/boards.mjs: the board catalogue (boards/<name>/board.json).
export interface BoardFlash {
  /** Erase unit at the slots, bytes. */
  readonly sectorBytes: number;
  /** Smallest programmable unit, bytes (the MCUboot trailer and the slot writer align to it). */
  readonly writeGranule: number;
  /** Each MCUboot slot / ESP-IDF app partition, bytes. */
  readonly slotBytes: number;
  /** A larger erase the driver does for an aligned range (SPI NOR 64 KiB block), bytes. */
  readonly eraseBlockBytes?: number;
}

export interface BoardDescription {
  readonly name: string;
  /** The code folder boards/_<family>. */
  readonly family: string;
  /** The bootloader model the simulator runs for it. */
  readonly kind: 'esp-idf' | 'mcuboot';
  readonly title: string;
  /** The Mender payload type its update module installs. */
  readonly payloadType: string;
  /** `mcconfig -p` value. */
  readonly mcconfigPlatform: string;
  /** Zephyr board name (west -b), Zephyr families only. */
  readonly zephyrBoard?: string;
  /** Selects the reset-cause table of its family. */
  readonly soc: string;
  /** Bytes of the hwinfo unique id (Zephyr families). */
  readonly deviceIdBytes?: number;
  readonly flash: BoardFlash;
  /** The board's own files copied next to the bundle (overlays…). */
  readonly nativeFiles: readonly string[];
  /** Board-specific settings for settings.example.json. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** manifest.json config.deviceType. */
  readonly deviceType: string;
  readonly dir: string;
  readonly familyDir: string;
  readonly familyFiles: readonly string[];
}

export declare const BOARDS_DIR: string;
export declare function listBoards(): string[];
export declare function readBoard(name: string): BoardDescription;
export declare function readBoards(): BoardDescription[];
