// The JSON shape tests every reader of JSON shares.
import { describe, expect, it } from 'vitest';
import { isCount, isObject, isString, isStringMap, isStrings } from '../../base/json.ts';

describe('JSON shapes', () => {
  it('isObject: objects only, not null or arrays', () => {
    expect([{}, { a: 1 }].map(isObject)).toEqual([true, true]);
    expect([null, [], 'x', 1, undefined].map(isObject)).toEqual([false, false, false, false, false]);
  });

  it('isCount: integers >= 0 a double holds exactly', () => {
    expect([0, 7, Number.MAX_SAFE_INTEGER].map(isCount)).toEqual([true, true, true]);
    expect([-1, 1.5, Number.MAX_SAFE_INTEGER + 1, NaN, '3', undefined].map(isCount)).toEqual([false, false, false, false, false, false]);
  });

  it('isString, isStrings and isStringMap', () => {
    expect([isString(''), isString(1)]).toEqual([true, false]);
    expect([isStrings([]), isStrings(['a', 'b']), isStrings(['a', 1]), isStrings('ab')]).toEqual([true, true, false, false]);
    expect([isStringMap({}), isStringMap({ a: 'x' }), isStringMap({ a: 1 }), isStringMap(['x']), isStringMap(null)]).toEqual([true, true, false, false, false]);
  });
});
