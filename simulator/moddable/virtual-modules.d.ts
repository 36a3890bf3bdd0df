// The module the guest bundle synthesizes from the manifest chain's "ffi.functions", parsed at
// bundle time as mcconfig parses them (simulator/moddable/bundle.ts): mc/ffi builds its functions from it.
declare module 'ota-mcu:ffi-declarations' {
  export const ffiSignatures: readonly import('./ffi-types.ts').FfiSignature[];
}

// The board under test (its family's boards/_<family>/board.ts), chosen when the guest is bundled.
declare module 'ota-mcu:board' {
  import type { Board } from '../../platform/board.ts';
  import type { UpdateModule } from '../../core/modules/update-module.ts';
  export function createBoard(config?: Record<string, unknown>): Board;
  export function createUpdateModules(): UpdateModule[];
}

// The text codecs as the emulation provides them (bundle.ts: the engine's own globals), for the
// guest entry that imports boards/_moddable/text-globals.ts as each family's main.ts does.
declare module 'text/decoder' {
  const TextDecoderModule: typeof globalThis.TextDecoder;
  export default TextDecoderModule;
}
declare module 'text/encoder' {
  const TextEncoderModule: typeof globalThis.TextEncoder;
  export default TextEncoderModule;
}
