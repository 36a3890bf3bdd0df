// The module the guest bundle synthesizes from the family manifest's "ffi.functions"
// (simulator/moddable/bundle.ts): mc/ffi builds its functions from it.
declare module 'ota-mcu:ffi-declarations' {
  export const ffiDeclarations: Record<string, { arguments: string[]; returns: string }>;
}

// The board under test (its family's boards/_<family>/board.ts), chosen when the guest is bundled.
declare module 'ota-mcu:board' {
  import type { Board } from '../../platform/board.ts';
  import type { UpdateModule } from '../../core/modules/update-module.ts';
  export function createBoard(config?: Record<string, unknown>): Board;
  export function createUpdateModules(): UpdateModule[];
}
