import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../base/bytes.ts';
import { isOtaError } from '../../../base/errors.ts';
import { parseHeaderInfo, parseMetaData, parseTypeInfo } from '../../../core/artifact/header.ts';

const json = (value: unknown) => utf8(JSON.stringify(value));
const err = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(isOtaError(e, 'artifact-format')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('header-info', () => {
  const good = {
    payloads: [{ type: 'rootfs-image' }],
    artifact_provides: { artifact_name: 'a-1', artifact_group: 'g' },
    artifact_depends: { device_type: ['d1', 'd2'], artifact_name: ['a-0'] },
  };

  it('reads types (null for empty payloads), provides and depends', () => {
    expect(parseHeaderInfo(json(good), 'h')).toEqual({
      payloadTypes: ['rootfs-image'],
      provides: { artifact_name: 'a-1', artifact_group: 'g' },
      depends: { device_type: ['d1', 'd2'], artifact_name: ['a-0'] },
    });
    expect(parseHeaderInfo(json({ ...good, payloads: [{ type: null }] }), 'h').payloadTypes).toEqual([null]);
  });

  it('names the field, the expectation and what was found', () => {
    expect(err(() => parseHeaderInfo(utf8('{'), 'h'))).toMatch(/^h: invalid JSON/);
    expect(err(() => parseHeaderInfo(json([]), 'h'))).toBe('h: expected a JSON object, got an array');
    expect(err(() => parseHeaderInfo(json({ ...good, payloads: [] }), 'h'))).toBe('h.payloads: expected a non-empty array, got an array');
    expect(err(() => parseHeaderInfo(json({ ...good, payloads: [{ type: 3 }] }), 'h'))).toBe('h.payloads[0].type: expected a string or null, got number 3');
    expect(err(() => parseHeaderInfo(json({ ...good, artifact_provides: {} }), 'h'))).toBe('h.artifact_provides.artifact_name: expected a non-empty string');
    expect(err(() => parseHeaderInfo(json({ ...good, artifact_provides: { artifact_name: 1 } }), 'h'))).toBe('h.artifact_provides.artifact_name: expected a string, got number 1');
    expect(err(() => parseHeaderInfo(json({ ...good, artifact_depends: { device_type: 'd1' } }), 'h'))).toBe('h.artifact_depends.device_type: expected an array of strings');
    expect(err(() => parseHeaderInfo(json({ ...good, artifact_depends: { device_type: [] } }), 'h'))).toMatch(/device_type: expected a non-empty array/);
  });

  it('in header-augment only payloads is read', () => {
    expect(parseHeaderInfo(json({ payloads: [{ type: 'x' }] }), 'h', true)).toEqual({ payloadTypes: ['x'], provides: {}, depends: {} });
  });
});

describe('type-info and meta-data', () => {
  it('reads type-info fields; "" and null types are kept for the reader to resolve', () => {
    expect(parseTypeInfo(json({ type: '', artifact_provides: { k: 'v' }, artifact_depends: { a: ['1', '2'], b: 'c' }, clears_artifact_provides: ['x.*'] }), 't')).toEqual({
      type: '',
      provides: { k: 'v' },
      depends: { a: ['1', '2'], b: 'c' },
      clearsProvides: ['x.*'],
    });
    expect(parseTypeInfo(json({ type: null }), 't')).toEqual({ type: null, provides: undefined, depends: undefined, clearsProvides: undefined });
    expect(err(() => parseTypeInfo(json({ type: 'x', artifact_provides: { k: ['v'] } }), 't'))).toBe('t.artifact_provides.k: expected a string, got an array');
    expect(err(() => parseTypeInfo(json({ type: 'x', artifact_depends: { k: [1] } }), 't'))).toBe('t.artifact_depends.k: expected a string or strings, got an array');
    expect(err(() => parseTypeInfo(json({ type: 'x', clears_artifact_provides: 'x' }), 't'))).toMatch(/clears_artifact_provides: expected an array of strings/);
  });

  it('meta-data: empty means none; otherwise an object', () => {
    expect(parseMetaData(new Uint8Array(0), 'm')).toBeNull();
    expect(parseMetaData(json({ a: 1 }), 'm')).toEqual({ a: 1 });
    expect(err(() => parseMetaData(json('s'), 'm'))).toBe('m: expected a JSON object, got "s"');
  });
});
