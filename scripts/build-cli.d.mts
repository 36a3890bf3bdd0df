// Types for scripts/build-cli.mjs (plain JS so that bin/ota-mcu.mjs and `npm ci` run it without a loader).
/** dist/cli/, where the built `ota-mcu` command lives. */
export declare const CLI_DIR: string;
/** The built entry's file URL while dist/cli/ is fresh (no input changed since the build), else undefined. */
export declare function freshCliEntry(dir?: string): string | undefined;
/** Builds the CLI to `outdir` (default dist/cli/). */
export declare function buildCli(outdir?: string): Promise<{ entry: string; inputs: number; files: string[] }>;
