// The portable core's public API: what a board's main module imports.
export { OtaError, isOtaError, type OtaErrorCode } from './errors.ts';
