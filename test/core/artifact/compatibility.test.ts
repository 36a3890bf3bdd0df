import { describe, expect, it } from 'vitest';
import { applyClearsProvides, checkDepends, isDeviceTypeCompatible, matchesProvidesGlob } from '../../../core/artifact/compatibility.ts';

describe('isDeviceTypeCompatible', () => {
  it('accepts only listed device types, exactly', () => {
    const head = { deviceTypes: ['fx-device', 'fx-device-b'] };
    expect(isDeviceTypeCompatible(head, 'fx-device')).toBe(true);
    expect(isDeviceTypeCompatible(head, 'fx-device-b')).toBe(true);
    expect(isDeviceTypeCompatible(head, 'fx-dev')).toBe(false);
    expect(isDeviceTypeCompatible(head, 'FX-DEVICE')).toBe(false);
  });
});

describe('checkDepends', () => {
  const provides = { artifact_name: 'fx-prev-2', artifact_group: 'g1', 'rootfs-image.checksum': 'abc' };

  it('is satisfied by equal strings and by any-of arrays; device_type is left to the device-type check', () => {
    expect(checkDepends({}, provides)).toBeUndefined();
    expect(checkDepends({ artifact_name: ['fx-prev-1', 'fx-prev-2'], 'rootfs-image.checksum': 'abc', device_type: ['other'] }, provides)).toBeUndefined();
  });

  it('names the unmet key, the expected and the provided value', () => {
    expect(checkDepends({ artifact_name: ['fx-prev-1'] }, provides)).toBe('"artifact_name": expected one of ["fx-prev-1"], got "fx-prev-2"');
    expect(checkDepends({ 'rootfs-image.checksum': 'abd' }, provides)).toBe('"rootfs-image.checksum": expected "abd", got "abc"');
    expect(checkDepends({ foo: 'bar' }, provides)).toBe('"foo": expected "bar", got none');
    expect(checkDepends({ artifact_group: [] }, provides)).toMatch(/one of \[\]/);
    expect(checkDepends({ toString: 'x' }, {})).toBe('"toString": expected "x", got none'); // no prototype lookups
  });
});

describe('applyClearsProvides', () => {
  const stored = {
    artifact_name: 'old',
    artifact_group: 'g',
    'rootfs-image.version': 'old',
    'rootfs-image.single-file.version': '1',
    'rootfs-image.single-file.extra': 'x',
    rootfs_image_checksum: 'abc',
    'other.version': '2',
  };

  it('drops keys matching the globs (rootfs-image defaults) and keeps the rest', () => {
    expect(applyClearsProvides(stored, ['artifact_group', 'rootfs_image_checksum', 'rootfs-image.*'])).toEqual({ artifact_name: 'old', 'other.version': '2' });
    expect(applyClearsProvides(stored, ['rootfs-image.single-file.*'])).toEqual({
      artifact_name: 'old',
      artifact_group: 'g',
      'rootfs-image.version': 'old',
      rootfs_image_checksum: 'abc',
      'other.version': '2',
    });
    expect(applyClearsProvides(stored, [])).toEqual(stored);
  });

  it('matches * across dots and anywhere; other characters literally', () => {
    expect(matchesProvidesGlob('*', 'anything.at.all')).toBe(true);
    expect(matchesProvidesGlob('rootfs-image.*.version', 'rootfs-image.a.b.version')).toBe(true);
    expect(matchesProvidesGlob('rootfs-image.*.version', 'rootfs-image.version')).toBe(false);
    expect(matchesProvidesGlob('*.version', 'other.version')).toBe(true);
    expect(matchesProvidesGlob('a*b*c', 'aXXbYYc')).toBe(true);
    expect(matchesProvidesGlob('a*b*c', 'aXXcYYb')).toBe(false);
    expect(matchesProvidesGlob('rootfs.image', 'rootfs-image')).toBe(false); // "." is not a regex wildcard
    expect(matchesProvidesGlob('artifact_group', 'artifact_group_x')).toBe(false);
    expect(matchesProvidesGlob('', '')).toBe(true);
  });
});
