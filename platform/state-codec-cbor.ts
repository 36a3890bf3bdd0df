// The deployment record's codec on boards: CBOR (RFC 8949) via cbor-x, plain maps and no record
// extension, so any CBOR decoder can read a record pulled off a device for diagnosis.
import { Decoder, Encoder } from 'cbor-x';

/** Same shape as core/deployment/record.ts StateCodec (structural, so platform/ needs no core import). */
export interface CborStateCodec {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

export function createCborStateCodec(): CborStateCodec {
  const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
  const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });
  return {
    encode(value: unknown): Uint8Array {
      // cbor-x returns a view of its reusable buffer: copy it out before the next encode.
      return new Uint8Array(encoder.encode(withoutUndefined(value)));
    },
    decode(bytes: Uint8Array): unknown {
      return decoder.decode(bytes);
    },
  };
}

// Absent optional fields stay absent (smaller records; `undefined` is not plain data).
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) if (field !== undefined) out[key] = withoutUndefined(field);
  return out;
}
