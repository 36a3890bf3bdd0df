import { describe, it, expect } from 'vitest';
import {
  BACKOFF_UNIT_MS, DEFAULT_POLL_INTERVALS, exponentialBackoffMs, retryAfterMs, statusReportSends,
} from '../../../core/mender/backoff.ts';

// Waits (seconds) until the Go client gives up, from research/mender-protocol.md §3.4.
function waits(maxIntervalSec: number, maxAttempts = 0): number[] {
  const out: number[] = [];
  for (let tried = 0; tried < 100; tried++) {
    const ms = exponentialBackoffMs(tried, maxIntervalSec * 1000, maxAttempts);
    if (ms === undefined) return out;
    out.push(ms / 1000);
  }
  throw new Error('never gave up');
}

describe('exponentialBackoffMs (Go client.GetExponentialBackoffTime)', () => {
  it('download resume with RetryPollInterval 300: 12 waits, then gives up', () => {
    expect(waits(300)).toEqual([60, 60, 60, 120, 120, 120, 240, 240, 240, 300, 300, 300]);
  });

  it('initial fetch with UpdatePollInterval 1800: 18 waits, then gives up', () => {
    expect(waits(1800)).toEqual([60, 60, 60, 120, 120, 120, 240, 240, 240, 480, 480, 480, 960, 960, 960, 1800, 1800, 1800]);
  });

  it('a cap that is a power-of-two minute stops doubling there', () => {
    expect(waits(120)).toEqual([60, 60, 60, 120, 120, 120]);
  });

  it('a cap below one minute still waits one minute, three times', () => {
    expect(waits(5)).toEqual([60, 60, 60]);
    expect(BACKOFF_UNIT_MS).toBe(60_000);
  });

  it('maxAttempts > 0 bounds the tries and keeps waiting at the cap until then', () => {
    expect(waits(300, 5)).toEqual([60, 60, 60, 120, 120]);
    expect(waits(60, 7)).toEqual([60, 60, 60, 60, 60, 60, 60]);
  });

  it('rejects a negative or fractional try count', () => {
    expect(() => exponentialBackoffMs(-1, 300_000)).toThrow(RangeError);
    expect(() => exponentialBackoffMs(1.5, 300_000)).toThrow(RangeError);
  });
});

describe('poll settings', () => {
  it("use Mender's names and defaults", () => {
    expect(DEFAULT_POLL_INTERVALS).toEqual({
      UpdatePollIntervalSeconds: 1800,
      InventoryPollIntervalSeconds: 28800,
      RetryPollIntervalSeconds: 300,
      RetryPollCount: 0,
    });
    expect(Object.isFrozen(DEFAULT_POLL_INTERVALS)).toBe(true);
  });

  it('status reports: 11 sends with the defaults, 4 when Update/Retry <= 3 (app/state.go)', () => {
    expect(statusReportSends(DEFAULT_POLL_INTERVALS)).toBe(11);
    expect(statusReportSends({ ...DEFAULT_POLL_INTERVALS, UpdatePollIntervalSeconds: 5, RetryPollIntervalSeconds: 5 })).toBe(4);
    expect(statusReportSends({ ...DEFAULT_POLL_INTERVALS, UpdatePollIntervalSeconds: 1200, RetryPollIntervalSeconds: 300 })).toBe(9);
    expect(statusReportSends({ ...DEFAULT_POLL_INTERVALS, RetryPollIntervalSeconds: 0 })).toBe(4);
  });
});

describe('retryAfterMs', () => {
  it('reads delta-seconds', () => {
    expect(retryAfterMs('120', NaN)).toBe(120_000);
    expect(retryAfterMs(' 0 ', NaN)).toBe(0);
  });

  it('reads an HTTP-date against the wall clock, never negative', () => {
    const now = Date.parse('2026-11-21T20:50:00Z');
    expect(retryAfterMs('Sat, 21 Nov 2026 20:50:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Sat, 21 Nov 2026 20:49:00 GMT', now)).toBe(0);
    expect(retryAfterMs('Sat, 21 Nov 2026 20:50:30 GMT', NaN)).toBeUndefined();
  });

  it('is undefined when absent or unreadable', () => {
    expect(retryAfterMs(undefined, 0)).toBeUndefined();
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs('-5', 0)).toBeUndefined();
  });
});
