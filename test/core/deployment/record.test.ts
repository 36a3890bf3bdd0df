import { describe, expect, it } from 'vitest';
import { OtaError } from '../../../base/errors.ts';
import { decodeRecord, encodeRecord, jsonStateCodec, validateRecord, type DeploymentRecord } from '../../../core/deployment/record.ts';
import { RECORD_KEY, createRecordStore, STORE_COUNT_LIMIT } from '../../../core/deployment/record-store.ts';
import { createDeploymentLog, LOG_KEY } from '../../../core/deployment/deployment-log.ts';
import { createCborStateCodec } from '../../../platform/state-codec-cbor.ts';
import type { KeyValue } from '../../../platform/key-value.ts';

const RECORD: DeploymentRecord = {
  v: 1,
  state: 'download',
  storeCount: 3,
  deploymentId: 'd2b1c3e0-0000-4000-8000-000000000001',
  artifactName: 'firmware-1.1.0',
  uri: 'https://127.0.0.1:8443/api/devices/v1/deployments/download/x?x-men-expire=1',
  fromVersion: '1.0.0',
  attempts: 1,
  checkpoint: { payloadIndex: 0, fileName: 'zephyr.signed.bin', fileOffset: 65536, artifactOffset: 68096 },
  provides: { 'zephyr-image.version': '1.1.0' },
  clearsProvides: ['zephyr-image.*'],
  compressed: false,
};

/** A Map-backed KeyValue with the contract's key rule. */
function memoryKeyValue(maxValueBytes = 1984): KeyValue & { map: Map<string, Uint8Array> } {
  const map = new Map<string, Uint8Array>();
  const check = (key: string) => {
    if (!/^[\x20-\x7e]{1,15}$/.test(key)) throw new RangeError(`key ${key}`);
  };
  return {
    map,
    maxValueBytes,
    get: (key) => (check(key), map.get(key)?.slice()),
    set: (key, value) => {
      check(key);
      if (value.length > maxValueBytes) throw new RangeError('too big');
      map.set(key, value.slice());
    },
    delete: (key) => (check(key), void map.delete(key)),
  };
}

