// Globals of the Moddable runtime our boards use that @moddable/typings 5.6 lacks: ByteBuffer as
// the SDK's current xs.d.ts defines it.
type ByteBuffer = ArrayBuffer | SharedArrayBuffer | Uint8Array | Uint8ClampedArray | Int8Array | DataView;

// The core uses the WHATWG globals; on Moddable they are the modules "text/encoder" and
// "text/decoder", which boards/_moddable/text-globals.ts installs as globals before the core loads.
declare var TextEncoder: typeof import('text/encoder').default;
declare var TextDecoder: typeof import('text/decoder').default;
type TextEncoder = import('text/encoder').default;
type TextDecoder = import('text/decoder').default;
