// The persisted deployment record: one small KeyValue entry, codec-encoded (CBOR on boards, see
// platform/state-codec-cbor.ts) and followed by a CRC-32, validated field by field on load so a
// bad record becomes OtaError('storage-corrupt') and never a half-understood state.
import { crc32 } from '../../base/crc32.ts';
import { equalBytes, joinBytes, fromUtf8, toHex, utf8, writeU32LE } from '../../base/bytes.ts';
import { OtaError, describe, unexpected } from '../../base/errors.ts';
import { isCount, isObject, isString, isStringMap, isStrings } from '../../base/json.ts';
import { FINAL_STATUSES, type FinalStatus } from '../deployment-status.ts';
import { isStateName, type StateName } from './states.ts';

/** Turns plain data (objects, arrays, strings, numbers, booleans) into bytes and back. */
export interface StateCodec {
  encode(value: unknown): Uint8Array;
  /** Throws on bytes it did not produce; the record layer maps that to 'storage-corrupt'. */
  decode(bytes: Uint8Array): unknown;
}

export const RECORD_VERSION = 1;

/** Where a resumable download stands: the first byte not yet durable, in artifact and file terms. */
export interface DownloadCheckpoint {
  readonly payloadIndex: number;
  readonly fileName: string;
  readonly fileOffset: number;
  readonly artifactOffset: number;
}


export interface DeploymentRecord {
  readonly v: number;
  readonly state: StateName;
  /** Times a state was stored for this deployment (the loop guard). */
  readonly storeCount: number;
  readonly deploymentId: string;
  readonly artifactName: string;
  readonly uri: string;
  /** The running image's version when the deployment started. */
  readonly fromVersion: string;
  /** The new image's version, known once its header has been read. */
  readonly toVersion?: string;
  /** Payload type (selects the update module), known once the head is read. */
  readonly payloadType?: string;
  /** Provides to store at commit (artifact + type-info provides) and the globs they clear. */
  readonly provides?: Record<string, string>;
  readonly clearsProvides?: string[] | null;
  readonly compressed?: boolean;
  readonly checkpoint?: DownloadCheckpoint;
  /** The payload file once stored (re-checking it after a reset needs its size). */
  readonly fileName?: string;
  readonly fileSize?: number;
  /** Download attempts so far (a reset and a lost connection each count one). */
  readonly attempts: number;
  /** Set once the outcome is known; what 'report' sends. */
  readonly finalStatus?: FinalStatus;
  /** The server aborted the deployment (409): clean up, report nothing more. */
  readonly aborted?: boolean;
  /** The first failure, one line (also in the deployment log). */
  readonly error?: string;
  /** The loop guard tripped: only the failure states may still run. */
  readonly loop?: boolean;
}

const CRC_BYTES = 4;

/** The CRC-32 of `body` as it is stored after it (little-endian). */
function crcBytes(body: Uint8Array): Uint8Array {
  const crc = new Uint8Array(CRC_BYTES);
  writeU32LE(crc, 0, crc32(body));
  return crc;
}

/** Codec bytes followed by their CRC-32: the framing of every stored record. */
export function frame(codec: StateCodec, value: unknown): Uint8Array {
  const body = codec.encode(value);
  return joinBytes([body, crcBytes(body)]);
}

/** The value of a framed record; OtaError('storage-corrupt') naming `what` when the CRC or codec fails. */
export function unframe(codec: StateCodec, bytes: Uint8Array, what: string): unknown {
  if (bytes.length <= CRC_BYTES) throw unexpected('storage-corrupt', what, `more than ${CRC_BYTES} bytes`, bytes.length);
  const body = bytes.subarray(0, bytes.length - CRC_BYTES);
  const stored = bytes.subarray(body.length);
  const actual = crcBytes(body);
  // Both as stored (little-endian bytes in hex).
  if (!equalBytes(stored, actual)) throw unexpected('storage-corrupt', what, `crc32 ${toHex(stored)}`, toHex(actual));
  try {
    return codec.decode(body);
  } catch (error) {
    throw new OtaError('storage-corrupt', `${what}: undecodable (${(error as Error).message})`, { cause: error });
  }
}

export function encodeRecord(codec: StateCodec, record: DeploymentRecord): Uint8Array {
  return frame(codec, record);
}

/** Decodes and validates a stored record; OtaError('storage-corrupt') naming the first problem. */
export function decodeRecord(codec: StateCodec, bytes: Uint8Array): DeploymentRecord {
  return validateRecord(unframe(codec, bytes, 'deployment record'));
}

type FieldCheck = readonly [expected: string, test: (value: unknown) => boolean];

const COUNT: FieldCheck = ['a count', isCount];
const TEXT: FieldCheck = ['a string', isString];
const NAME: FieldCheck = ['a non-empty string', (value) => isString(value) && value !== ''];
const FLAG: FieldCheck = ['a boolean', (value) => typeof value === 'boolean'];

/** Every field, in the order checked; optional ones may be absent. */
const REQUIRED: Readonly<Record<string, FieldCheck>> = {
  v: [String(RECORD_VERSION), (value) => value === RECORD_VERSION],
  state: ['a state name', isStateName],
  storeCount: COUNT,
  deploymentId: NAME,
  artifactName: NAME,
  uri: NAME,
  fromVersion: NAME,
  attempts: COUNT,
};
const OPTIONAL: Readonly<Record<string, FieldCheck>> = {
  fileSize: COUNT,
  toVersion: TEXT,
  payloadType: TEXT,
  error: TEXT,
  fileName: TEXT,
  provides: ['a map of strings', isStringMap],
  clearsProvides: ['a list of strings or null', (value) => value === null || isStrings(value)],
  compressed: FLAG,
  aborted: FLAG,
  loop: FLAG,
  finalStatus: [`one of ${FINAL_STATUSES.join(', ')}`, (value) => FINAL_STATUSES.includes(value as FinalStatus)],
  checkpoint: ['an object', isObject],
};
const CHECKPOINT: Readonly<Record<string, FieldCheck>> = {
  payloadIndex: COUNT,
  fileName: ['a file name', NAME[1]],
  fileOffset: COUNT,
  artifactOffset: COUNT,
};

function check(value: Record<string, unknown>, fields: Readonly<Record<string, FieldCheck>>, optional: boolean, prefix = ''): void {
  for (const [field, [expected, test]] of Object.entries(fields)) {
    const actual = value[field];
    if ((optional && actual === undefined) || test(actual)) continue;
    throw unexpected('storage-corrupt', `deployment record field "${prefix}${field}"`, expected, describe(actual));
  }
}

/** Field-by-field check of decoded data; unknown state names and versions are rejected by name. */
export function validateRecord(value: unknown): DeploymentRecord {
  check({ '(record)': value }, { '(record)': ['an object', isObject] }, false);
  const record = value as Record<string, unknown>;
  check(record, REQUIRED, false);
  check(record, OPTIONAL, true);
  if (record.checkpoint !== undefined) check(record.checkpoint as Record<string, unknown>, CHECKPOINT, false, 'checkpoint.');
  return record as unknown as DeploymentRecord;
}

/** The dependency-free codec: JSON as UTF-8. Boards pass the CBOR codec (smaller records). */
export const jsonStateCodec: StateCodec = {
  encode(value: unknown): Uint8Array {
    return utf8(JSON.stringify(value));
  },
  decode(bytes: Uint8Array): unknown {
    return JSON.parse(fromUtf8(bytes));
  },
};
