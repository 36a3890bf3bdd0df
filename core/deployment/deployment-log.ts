// The deployment log: what the server gets with a `failure` (PUT …/log, research/mender-protocol.md
// §2.2). Kept in KeyValue so a log written before a reset is still there to upload after it.
import type { KeyValue } from '../../platform/key-value.ts';
import type { LogLevel } from '../../platform/system.ts';
import { fromUtf8, utf8 } from '../../base/bytes.ts';
import { isObject, isString } from '../../base/json.ts';

export const LOG_KEY = 'ota-deploy-log';

export interface LogMessage {
  readonly timestamp: string; // RFC 3339
  readonly level: LogLevel;
  readonly message: string;
}

/** Longest message kept; the rest of a line is cut (a log line, not a dump). */
const MESSAGE_MAX_CHARS = 300;

/** The deployment log kept in KeyValue (createDeploymentLog). */
export interface DeploymentLog {
  readonly messages: readonly LogMessage[];
  load(): Promise<void>;
  add(level: LogLevel, message: string): void;
  /** Stores the log, dropping the oldest lines after the first while it does not fit the store. */
  save(): Promise<void>;
  clear(): Promise<void>;
}

/** `clock`: wall-clock ms since the epoch (NaN while unknown: the time since boot is used). */
export function createDeploymentLog(keyValue: KeyValue, clock: () => number): DeploymentLog {
  return new KeyValueDeploymentLog(keyValue, clock);
}

// A class rather than a closure factory: a preloaded XS device keeps its methods in flash.
class KeyValueDeploymentLog implements DeploymentLog {
  readonly #keyValue: KeyValue;
  readonly #clock: () => number;
  #messages: LogMessage[] = [];
  #dirty = false;

  constructor(keyValue: KeyValue, clock: () => number) {
    this.#keyValue = keyValue;
    this.#clock = clock;
  }

  get messages(): readonly LogMessage[] {
    return this.#messages;
  }

  async load(): Promise<void> {
    const bytes = await this.#keyValue.get(LOG_KEY);
    this.#messages = [];
    if (bytes === undefined) return;
    try {
      const parsed = JSON.parse(fromUtf8(bytes)) as unknown;
      if (Array.isArray(parsed)) this.#messages = parsed.filter(isLogMessage);
    } catch {
      // A log is diagnostics only: an unreadable one is dropped, never a reason to fail.
    }
  }

  add(level: LogLevel, message: string): void {
    const ms = this.#clock();
    const timestamp = new Date(Number.isFinite(ms) ? ms : 0).toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.#messages.push({ timestamp, level, message: message.length > MESSAGE_MAX_CHARS ? message.slice(0, MESSAGE_MAX_CHARS) + '…' : message });
    this.#dirty = true;
  }

  async save(): Promise<void> {
    if (!this.#dirty) return;
    const messages = this.#messages;
    const { maxValueBytes } = this.#keyValue;
    let bytes = utf8(JSON.stringify(messages));
    while (bytes.length > maxValueBytes && messages.length > 1) {
      messages.splice(1, 1);
      bytes = utf8(JSON.stringify(messages));
    }
    if (bytes.length > maxValueBytes) return;
    await this.#keyValue.set(LOG_KEY, bytes);
    this.#dirty = false;
  }

  async clear(): Promise<void> {
    this.#messages = [];
    this.#dirty = false;
    await this.#keyValue.delete(LOG_KEY);
  }
}

function isLogMessage(m: unknown): m is LogMessage {
  return isObject(m) && isString(m.timestamp) && isString(m.level) && isString(m.message);
}
