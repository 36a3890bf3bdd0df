// Keeps the deployment record in KeyValue: stored on every state edge before the state's side
// effect, with the store counter as a loop guard (mender-mcu's state_data_store_count,
// research/anchors-clients.md §3.2), and rewritten without counting for download checkpoints.
import type { KeyValue } from '../../platform/key-value.ts';
import { OtaError } from '../../base/errors.ts';
import { decodeRecord, encodeRecord, type DeploymentRecord, type StateCodec } from './record.ts';
import type { StateName } from './states.ts';

export const RECORD_KEY = 'ota-deployment';

/**
 * Stores allowed for one deployment. A clean run stores about 8 times; each reset adds one, and
 * download resumes are bounded on their own (maxDownloadAttempts), so 40 is only reached by a loop.
 */
export const STORE_COUNT_LIMIT = 40;
/** Extra stores the failure path may still make after the guard tripped (rollback … report). */
const STORE_COUNT_GRACE = 8;

/** The deployment record in KeyValue (createRecordStore). */
export interface RecordStore {
  /** The stored record, undefined when none; OtaError('storage-corrupt') when it is unreadable. */
  load(): Promise<DeploymentRecord | undefined>;
  /**
   * Stores `record` in `state` with the counter advanced. Throws OtaError('storage-corrupt',
   * 'state loop …') when the counter passes the limit outside the failure path; the caller then
   * stores the record with `loop: true` and heads for failure.
   */
  enter(record: DeploymentRecord, state: StateName): Promise<DeploymentRecord>;
  /** Rewrites the record as is (download checkpoints, facts learnt inside a state); not counted. */
  update(record: DeploymentRecord): Promise<DeploymentRecord>;
  clear(): Promise<void>;
}

export function createRecordStore(keyValue: KeyValue, codec: StateCodec): RecordStore {
  return new KeyValueRecordStore(keyValue, codec);
}

// Classes rather than closure factories here and in the other stores: a preloaded XS device keeps
// the methods in flash, where each closure a factory makes costs RAM.
class KeyValueRecordStore implements RecordStore {
  readonly #keyValue: KeyValue;
  readonly #codec: StateCodec;

  constructor(keyValue: KeyValue, codec: StateCodec) {
    this.#keyValue = keyValue;
    this.#codec = codec;
  }

  async load(): Promise<DeploymentRecord | undefined> {
    const bytes = await this.#keyValue.get(RECORD_KEY);
    return bytes === undefined ? undefined : decodeRecord(this.#codec, bytes);
  }

  async enter(record: DeploymentRecord, state: StateName): Promise<DeploymentRecord> {
    const storeCount = record.storeCount + 1;
    const limit = record.loop ? STORE_COUNT_LIMIT + STORE_COUNT_GRACE : STORE_COUNT_LIMIT;
    if (storeCount > limit) {
      throw new OtaError(
        'storage-corrupt',
        `deployment ${record.deploymentId}: state loop detected entering "${state}" (stored ${record.storeCount} times, limit ${limit})`,
      );
    }
    return this.update({ ...record, state, storeCount });
  }

  async update(record: DeploymentRecord): Promise<DeploymentRecord> {
    const bytes = encodeRecord(this.#codec, record);
    const { maxValueBytes } = this.#keyValue;
    if (bytes.length > maxValueBytes) {
      throw new OtaError('storage-corrupt', `deployment record: ${bytes.length} bytes, the key-value store takes at most ${maxValueBytes} (deployment ${record.deploymentId})`);
    }
    await this.#keyValue.set(RECORD_KEY, bytes);
    return record;
  }

  async clear(): Promise<void> {
    await this.#keyValue.delete(RECORD_KEY);
  }
}
