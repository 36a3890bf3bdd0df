// Types for scripts/preload-flash.mjs (plain JS so that `node scripts/preload-flash.mjs` runs without a loader).
export type GroupName = 'core' | 'crypto' | 'cbor' | 'inflateGlue' | 'board';
export declare const SCRATCH_DIR: string;
export declare const SLOT_BYTES_32: number;
export declare const GROUPS: Record<GroupName, { what: string; match(path: string): boolean }>;
export declare const GROUP_ORDER: readonly GroupName[];
export declare function normalizeInput(input: string): string;
export declare function groupsMatching(input: string): GroupName[];
export declare function groupOf(input: string): GroupName;
export interface BundleSection {
  input: string;
  group: GroupName;
  text: string;
}
export declare function bundleSections(text: string, inputs: readonly string[]): { preamble: string; sections: BundleSection[]; exportBlock: string };
export declare function importStatements(text: string): string[];
export declare function topLevelNames(text: string): string[];
export declare function sliceBundle(text: string, inputs: readonly string[], keep: ReadonlySet<string>): { text: string; exported: string[] };
export declare function withExtraExports(text: string, names: readonly string[]): string;
export declare function cLiteralBytes(body: string): number;
export interface RomLayout {
  heapSlots: number;
  heapBytes: number;
  codeBytes: number;
  stringBytes: number;
  keyBytes: number;
  arrayBufferBytes: number;
  keyTableBytes: number;
  regExpBytes: number;
  bigIntBytes: number;
  slotDataBytes: number;
  gxCodeBytes: number;
  fixedBytes: number;
  keys: number;
  aliases: number;
  totalBytes: number;
}
export declare function romLayout(mcXsC: string): RomLayout;
export declare function flashOf(layout: Omit<RomLayout, 'totalBytes' | 'keys' | 'aliases' | 'heapSlots'> & Record<string, number>): number;
export declare function subtractLayouts(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, number>;
export declare function clientWarnings(output: string): { notFrozen: number; noConst: number };
export type PreloadedFlashRecord = Record<string, unknown> & { perGroup: Record<GroupName, number | null> };
export declare function measureBoard(
  board: string,
  options: { moddable: string; env: NodeJS.ProcessEnv; say?: (text: string) => void; date?: Date },
): Promise<PreloadedFlashRecord>;
export declare function writeResults(records: Record<string, PreloadedFlashRecord>, path?: string): void;
export declare function measure(
  env?: NodeJS.ProcessEnv,
  boards?: readonly string[],
  say?: (text: string) => void,
): Promise<{ problem?: string; records?: Record<string, PreloadedFlashRecord> }>;
