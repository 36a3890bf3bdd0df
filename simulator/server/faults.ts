// Fault injection for tests, changed at runtime through the handle startServer returns.
// Request faults match the URL path; download faults apply to artifact downloads only.

export interface RequestFaultOptions {
  /** Substring of, or pattern for, the request path (no query), e.g. '/status' or /\/next$/. */
  path: string | RegExp;
  /** Answer with this status instead of handling the request: 5xx, or 429 (with Retry-After). */
  status: number;
  /** How many matching requests get the fault (default 1). */
  count?: number;
  /** Only this method (default any). */
  method?: string;
  /** Sent as Retry-After (seconds); defaults to 1 for 429. */
  retryAfterSec?: number;
}

interface RequestFault {
  pattern: string | RegExp;
  status: number;
  remaining: number;
  method: string | undefined;
  retryAfterSec: number | undefined;
}

export interface DownloadCut {
  /** Close the connection after this many body bytes of the response. */
  afterBytes: number;
  /** How many downloads to cut (default 1). */
  count?: number;
}

export interface Corruption {
  /** Artifact byte offset (from the start of the file, whatever Range was asked). */
  offset: number;
  /** Bytes to change from `offset` (default 1). */
  length?: number;
  /** XOR mask applied to each byte (default 0xff). */
  xor?: number;
}

export class Faults {
  private requestFaults: RequestFault[] = [];
  private cuts: { afterBytes: number; remaining: number }[] = [];
  private corruptions: Required<Corruption>[] = [];
  private throttleBytesPerSec: number | undefined;
  private epoch = 0;

  /** The next `count` requests matching `path` (and `method`) get `status` instead of an answer. */
  failRequests(options: RequestFaultOptions): void {
    if (!Number.isInteger(options.status) || options.status < 400 || options.status > 599) {
      throw new RangeError(`"status" expected an HTTP error status 400..599, got ${options.status}`);
    }
    const count = options.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`"count" expected a positive integer, got ${count}`);
    this.requestFaults.push({
      pattern: options.path,
      status: options.status,
      remaining: count,
      method: options.method?.toUpperCase(),
      retryAfterSec: options.retryAfterSec ?? (options.status === 429 ? 1 : undefined),
    });
  }

  /** The next `count` artifact downloads stop after `afterBytes` body bytes (the TCP connection is destroyed). */
  cutDownload(cut: DownloadCut): void {
    if (!Number.isInteger(cut.afterBytes) || cut.afterBytes < 0) {
      throw new RangeError(`"afterBytes" expected a non-negative integer, got ${cut.afterBytes}`);
    }
    this.cuts.push({ afterBytes: cut.afterBytes, remaining: cut.count ?? 1 });
  }

  /** Serve downloads at most this fast; undefined = full speed. */
  throttleDownload(bytesPerSec: number | undefined): void {
    if (bytesPerSec !== undefined && !(bytesPerSec > 0)) throw new RangeError(`"bytesPerSec" expected > 0, got ${bytesPerSec}`);
    this.throttleBytesPerSec = bytesPerSec;
  }

  /** Every later download serves these artifact bytes changed (until clear()). */
  corruptDownload(corruption: Corruption): void {
    if (!Number.isInteger(corruption.offset) || corruption.offset < 0) {
      throw new RangeError(`"offset" expected a non-negative integer, got ${corruption.offset}`);
    }
    this.corruptions.push({ offset: corruption.offset, length: corruption.length ?? 1, xor: corruption.xor ?? 0xff });
  }

  /** Every device JWT issued until now is refused from now on (as if it expired): devices must re-authenticate. */
  expireTokens(): void {
    this.epoch++;
  }

  clear(): void {
    this.requestFaults = [];
    this.cuts = [];
    this.corruptions = [];
    this.throttleBytesPerSec = undefined;
  }

  // ---- used by the server ----

  takeRequestFault(method: string, path: string): { status: number; retryAfterSec: number | undefined } | undefined {
    const fault = this.requestFaults.find(
      (f) =>
        f.remaining > 0 &&
        (f.method === undefined || f.method === method) &&
        (typeof f.pattern === 'string' ? path.includes(f.pattern) : f.pattern.test(path)),
    );
    if (fault === undefined) return undefined;
    fault.remaining--;
    this.requestFaults = this.requestFaults.filter((f) => f.remaining > 0);
    return { status: fault.status, retryAfterSec: fault.retryAfterSec };
  }

  takeCut(): number | undefined {
    const cut = this.cuts[0];
    if (cut === undefined) return undefined;
    if (--cut.remaining === 0) this.cuts.shift();
    return cut.afterBytes;
  }

  get throttle(): number | undefined {
    return this.throttleBytesPerSec;
  }

  /**
   * `chunk` (artifact bytes from `artifactOffset`) with the corruptions applied: the chunk itself
   * when none overlaps it, else a corrupted copy (the source buffer is never touched).
   */
  corrupt(chunk: Uint8Array, artifactOffset: number): Uint8Array {
    let out = chunk;
    for (const c of this.corruptions) {
      const from = Math.max(c.offset, artifactOffset);
      const to = Math.min(c.offset + c.length, artifactOffset + chunk.length);
      if (from >= to) continue;
      if (out === chunk) out = chunk.slice();
      for (let at = from; at < to; at++) out[at - artifactOffset]! ^= c.xor;
    }
    return out;
  }

  /** Tokens carry the epoch they were issued in; one from an earlier epoch counts as expired. */
  get tokenEpoch(): number {
    return this.epoch;
  }
}
