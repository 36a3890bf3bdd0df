// Ed25519 and P-256 from @noble/curves without base-point tables.
//
// noble keeps a table of base-point multiples per curve (a 6-bit window unless told otherwise),
// built at the first multiplication and kept for the engine's life. Built at run time it sits in
// RAM; built at module load it would be preloaded into flash, and so into every firmware image the
// client downloads. Measured on 32-bit XS (xsnap's compute meter, one operation each):
//
//                         tables, 4-bit window (RAM or flash)    no tables (window 1)
//   Ed25519 table         2,600 slots + 70 KB chunks ≈ 112 KB        0
//   P-256 table           2,100 slots + 50 KB chunks ≈ 83 KB         0
//   Ed25519 sign/verify   1.7M / 1.9M (first use +4.8M to build)     4.6M / 2.7M
//   P-256 sign/verify     2.0M / 2.6M (first use +6.0M to build)     5.4M / 2.5M
//
// A device signs once per authorization and verifies once per artifact, so a few million more
// operations there cost far less than ~195 KB of RAM, or of flash in every image. Window 1 is
// noble's table-less path (constant-time fixed window for secrets, wNAF for public scalars); it is
// set here, at load, so nothing about the curves changes at run time.
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';

const NO_TABLE = 1;
ed25519.Point.BASE.precompute(NO_TABLE);
p256.Point.BASE.precompute(NO_TABLE);

export { ed25519, p256 };
