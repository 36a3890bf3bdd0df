// Types for scripts/check-boards.mjs (plain JS so that `node scripts/check-boards.mjs` runs without a loader).
export declare const SCRATCH_DIR: string;
export declare const SDK_VERSION: string;
export declare const SDK_TOOLS: readonly string[];
export interface SdkProbe {
  exists(path: string): boolean;
  executable(path: string): boolean;
}
export declare function hostToolsDir(moddable: string, platform?: string): string | undefined;
export declare function sdkNeeded(problem: string): string;
export declare function sdkProblem(env: Record<string, string | undefined>, platform?: string, probe?: SdkProbe): string | undefined;
export declare function parseXslSummary(log: string): { line: string; instances: number; keys: number; colors: number; holes: number } | undefined;
export declare function moduleOfPath(path: string): string;
export declare function pathOfModule(specifier: string): string;
export declare function stepOfTarget(target: string): string;
export interface CheckFailure {
  step: string;
  module: string;
  message: string;
}
export declare function findFailures(log: string, modulesDir?: string): CheckFailure[];
export declare function unresolvedImports(imports: readonly string[], modules: readonly string[]): string[];
type FfiType = string | { name: string };
export declare function ffiProblems(functions: Record<string, { arguments?: FfiType[]; returns?: FfiType }> | undefined, mcFfiC: string): string[];
export declare function definedFunctions(source: string): string[];
export declare function checkBoard(
  name: string,
  options: { moddable: string; env: NodeJS.ProcessEnv; scratch: string; say: (text: string) => void; rewriteBundle?: (text: string) => string },
): Promise<{ appDir: string; outDir: string; tmpDir: string; output: string; summary: NonNullable<ReturnType<typeof parseXslSummary>> }>;
