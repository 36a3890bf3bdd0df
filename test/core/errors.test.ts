// The shared message helpers: every failure shape the core uses comes from here.
import { describe as group, expect, it } from 'vitest';
import { OtaError, badArgument, describe, formatError, isOtaError, nonEmptyString, unexpected } from '../../base/errors.ts';

group('message helpers', () => {
  it('unexpected: `where: expected …, got …` with the given code', () => {
    const error = unexpected('checksum-mismatch', 'data/0000/app.bin', 'sha256 ab (manifest)', 'cd');
    expect(isOtaError(error, 'checksum-mismatch')).toBe(true);
    expect(error.message).toBe('data/0000/app.bin: expected sha256 ab (manifest), got cd');
  });

  it('formatError: OtaError artifact-format with the message as given', () => {
    const error = formatError('manifest: does not list "version"');
    expect(error).toBeInstanceOf(OtaError);
    expect(error.code).toBe('artifact-format');
    expect(error.message).toBe('manifest: does not list "version"');
  });

  it('badArgument: a TypeError by default, a RangeError when asked, `name expected …, got …`', () => {
    const type = badArgument('"chunk"', 'a Uint8Array', 'string');
    expect(type).toBeInstanceOf(TypeError);
    expect(isOtaError(type)).toBe(false);
    expect(type.message).toBe('"chunk" expected a Uint8Array, got string');
    const range = badArgument('"start"', 'an integer >= 0', -1, RangeError);
    expect(range).toBeInstanceOf(RangeError);
    expect(range.message).toBe('"start" expected an integer >= 0, got -1');
  });

  it('nonEmptyString: the string itself, else a TypeError naming it and what it got', () => {
    expect(nonEmptyString('deviceType', 'board-a')).toBe('board-a');
    expect(() => nonEmptyString('deviceType', '')).toThrow(new TypeError('"deviceType" expected a non-empty string, got ""'));
    expect(() => nonEmptyString('deploymentId', undefined)).toThrow(new TypeError('"deploymentId" expected a non-empty string, got nothing'));
    expect(() => nonEmptyString('artifactName', 3)).toThrow(new TypeError('"artifactName" expected a non-empty string, got number 3'));
  });

  it('describe: strings quoted and cut at 40 characters, other values by kind', () => {
    expect(describe(undefined)).toBe('nothing');
    expect(describe(null)).toBe('null');
    expect(describe([1])).toBe('an array');
    expect(describe({})).toBe('an object');
    expect(describe(7)).toBe('number 7');
    expect(describe('x'.repeat(50))).toBe(JSON.stringify('x'.repeat(40)));
  });
});
