// The JSON files of header.tar: header-info, headers/NNNN/type-info and headers/NNNN/meta-data
// (research/mender-protocol.md §1.6; mender-artifact's artifact/metadata.go).
import { fromUtf8 } from '../../base/bytes.ts';
import { describe, formatError } from '../../base/errors.ts';
import { isObject, isString, isStrings } from '../../base/json.ts';
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

function fail(where: string, expected: string, actual?: unknown): never {
  throw formatError(`${where}: expected ${expected}${actual === undefined ? '' : `, got ${describe(actual)}`}`);
}

/** A JSON object from an artifact's text entry, or OtaError('artifact-format') naming the entry. */
export function parseObject(bytes: Uint8Array, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch (error) {
    throw formatError(`${where}: invalid JSON (${(error as Error).message})`);
  }
  if (!isObject(value)) fail(where, 'a JSON object', value);
  return value;
}

/** provides (string values) or, with `lists`, depends (a string or a list of strings each). */
function stringMap(value: unknown, where: string, lists = false): DependsMap {
  if (!isObject(value)) fail(where, 'an object', value);
  const out: DependsMap = {};
  for (const [key, item] of Object.entries(value)) {
    if (!isString(item) && !(lists && isStrings(item))) fail(`${where}.${key}`, lists ? 'a string or strings' : 'a string', item);
    out[key] = isString(item) ? item : [...item];
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
  if (!Array.isArray(payloads) || payloads.length === 0) fail(`${where}.payloads`, 'a non-empty array', payloads);
  const payloadTypes = payloads.map((payload: unknown, i: number) => {
    if (!isObject(payload) && !Array.isArray(payload)) fail(`${where}.payloads[${i}]`, 'an object', payload);
    const type = (payload as Record<string, unknown>).type;
    if (type !== null && !isString(type)) fail(`${where}.payloads[${i}].type`, 'a string or null', type);
    return type as string | null;
  });
  if (augment) return { payloadTypes, provides: {}, depends: {} };

  const provides = stringMap(json.artifact_provides ?? null, `${where}.artifact_provides`) as ProvidesMap;
  if (!isString(provides.artifact_name) || provides.artifact_name === '') fail(`${where}.artifact_provides.artifact_name`, 'a non-empty string');
  const depends = stringMap(json.artifact_depends ?? null, `${where}.artifact_depends`, true);
  for (const key of ['device_type', 'artifact_name', 'artifact_group']) {
    if (depends[key] !== undefined && !Array.isArray(depends[key])) fail(`${where}.artifact_depends.${key}`, 'an array of strings');
  }
  const deviceTypes = depends.device_type;
  // Mender requires at least one device type.
  if (!Array.isArray(deviceTypes) || deviceTypes.length === 0) fail(`${where}.artifact_depends.device_type`, 'a non-empty array of device types');
  return { payloadTypes, provides, depends };
}

export function parseTypeInfo(bytes: Uint8Array, where: string): TypeInfo {
  const json = parseObject(bytes, where);
  const type = json.type ?? null;
  if (type !== null && !isString(type)) fail(`${where}.type`, 'a string or null', type);
  const clears = json.clears_artifact_provides;
  if (clears != null && !isStrings(clears)) fail(`${where}.clears_artifact_provides`, 'an array of strings', clears);
  return {
    type,
    provides: json.artifact_provides == null ? undefined : (stringMap(json.artifact_provides, `${where}.artifact_provides`) as ProvidesMap),
    depends: json.artifact_depends == null ? undefined : stringMap(json.artifact_depends, `${where}.artifact_depends`, true),
    clearsProvides: clears == null ? undefined : [...clears],
  };
}

/** meta-data: an empty file means none (rootfs-image writes 0 bytes); otherwise a JSON object. */
export function parseMetaData(bytes: Uint8Array, where: string): Record<string, unknown> | null {
  if (bytes.length === 0) return null;
  return parseObject(bytes, where);
}