describe.each([
  ['cbor', createCborStateCodec()],
  ['json', jsonStateCodec],
])('deployment record with the %s codec', (_name, codec) => {
  it('round-trips every field, absent optionals staying absent', () => {
    const decoded = decodeRecord(codec, encodeRecord(codec, RECORD));
    expect(decoded).toEqual(RECORD);
    const minimal: DeploymentRecord = { v: 1, state: 'report', storeCount: 0, deploymentId: 'd', artifactName: 'a', uri: 'u', fromVersion: '1', attempts: 0, finalStatus: 'failure' };
    const back = decodeRecord(codec, encodeRecord(codec, minimal));
    expect(back).toEqual(minimal);
    expect('checkpoint' in back).toBe(false);
  });

  it('rejects a flipped bit anywhere with storage-corrupt naming the crc', () => {
    const bytes = encodeRecord(codec, RECORD);
    for (const at of [0, bytes.length >> 1, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[at]! ^= 0x10;
      expect(() => decodeRecord(codec, bad)).toThrow(/deployment record: expected crc32 [0-9a-f]{8}, got [0-9a-f]{8}/);
    }
    expect(() => decodeRecord(codec, new Uint8Array(3))).toThrow(/expected more than 4 bytes, got 3/);
  });

  it('rejects well-formed data that is not a record, naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...RECORD, state: 'dancing' }, /field "state": expected a state name, got "dancing"/],
      [{ ...RECORD, v: 2 }, /field "v": expected 1/],
      [{ ...RECORD, storeCount: -1 }, /field "storeCount"/],
      [{ ...RECORD, deploymentId: '' }, /field "deploymentId": expected a non-empty string/],
      [{ ...RECORD, provides: { a: 1 } }, /field "provides"/],
      [{ ...RECORD, checkpoint: { ...RECORD.checkpoint, fileOffset: 1.5 } }, /field "checkpoint.fileOffset": expected a count, got number 1\.5$/],
      [{ ...RECORD, provides: ['x'] }, /field "provides": expected a map of strings, got an array$/],
      [{ ...RECORD, finalStatus: 'meh' }, /field "finalStatus"/],
    ];
    for (const [value, message] of cases) {
      const error = (() => {
        try {
          decodeRecord(codec, encodeRecord(codec, value as unknown as DeploymentRecord));
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(OtaError);
      expect((error as OtaError).code).toBe('storage-corrupt');
      expect((error as OtaError).message).toMatch(message);
    }
    expect(() => validateRecord([1, 2])).toThrow(/expected an object/);
  });
});

describe('RecordStore', () => {
  it('counts every state it enters and stores before returning', async () => {
    const kv = memoryKeyValue();
    const store = createRecordStore(kv, createCborStateCodec());
    expect(await store.load()).toBeUndefined();
    const entered = await store.enter(RECORD, 'verify');
    expect(entered.storeCount).toBe(RECORD.storeCount + 1);
    expect(await store.load()).toEqual(entered);
    const updated = await store.update({ ...entered, toVersion: '1.1.0' });
    expect((await store.load())?.storeCount).toBe(entered.storeCount);
    expect((await store.load())?.toVersion).toBe('1.1.0');
    await store.clear();
    expect(kv.map.has(RECORD_KEY)).toBe(false);
    expect(updated.toVersion).toBe('1.1.0');
  });

  it('trips the loop guard past the limit, then allows the failure path a few more stores', async () => {
    const store = createRecordStore(memoryKeyValue(), createCborStateCodec());
    let record: DeploymentRecord = { ...RECORD, storeCount: STORE_COUNT_LIMIT - 1 };
    record = await store.enter(record, 'download');
    await expect(store.enter(record, 'download')).rejects.toThrow(/state loop detected entering "download" \(stored 40 times, limit 40\)/);
    record = { ...record, loop: true };
    for (let i = 0; i < 8; i++) record = await store.enter(record, 'failure');
    await expect(store.enter(record, 'report')).rejects.toMatchObject({ code: 'storage-corrupt' });
  });

  it('refuses a record larger than the key-value store takes, before writing', async () => {
    const kv = memoryKeyValue(200);
    const store = createRecordStore(kv, createCborStateCodec());
    await expect(store.enter({ ...RECORD, uri: 'https://x/' + 'a'.repeat(300) }, 'download')).rejects.toThrow(/takes at most 200/);
    expect(kv.map.size).toBe(0);
  });
});

describe('DeploymentLog', () => {
  it('survives a reload, stamps RFC 3339 times, and trims the oldest lines after the first to fit', async () => {
    const kv = memoryKeyValue(600);
    const log = createDeploymentLog(kv, () => Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    log.add('info', 'deployment d started');
    for (let i = 0; i < 20; i++) log.add('info', `line ${i} ${'x'.repeat(20)}`);
    log.add('error', 'the last word');
    await log.save();
    const again = createDeploymentLog(kv, () => NaN);
    await again.load();
    const messages = again.messages;
    expect(messages[0]).toEqual({ timestamp: '2026-01-02T03:04:05Z', level: 'info', message: 'deployment d started' });
    expect(messages.at(-1)?.message).toBe('the last word');
    expect(messages.length).toBeLessThan(22);
    expect(kv.map.get(LOG_KEY)!.length).toBeLessThanOrEqual(600);
    again.add('warn', 'no clock');
    expect(again.messages.at(-1)?.timestamp).toBe('1970-01-01T00:00:00Z');
    await again.clear();
    expect(kv.map.has(LOG_KEY)).toBe(false);
  });

  it('drops an unreadable stored log instead of failing', async () => {
    const kv = memoryKeyValue();
    kv.map.set(LOG_KEY, new Uint8Array([0xff, 0x00]));
    const log = createDeploymentLog(kv, () => 0);
    await log.load();
    expect(log.messages).toEqual([]);
  });

  it('keeps only well-formed messages from a stored log', async () => {
    const kv = memoryKeyValue();
    const good = { timestamp: '2026-01-02T03:04:05Z', level: 'info', message: 'kept' };
    const stored = [good, null, ['x'], { ...good, level: 3 }, { timestamp: 't', level: 'warn' }, 'text'];
    kv.map.set(LOG_KEY, new TextEncoder().encode(JSON.stringify(stored)));
    const log = createDeploymentLog(kv, () => 0);
    await log.load();
    expect(log.messages).toEqual([good]);
  });
});
