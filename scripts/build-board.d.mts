// Types for scripts/build-board.mjs (plain JS so that `node scripts/build-board.mjs` runs without a loader).
import type { Plugin } from 'esbuild';
import type { BoardDescription } from './boards.mjs';
export declare const MODDABLE_MODULES: RegExp;
export declare const BOARD_DESCRIPTION_MODULE: string;
export declare function runtimeDescription(board: BoardDescription): Record<string, unknown>;
export declare function boardDescriptionPlugin(board: BoardDescription): Plugin;
export declare function bundleBoard(board: string): Promise<string>;
export declare function buildBoard(board: string, outDir?: string): Promise<{ outDir: string; files: string[]; bundleBytes: number; imports: string[] }>;
export declare function onPath(command: string, env?: NodeJS.ProcessEnv): boolean;
export declare function missingToolchain(board: BoardDescription, env?: NodeJS.ProcessEnv): string | undefined;
export declare function bundleBoardWithImports(board: string): Promise<{ text: string; imports: string[]; inputs: string[]; parts: { name: string; text: string; inputs: string[] }[] }>;
