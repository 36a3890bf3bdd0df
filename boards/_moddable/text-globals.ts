// Moddable ships TextEncoder/TextDecoder as modules ("text/encoder", "text/decoder", which
// boards/_moddable/manifest.json includes), not globals; the core uses the globals. main.ts imports
// this module first, so the globals exist before any core module body runs. The bundle is
// preloaded: this runs in xsl at build time and the globals it adds are linked into flash with
// the rest (xsl links it; `npm run check:boards`).
import TextDecoder from 'text/decoder';
import TextEncoder from 'text/encoder';

const globals = globalThis as unknown as Record<string, unknown>;
globals.TextDecoder ??= TextDecoder;
globals.TextEncoder ??= TextEncoder;
