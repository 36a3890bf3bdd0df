// What is installed: the artifact name and provides the device reports in its update checks, kept
// in KeyValue and replaced after a successful commit as the Go client's CommitArtifactData does
// (research/mender-protocol.md §1.10).
import type { KeyValue } from '../../platform/key-value.ts';
import { applyClearsProvides } from '../artifact/compatibility.ts';
import { OtaError } from '../../base/errors.ts';
import { isString, isStringMap } from '../../base/json.ts';
import { frame, unframe, type StateCodec } from './record.ts';

export const PROVIDES_KEY = 'ota-provides';

export interface InstalledArtifact {
  readonly artifactName: string;
  /** Provides besides artifact_name and device_type (e.g. "zephyr-image.version"). */
  readonly provides: Readonly<Record<string, string>>;
}

/** The installed artifact in KeyValue (createProvidesStore). */
export interface ProvidesStore {
  /** The stored artifact, or `initial` on a device that never finished a deployment. */
  load(initial: InstalledArtifact): Promise<InstalledArtifact>;
  /**
   * After a commit: keep the stored provides no glob in `clearsProvides` matches (all of them go
   * when the artifact has no clears_artifact_provides, as with old artifacts), then add the new.
   */
  commit(current: InstalledArtifact, artifactName: string, provides: Readonly<Record<string, string>>, clearsProvides: readonly string[] | null | undefined): Promise<InstalledArtifact>;
}

export function createProvidesStore(keyValue: KeyValue, codec: StateCodec): ProvidesStore {
  return new KeyValueProvidesStore(keyValue, codec);
}

// A class rather than a closure factory: a preloaded XS device keeps its methods in flash.
class KeyValueProvidesStore implements ProvidesStore {
  readonly #keyValue: KeyValue;
  readonly #codec: StateCodec;

  constructor(keyValue: KeyValue, codec: StateCodec) {
    this.#keyValue = keyValue;
    this.#codec = codec;
  }

  async load(initial: InstalledArtifact): Promise<InstalledArtifact> {
    const bytes = await this.#keyValue.get(PROVIDES_KEY);
    if (bytes === undefined) return initial;
    const value = unframe(this.#codec, bytes, `key-value "${PROVIDES_KEY}"`) as Record<string, unknown>;
    const provides = value?.provides as Record<string, unknown> | undefined;
    if (!isString(value?.artifactName) || !isStringMap(provides)) {
      throw new OtaError('storage-corrupt', `key-value "${PROVIDES_KEY}": expected {artifactName, provides}, got ${JSON.stringify(value).slice(0, 60)}`);
    }
    return { artifactName: value.artifactName, provides: provides as Record<string, string> };
  }

  async commit(current: InstalledArtifact, artifactName: string, provides: Readonly<Record<string, string>>, clearsProvides: readonly string[] | null | undefined): Promise<InstalledArtifact> {
    const kept = clearsProvides == null ? {} : applyClearsProvides(current.provides, clearsProvides);
    const next: InstalledArtifact = { artifactName, provides: { ...kept, ...provides } };
    delete (next.provides as Record<string, string>)['artifact_name'];
    await this.#keyValue.set(PROVIDES_KEY, frame(this.#codec, next));
    return next;
  }
}
