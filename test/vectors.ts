// The one loader for ../shared: specs, fixtures and vectors, by path relative to the checkout.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

export const SHARED = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../shared');
export const MENDER_SPECS = resolve(SHARED, 'specs/mender');
export const MENDER_FIXTURES = resolve(MENDER_SPECS, 'fixtures');
export const MCUBOOT_VECTORS = resolve(SHARED, 'vectors/mcuboot');
export const DETOOLS_VECTORS = resolve(SHARED, 'vectors/detools');

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(resolve(MENDER_FIXTURES, name)));
}

export function mcubootVector(name: string): Uint8Array {
  return new Uint8Array(readFileSync(resolve(MCUBOOT_VECTORS, name)));
}
