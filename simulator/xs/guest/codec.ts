// The bridge's message codec, shared by the Node host and the XS guest (so it stays XS-safe: no
// node:*, no Buffer). A frame is
//   [u32 LE blob count n][n × u32 LE blob size][u32 LE JSON length][UTF-8 JSON][blob bytes…]
// Byte arrays travel as blobs (never base64); everything else as tagged JSON:
//   {"$b":i} blob i · {"$u":1} undefined · {"$n":"NaN"} non-finite number · {"$m":[[k,v]…]} Map
//   {"$r":id} a live object held by the other side · {"$e":{name,message,code}} an error
//   {"$i":"…"} bigint
// Blobs decode as views into the received frame (no copy): the receiver owns that frame.

/** Objects that cross as handles: the encoder asks `toRef` for an id, the decoder asks `fromRef` for a stand-in. */
export interface RefCodec {
  toRef?(value: object): number | undefined;
  fromRef?(id: number): unknown;
}

export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Data crosses by value; anything with behaviour (a class instance, an object literal with
// methods) crosses as a handle.
function isPlain(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) if (typeof (value as Record<string, unknown>)[key] === 'function') return false;
  return true;
}

export function encodeMessage(value: unknown, refs: RefCodec = {}): Uint8Array {
  const blobs: Uint8Array[] = [];
  const json = JSON.stringify(value === undefined ? { $u: 1 } : value, function (this: unknown, _key, item: unknown) {
    if (item === undefined) return { $u: 1 };
    if (typeof item === 'number') return Number.isFinite(item) ? item : { $n: String(item) };
    if (typeof item === 'bigint') return { $i: item.toString() };
    if (typeof item !== 'object' || item === null) return item;
    if (item instanceof Uint8Array) {
      blobs.push(item);
      return { $b: blobs.length - 1 };
    }
    if (item instanceof ArrayBuffer) {
      blobs.push(new Uint8Array(item));
      return { $b: blobs.length - 1 };
    }
    if (item instanceof Map) return { $m: [...item] };
    if (item instanceof Error) {
      const code = (item as { code?: unknown }).code;
      return { $e: { name: item.name, message: item.message, ...(typeof code === 'string' ? { code } : {}) } };
    }
    if (!isPlain(item)) {
      const id = refs.toRef?.(item);
      if (id === undefined) throw new TypeError(`bridge: cannot send a ${item.constructor?.name ?? 'non-plain object'} by value`);
      return { $r: id };
    }
    return item;
  });
  const header = encoder.encode(json);
  const tableBytes = 4 + 4 * blobs.length + 4;
  let total = tableBytes + header.length;
  for (const blob of blobs) total += blob.length;
  const frame = new Uint8Array(total); // one allocation per message, sized exactly
  const view = new DataView(frame.buffer);
  view.setUint32(0, blobs.length, true);
  for (let i = 0; i < blobs.length; i++) view.setUint32(4 + 4 * i, blobs[i]!.length, true);
  view.setUint32(tableBytes - 4, header.length, true);
  frame.set(header, tableBytes);
  let at = tableBytes + header.length;
  for (const blob of blobs) {
    frame.set(blob, at);
    at += blob.length;
  }
  return frame;
}

export function decodeMessage(bytes: Uint8Array, refs: RefCodec = {}): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (): never => {
    throw new RangeError(`bridge: malformed frame of ${bytes.length} bytes`);
  };
  if (bytes.length < 8) fail();
  const count = view.getUint32(0, true);
  const tableBytes = 4 + 4 * count + 4;
  if (tableBytes > bytes.length) fail();
  const headerLength = view.getUint32(tableBytes - 4, true);
  let at = tableBytes + headerLength;
  if (at > bytes.length) fail();
  const json = decoder.decode(bytes.subarray(tableBytes, at));
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const size = view.getUint32(4 + 4 * i, true);
    if (at + size > bytes.length) fail();
    blobs.push(bytes.subarray(at, at + size));
    at += size;
  }
  if (at !== bytes.length) fail();
  return JSON.parse(json, (_key, item: unknown) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
    const tagged = item as Record<string, unknown>;
    if ('$b' in tagged) return blobs[tagged.$b as number];
    if ('$u' in tagged) return undefined;
    if ('$n' in tagged) return Number(tagged.$n);
    if ('$i' in tagged) return BigInt(tagged.$i as string);
    if ('$m' in tagged) return new Map(tagged.$m as [unknown, unknown][]);
    if ('$r' in tagged) return refs.fromRef ? refs.fromRef(tagged.$r as number) : tagged;
    return item;
  });
}

/** Reads the `{"$e": …}` shape back (JSON.parse keeps it as a plain object when no reviver matched). */
export function wireError(value: unknown): WireError | undefined {
  if (typeof value !== 'object' || value === null || !('$e' in value)) return undefined;
  return (value as { $e: WireError }).$e;
}
