// The JSON files of header.tar: header-info, headers/NNNN/type-info and headers/NNNN/meta-data
// (research/mender-protocol.md §1.6; mender-artifact's artifact/metadata.go).
import { fromUtf8 } from '../bytes.ts';
import { OtaError } from '../errors.ts';
import type { DependsMap, ProvidesMap } from './types.ts';

export interface HeaderInfo {
  /** One type per payload; null for an empty (bootstrap) payload. */
  readonly payloadTypes: (string | null)[];
  /** artifact_provides: artifact_name and optionally artifact_group. */
  readonly provides: ProvidesMap;
  /** artifact_depends: device_type (required) and optionally artifact_name, artifact_group. */
  readonly depends: DependsMap;
}

export interface TypeInfo {
  readonly type: string | null;
  readonly provides: ProvidesMap | undefined;
  readonly depends: DependsMap | undefined;
  readonly clearsProvides: string[] | undefined;
}

function fail(where: string, message: string): never {
  throw new OtaError('artifact-format', `${where}: ${message}`);
}

function parseObject(bytes: Uint8Array, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch (error) {
    fail(where, `invalid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, `expected a JSON object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.slice(0, 40))}` : `a ${typeof value}`;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function stringMap(value: unknown, where: string): ProvidesMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, `expected an object, got ${describe(value)}`);
  const out: ProvidesMap = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') fail(`${where}.${key}`, `expected a string, got ${describe(item)}`);
    out[key] = item;
  }
  return out;
}

function dependsMap(value: unknown, where: string): DependsMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, `expected an object, got ${describe(value)}`);
  const out: DependsMap = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string' && !isStringArray(item)) fail(`${where}.${key}`, `expected a string or an array of strings, got ${describe(item)}`);
    out[key] = typeof item === 'string' ? item : [...item];
  }
  return out;
}

/**
 * header-info. In header-augment only `payloads` counts (the rest is unsigned and ignored, as in Go),
 * so `augment` relaxes the required artifact_provides/artifact_depends.
 */
export function parseHeaderInfo(bytes: Uint8Array, where: string, augment = false): HeaderInfo {
  const json = parseObject(bytes, where);
  const payloads = json.payloads;
  if (!Array.isArray(payloads) || payloads.length === 0) fail(`${where}.payloads`, `expected a non-empty array, got ${describe(payloads)}`);
  const payloadTypes = payloads.map((payload: unknown, i: number) => {
    if (typeof payload !== 'object' || payload === null) fail(`${where}.payloads[${i}]`, `expected an object, got ${describe(payload)}`);
    const type = (payload as Record<string, unknown>).type;
    if (type !== null && typeof type !== 'string') fail(`${where}.payloads[${i}].type`, `expected a string or null, got ${describe(type)}`);
    return type as string | null;
  });
  if (augment) return { payloadTypes, provides: {}, depends: {} };

  const provides = stringMap(json.artifact_provides ?? null, `${where}.artifact_provides`);
  if (typeof provides.artifact_name !== 'string' || provides.artifact_name === '') {
    fail(`${where}.artifact_provides.artifact_name`, 'expected a non-empty string');
  }
  const depends = dependsMap(json.artifact_depends ?? null, `${where}.artifact_depends`);
  for (const key of ['device_type', 'artifact_name', 'artifact_group']) {
    if (depends[key] !== undefined && !Array.isArray(depends[key])) fail(`${where}.artifact_depends.${key}`, 'expected an array of strings');
  }
  const deviceTypes = depends.device_type;
  if (!Array.isArray(deviceTypes) || deviceTypes.length === 0) {
    fail(`${where}.artifact_depends.device_type`, 'expected a non-empty array of device types (Mender requires it)');
  }
  return { payloadTypes, provides, depends };
}

export function parseTypeInfo(bytes: Uint8Array, where: string): TypeInfo {
  const json = parseObject(bytes, where);
  const type = json.type ?? null;
  if (type !== null && typeof type !== 'string') fail(`${where}.type`, `expected a string or null, got ${describe(type)}`);
  const clears = json.clears_artifact_provides;
  if (clears !== undefined && clears !== null && !isStringArray(clears)) {
    fail(`${where}.clears_artifact_provides`, `expected an array of strings, got ${describe(clears)}`);
  }
  return {
    type,
    provides: json.artifact_provides == null ? undefined : stringMap(json.artifact_provides, `${where}.artifact_provides`),
    depends: json.artifact_depends == null ? undefined : dependsMap(json.artifact_depends, `${where}.artifact_depends`),
    clearsProvides: clears == null ? undefined : [...clears],
  };
}

/** meta-data: an empty file means none (rootfs-image writes 0 bytes); otherwise a JSON object. */
export function parseMetaData(bytes: Uint8Array, where: string): Record<string, unknown> | null {
  if (bytes.length === 0) return null;
  return parseObject(bytes, where);
}
