// The Node side of embedded:storage/key-value (embedded-storage-key-value.ts): one NVS namespace
// over the simulated board's key-value store, values typed as NVS entries are.
import type { BootedBoard } from '../board/sim-device.ts';
import { nativeError } from './native-errors.ts';

const FORMATS = ['buffer', 'string', 'uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'uint64', 'int64'];

export /** One NVS namespace: values carry their type, as NVS entries do. */
class HostStorage {
  closed = false;
  constructor(
    readonly host: { readonly board: BootedBoard },
    readonly readOnly: boolean,
  ) {}

  async read(key: string, format: string): Promise<unknown> {
    this.#checkKey(key);
    const stored = await this.host.board.keyValue.get(key);
    if (stored === undefined) return undefined;
    const payload = stored.subarray(1);
    if (stored[0] !== FORMATS.indexOf(format)) throw new TypeError('mismatch');
    if (format === 'buffer') return payload;
    const text = new TextDecoder().decode(payload);
    if (format === 'string') return text;
    return format.endsWith('64') ? BigInt(text) : Number(text);
  }

  async write(key: string, format: string, value: unknown): Promise<void> {
    if (this.readOnly) throw nativeError('read-only');
    this.#checkKey(key);
    const payload = format === 'buffer' ? (value as Uint8Array) : new TextEncoder().encode(String(value));
    const record = new Uint8Array(1 + payload.length);
    record[0] = FORMATS.indexOf(format); // the entry's type, as NVS keeps one per key
    record.set(payload, 1);
    if (payload.length > this.host.board.keyValue.maxValueBytes - 1) throw nativeError('ESP_ERR_NVS_VALUE_TOO_LONG');
    await this.host.board.keyValue.set(key, record);
  }

  async delete(key: string): Promise<void> {
    if (this.readOnly) throw nativeError('read-only');
    this.#checkKey(key);
    await this.host.board.keyValue.delete(key);
  }

  keys(): string[] {
    throw nativeError('ESP_ERR_NOT_SUPPORTED: the simulated NVS does not list keys');
  }

  close(): void {
    this.closed = true;
  }

  #checkKey(key: string): void {
    if (this.closed) throw nativeError('closed');
    if (key.length === 0) throw nativeError('ESP_ERR_NVS_INVALID_NAME');
    if (key.length > 15) throw nativeError('ESP_ERR_NVS_KEY_TOO_LONG');
  }
}
