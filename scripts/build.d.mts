// Types for scripts/build.mjs (plain JS so that `node scripts/build.mjs` runs without a loader).
import type { BuildOptions } from 'esbuild';
/** The esbuild options every bundle for XS shares; each build adds entry, format and plugins. */
export declare const XS_ESBUILD_OPTIONS: Readonly<BuildOptions & { write: false }>;
export declare const PORTABLE_PACKAGES: string[];
export declare const PORTABLE_MODULES: string[];
export interface Bundles {
  /** core/index.ts alone, ESM, portable implementations external. */
  core: string;
  coreMin: string;
  /** The core with its portable crypto, inflate, CBOR codec and MCUboot logic, ESM. */
  portable: string;
  portableMin: string;
  /** IIFE script for xsnap: portable bundle + guest bridge on globalThis.OtaMcuXs. */
  xs: string;
  /** Which of PORTABLE_MODULES exist and went into the portable bundles. */
  portableModules: string[];
  /** UTF-8 byte sizes of coreMin, portableMin and xs. */
  sizes: { coreMin: number; portableMin: number; xs: number };
}
export declare function buildBundles(): Promise<Bundles>;
