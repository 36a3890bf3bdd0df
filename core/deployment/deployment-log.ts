// The deployment log: what the server gets with a `failure` (PUT …/log, research/mender-protocol.md
// §2.2). Kept in KeyValue so a log written before a reset is still there to upload after it.
import type { KeyValue } from '../../platform/key-value.ts';
import type { LogLevel } from '../../platform/system.ts';
import { fromUtf8, utf8 } from '../bytes.ts';
import { isObject, isString } from '../json.ts';

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
  let messages: LogMessage[] = [];
  let dirty = false;
  return {
    get messages() {
      return messages;
    },
    async load() {
      const bytes = await keyValue.get(LOG_KEY);
      messages = [];
      if (bytes === undefined) return;
      try {
        const parsed = JSON.parse(fromUtf8(bytes)) as unknown;
        if (Array.isArray(parsed)) {
          messages = parsed.filter((m): m is LogMessage => isObject(m) && isString(m.timestamp) && isString(m.level) && isString(m.message));
        }
      } catch {
        // A log is diagnostics only: an unreadable one is dropped, never a reason to fail.
      }
    },
    add(level, message) {
      const ms = clock();
      const timestamp = new Date(Number.isFinite(ms) ? ms : 0).toISOString().replace(/\.\d{3}Z$/, 'Z');
      messages.push({ timestamp, level, message: message.length > MESSAGE_MAX_CHARS ? message.slice(0, MESSAGE_MAX_CHARS) + '…' : message });
      dirty = true;
    },
    async save() {
      if (!dirty) return;
      let bytes = utf8(JSON.stringify(messages));
      while (bytes.length > keyValue.maxValueBytes && messages.length > 1) {
        messages.splice(1, 1);
        bytes = utf8(JSON.stringify(messages));
      }
      if (bytes.length > keyValue.maxValueBytes) return;
      await keyValue.set(LOG_KEY, bytes);
      dirty = false;
    },
    async clear() {
      messages = [];
      dirty = false;
      await keyValue.delete(LOG_KEY);
    },
  };
}
