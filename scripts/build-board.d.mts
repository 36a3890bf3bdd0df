// Types for scripts/build-board.mjs (plain JS so that `node scripts/build-board.mjs` runs without a loader).
export declare const BOARDS: string[];
export declare const MODDABLE_MODULES: RegExp;
export declare function bundleBoard(board: string): Promise<string>;
export declare function buildBoard(board: string, outDir?: string): Promise<{ outDir: string; files: string[]; bundleBytes: number }>;
