// Moddable ships TextEncoder/TextDecoder as modules ("text/encoder", "text/decoder"), not globals;
// the core uses the globals. main.ts imports this module first, so the globals exist before any
// core module body runs. (The bundle is loaded at run time, not preloaded: the global object is
// still extensible then.)
import TextDecoder from 'text/decoder';
import TextEncoder from 'text/encoder';

const globals = globalThis as unknown as Record<string, unknown>;
globals.TextDecoder ??= TextDecoder;
globals.TextEncoder ??= TextEncoder;
