// Install gates and provides bookkeeping, as Mender's Go client 3.4 does them
// (research/mender-protocol.md §1.9 end, §1.10): pure functions over the artifact head.
import type { ArtifactHead, DependsMap, ProvidesMap } from './types.ts';
import { isString } from '../../base/json.ts';

/** True when `deviceType` is one of the artifact's artifact_depends.device_type. */
export function isDeviceTypeCompatible(head: Pick<ArtifactHead, 'deviceTypes'>, deviceType: string): boolean {
  return head.deviceTypes.includes(deviceType);
}

/**
 * Checks artifact_depends against what the device provides (stored provides plus artifact_name and
 * artifact_group). A string value must equal the provided one; an array means any of its values.
 * `device_type` is skipped, as Mender does: isDeviceTypeCompatible checks it. Returns undefined when
 * satisfied, otherwise a message naming the first unmet key, what was expected and what is provided.
 */
export function checkDepends(depends: DependsMap, provides: Readonly<Record<string, string>>): string | undefined {
  for (const [key, wanted] of Object.entries(depends)) {
    if (key === 'device_type') continue;
    const expected = isString(wanted) ? JSON.stringify(wanted) : `one of ${JSON.stringify(wanted)}`;
    const actual = Object.hasOwn(provides, key) ? provides[key] : undefined;
    const ok = actual !== undefined && (isString(wanted) ? actual === wanted : wanted.includes(actual));
    if (!ok) return `"${key}": expected ${expected}, got ${actual === undefined ? 'none' : JSON.stringify(actual)}`;
  }
  return undefined;
}

/** Mender's clears_artifact_provides wildcard: `*` matches any run of characters (dots included); all else is literal. */
export function matchesProvidesGlob(glob: string, key: string): boolean {
  // Greedy match with one backtrack point per `*` (linear in practice, no regular expression needed).
  let g = 0;
  let k = 0;
  let starG = -1;
  let starK = 0;
  while (k < key.length) {
    if (g < glob.length && glob[g] === '*') {
      starG = g++;
      starK = k;
    } else if (g < glob.length && glob[g] === key[k]) {
      g++;
      k++;
    } else if (starG >= 0) {
      g = starG + 1;
      k = ++starK;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/** A copy of `provides` without the keys that match any of `globs`. */
export function applyClearsProvides(provides: Readonly<ProvidesMap>, globs: readonly string[]): ProvidesMap {
  const out: ProvidesMap = {};
  for (const [key, value] of Object.entries(provides)) {
    if (!globs.some((glob) => matchesProvidesGlob(glob, key))) out[key] = value;
  }
  return out;
}
