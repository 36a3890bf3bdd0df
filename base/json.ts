// Shapes of values, tested the same way wherever they come in: parsed JSON (header.tar, the
// deployment record, the provides store, server answers) and callers' arguments.

/** A JSON object: not null, not an array. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isString(value: unknown): value is string {
  return typeof value === 'string';
}

export function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isString);
}

/** A count, index or byte offset: an integer >= 0 that a double holds exactly. */
export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** An object whose values are all strings (provides). */
export function isStringMap(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every(isString);
}
