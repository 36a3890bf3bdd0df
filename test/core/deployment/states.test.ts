import { describe, expect, it } from 'vitest';
import { STATES, STATE_NAMES, isPastInstall, isStateName, next, type StateName } from '../../../core/deployment/states.ts';

describe('deployment state table', () => {
  it('follows the happy path from idle to cleanup', () => {
    const path: StateName[] = ['idle'];
    const outcomes = { 'check-update': 'ok' } as const;
    let state: StateName = 'idle';
    while (state !== 'cleanup') {
      state = next(state, (outcomes as Record<string, 'ok'>)[state] ?? 'ok');
      path.push(state);
    }
    expect(path).toEqual(['idle', 'authorize', 'check-update', 'download', 'verify', 'install', 'reboot', 'verify-reboot', 'commit', 'report', 'cleanup']);
  });

  it('sends failures before the install to failure and after it to rollback', () => {
    expect(next('download', 'fail')).toBe('failure');
    expect(next('verify', 'fail')).toBe('failure');
    for (const state of ['install', 'reboot', 'verify-reboot', 'commit'] as const) {
      expect(next(state, 'fail')).toBe('rollback');
      expect(isPastInstall(state)).toBe(true);
    }
    expect(isPastInstall('download')).toBe(false);
    expect(next('rollback', 'ok')).toBe('rollback-reboot');
    expect(next('rollback', 'none')).toBe('failure');
    expect(next('verify-rollback', 'ok')).toBe('failure');
    expect(next('failure', 'ok')).toBe('report');
  });

  it('routes check-update outcomes: none to idle, installed to already-installed', () => {
    expect(next('check-update', 'none')).toBe('idle');
    expect(next('check-update', 'installed')).toBe('already-installed');
    expect(next('already-installed', 'ok')).toBe('report');
  });

  it('reports the statuses of the Go client per state', () => {
    expect(STATES.download.report).toBe('downloading');
    expect(STATES.install.report).toBe('installing');
    expect(STATES.reboot.report).toBe('rebooting');
    expect(STATES.commit.report).toBe('installing');
    expect(STATES.commit.reauthorize).toBe(true);
  });

  it('refuses an outcome the row does not name, and unknown states', () => {
    expect(() => next('download', 'none')).toThrow(/state "download" has no "none" edge/);
    expect(() => next('nope' as StateName, 'ok')).toThrow(TypeError);
    expect(isStateName('verify-reboot')).toBe(true);
    expect(isStateName('toString')).toBe(false);
    expect(isStateName(3)).toBe(false);
  });

  it('names every edge target as a state, and every deployment state is persisted', () => {
    for (const name of STATE_NAMES) {
      const row = STATES[name];
      for (const target of [row.ok, row.fail, row.none, row.installed]) if (target !== undefined) expect(isStateName(target)).toBe(true);
    }
    expect(STATE_NAMES.filter((s) => !STATES[s].persisted)).toEqual(['idle', 'authorize', 'check-update', 'cleanup']);
  });
});
