// The one error class for domain and platform failures. Argument mistakes use TypeError/RangeError.
import { isString } from './json.ts';

/** Closed set of failure kinds; strings so that logs and deployment logs read well. */
export type OtaErrorCode =
  | 'artifact-format' // the artifact breaks the format (tar, JSON, entry order, names)
  | 'artifact-unsupported' // well-formed, but not something a device can take (xz, zstd, version 2)
  | 'checksum-mismatch'
  | 'signature-invalid'
  | 'signature-missing'
  | 'incompatible' // device type, depends
  | 'image-invalid' // MCUboot image header/hash/signature, or does not fit the slot
  | 'image-downgrade' // below the configured minimum image version or security counter (anti-rollback)
  | 'flash-io'
  | 'http-status'
  | 'network'
  | 'insecure-transport' // a plain http:// URL without allowHttp: retrying cannot heal it
  | 'unauthorized'
  | 'deployment-aborted'
  | 'storage-corrupt'
  | 'revert-detected'
  | 'aborted'; // cancelled by the caller (e.g. a newer decision); not a device fault

export class OtaError extends Error {
  // A class field, not assigned in the constructor: XS freezes preloaded modules.
  override readonly name = 'OtaError';
  readonly code: OtaErrorCode;
  override readonly cause: unknown;

  constructor(code: OtaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.code = code;
    this.cause = options?.cause;
  }
}

export function isOtaError(error: unknown, code?: OtaErrorCode): error is OtaError {
  return error instanceof OtaError && (code === undefined || error.code === code);
}

/** The house shape of a failed check, `where: expected …, got …`, from one place (keeps the bundle small). */
export function unexpected(code: OtaErrorCode, where: string, expected: string, actual: unknown): OtaError {
  return new OtaError(code, `${where}: expected ${expected}, got ${actual}`);
}

/** OtaError('artifact-format'), the commonest failure, in one short call. */
export function formatError(message: string): OtaError {
  return new OtaError('artifact-format', message);
}

/** A caller's mistake, `name expected …, got …`: a TypeError, or a RangeError for a value out of range. */
export function badArgument(name: string, expected: string, actual: unknown, type: new (message: string) => Error = TypeError): Error {
  return new type(`${name} expected ${expected}, got ${actual}`);
}

/** `value` when it is a non-empty string, else badArgument naming it and what it is. */
export function nonEmptyString(name: string, value: unknown): string {
  if (!isString(value) || value === '') throw badArgument(`"${name}"`, 'a non-empty string', describe(value));
  return value;
}

/** A received value in a message: strings quoted and cut, others by kind. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isString(value)) return JSON.stringify(value.slice(0, 40));
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
