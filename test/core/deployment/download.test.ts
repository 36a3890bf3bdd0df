// The download state's shared failure: a payload type no registered module installs.
import { describe, expect, it } from 'vitest';
import { noUpdateModule } from '../../../core/deployment/download.ts';
import { isOtaError } from '../../../base/errors.ts';
import { createUpdateModuleRegistry } from '../../../core/modules/update-module.ts';
import { createZephyrImageModule } from '../../../core/modules/zephyr-image.ts';

describe('noUpdateModule', () => {
  it('names the payload type and the types that are registered', () => {
    const error = noUpdateModule('esp-ota', createUpdateModuleRegistry([createZephyrImageModule()]));
    expect(isOtaError(error, 'artifact-unsupported')).toBe(true);
    expect(error.message).toBe('payload type "esp-ota": no update module (have zephyr-image)');
    expect(noUpdateModule(undefined, createUpdateModuleRegistry()).message).toBe('payload type undefined: no update module (have none)');
  });
});
