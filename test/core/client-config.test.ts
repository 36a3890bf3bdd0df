// resolveClientConfig: the anti-rollback options are checked once, at the edge.
import { describe, expect, it } from 'vitest';
import { resolveClientConfig } from '../../core/client-config.ts';

const BASE = { serverUrl: 'https://mender.example', deviceType: 'dev' };

describe('resolveClientConfig: anti-rollback options', () => {
  it('takes minImageVersion as major.minor.revision[+build] and minSecurityCounter as a u32; refuses others naming the field', () => {
    expect(resolveClientConfig({ ...BASE, minImageVersion: '1.2.3+4', minSecurityCounter: 7 })).toMatchObject({ minImageVersion: '1.2.3+4', minSecurityCounter: 7 });
    expect(resolveClientConfig(BASE).minImageVersion).toBeUndefined();
    expect(() => resolveClientConfig({ ...BASE, minImageVersion: 'v1' })).toThrow('"minImageVersion" expected major.minor.revision[+build], got "v1"');
    expect(() => resolveClientConfig({ ...BASE, minSecurityCounter: -1 })).toThrow(RangeError);
    expect(() => resolveClientConfig({ ...BASE, minSecurityCounter: 1.5 })).toThrow('"minSecurityCounter" expected an integer in 0..4294967295, got 1.5');
  });
});
