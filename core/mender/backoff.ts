// Mender's timing rules: the poll-interval settings (names and defaults as in mender.conf) and the
// retry backoff the Go client 3.4 computes (client.GetExponentialBackoffTime). Pure functions.
import { badArgument } from '../../base/errors.ts';
import { isCount } from '../../base/json.ts';

/** The mender.conf settings that drive polling and retries, under Mender's own names. */
export interface PollIntervals {
  /** How often to ask for a deployment. */
  readonly UpdatePollIntervalSeconds: number;
  /** How often to send the inventory. */
  readonly InventoryPollIntervalSeconds: number;
  /** The cap of the retry backoff (failed downloads, reports, inventory). */
  readonly RetryPollIntervalSeconds: number;
  /** Attempts before giving up; 0 = Mender's rule (three tries at the capped interval). */
  readonly RetryPollCount: number;
}

// 1800 / 300 are the Go client's fallbacks and the C++ client's defaults; inventory uses the
// current (C++) client's 8 h, which is also the production example's value.
export const DEFAULT_POLL_INTERVALS: PollIntervals = Object.freeze({
  UpdatePollIntervalSeconds: 1800,
  InventoryPollIntervalSeconds: 28800,
  RetryPollIntervalSeconds: 300,
  RetryPollCount: 0,
});

/** Mender's smallest backoff step: one minute. */
export const BACKOFF_UNIT_MS = 60_000;
const PER_INTERVAL_ATTEMPTS = 3;

/**
 * The wait before retry number `tried` (0-based: 0 = the wait after the first failure), or
 * undefined when Mender would give up. Starts at one minute, three tries per interval, then the
 * interval doubles up to `maxIntervalMs`; with `maxAttempts` 0 it gives up after three tries at
 * the cap, otherwise once `tried` reaches `maxAttempts`. A cap below one minute waits one minute.
 */
export function exponentialBackoffMs(tried: number, maxIntervalMs: number, maxAttempts = 0): number | undefined {
  if (!isCount(tried)) throw badArgument('"tried"', 'an integer >= 0', tried, RangeError);
  if (!(maxIntervalMs >= 0)) throw badArgument('"maxIntervalMs"', '>= 0', maxIntervalMs, RangeError);
  if (maxAttempts > 0 && tried >= maxAttempts) return undefined;
  let interval = BACKOFF_UNIT_MS;
  let next = interval;
  for (let c = 0; c <= tried; c += PER_INTERVAL_ATTEMPTS) {
    interval = next;
    next *= 2;
    if (interval >= maxIntervalMs) {
      if (maxAttempts <= 0 && tried - c >= PER_INTERVAL_ATTEMPTS) return undefined;
      return maxIntervalMs < BACKOFF_UNIT_MS ? BACKOFF_UNIT_MS : maxIntervalMs;
    }
  }
  return interval;
}

/**
 * How many times the Go client sends one status report before dropping it
 * (app/state.go maxSendingAttempts): n = Update / Retry intervals; 3 retries when n <= 3, else
 * min(2n, 10); plus the first send.
 */
export function statusReportSends(intervals: PollIntervals): number {
  const retry = intervals.RetryPollIntervalSeconds;
  const n = retry > 0 ? Math.floor(intervals.UpdatePollIntervalSeconds / retry) : 0;
  const retries = n <= 3 ? 3 : Math.min(2 * n, 10);
  return retries + 1;
}

/**
 * Milliseconds a Retry-After header asks for: delta-seconds or an IMF-fixdate (needs the wall
 * clock; NaN when unknown). undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | undefined, wallClockMs: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  // IMF-fixdate only (RFC 9110 §5.6.7): engines parse other strings loosely ("-5" as a year).
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date) || Number.isNaN(wallClockMs)) return undefined;
  return Math.max(0, date - wallClockMs);
}
