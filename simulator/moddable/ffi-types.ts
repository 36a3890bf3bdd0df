// The C types of Moddable's FFI, as the SDK's tools/ffi.js (8.2.3) knows them, and the conversions
// its generated glue (mc.ffi.c) applies: shared by the bundler (which refuses a manifest mcconfig
// would refuse), the guest's mc/ffi (JS value → C argument, C result → JS value, as XS does) and the
// host natives (the C side). No Node API: this file runs inside XS too.

/** How ffi.js converts a type (its Type subclasses, tools/ffi.js:56-179). */
export type FfiKind = 'integer' | 'unsigned' | 'number' | 'bigint64' | 'biguint64' | 'pointer' | 'sized' | 'string' | 'void';

export interface FfiType {
  /** As the manifest spells it. */
  readonly declared: string;
  readonly kind: FfiKind;
  /** Bytes of the scalar, or of one element for pointers and T[N] (sizeof in the glue). */
  readonly bytes: number;
  /** float: the C cast to float rounds (Math.fround). */
  readonly float?: boolean;
  /** T[N]: N; the glue checks the ArrayBuffer holds N elements (ffi.js:116-118, xsffi.c:35-41). */
  readonly count?: number;
}

export interface FfiSignature {
  readonly name: string;
  readonly arguments: readonly FfiType[];
  readonly returns: FfiType;
}

/** A manifest's "ffi.functions" entry. */
export interface FfiDeclaration {
  readonly arguments?: readonly string[];
  readonly returns?: string;
}

const SCALARS: Readonly<Record<string, { kind: FfiKind; bytes: number; float?: boolean }>> = {
  int8_t: { kind: 'integer', bytes: 1 },
  int16_t: { kind: 'integer', bytes: 2 },
  int32_t: { kind: 'integer', bytes: 4 },
  int64_t: { kind: 'bigint64', bytes: 8 },
  uint8_t: { kind: 'unsigned', bytes: 1 },
  uint16_t: { kind: 'unsigned', bytes: 2 },
  uint32_t: { kind: 'unsigned', bytes: 4 },
  uint64_t: { kind: 'biguint64', bytes: 8 },
  float: { kind: 'number', bytes: 4, float: true },
  double: { kind: 'number', bytes: 8 },
};

/**
 * tools/ffi.js:325-340 normalizeType: "T *" → "T*", "T[N]" (N a positive decimal) → "T[]" + N.
 * Then ArgumentConstructors (ffi.js:181-215): char*, and for each scalar T: T, T*, T[]; void*.
 * ResultConstructors (ffi.js:217-241): char*, const char*, each T and T[], void — no T* result.
 */
function parseType(declared: string, position: 'argument' | 'result'): FfiType | string {
  let type = declared;
  let count: number | undefined;
  if (type.endsWith(' *')) type = `${type.slice(0, -2)}*`;
  else if (type.endsWith(']')) {
    const bracket = type.indexOf('[');
    const digits = type.slice(bracket + 1, -1);
    if (bracket > 0 && /^[1-9][0-9]*$/.test(digits)) {
      count = Number(digits);
      type = `${type.slice(0, bracket)}[]`;
    }
  }
  if (type === 'void') return position === 'result' ? { declared, kind: 'void', bytes: 0 } : `invalid type ${declared}`;
  if (type === 'char*' || (type === 'const char*' && position === 'result')) return { declared, kind: 'string', bytes: 1 };
  if (type === 'void*') return position === 'argument' ? { declared, kind: 'pointer', bytes: 1 } : `invalid type ${declared}`;
  const base = type.replace(/(\*|\[\])$/, '');
  const scalar = SCALARS[base];
  if (scalar === undefined) return `invalid type ${declared}`;
  if (type.endsWith('*')) return position === 'argument' ? { declared, kind: 'pointer', bytes: scalar.bytes } : `invalid type ${declared}`;
  if (type.endsWith('[]')) {
    // "T[]" with no count is in ffi.js's tables, but its glue would be `NaN * sizeof(T)`: no C compiler takes it.
    if (count === undefined) return `invalid type ${declared} (T[N] needs a count)`;
    return { declared, kind: 'sized', bytes: scalar.bytes, count };
  }
  return { declared, ...scalar };
}

/**
 * ffi.js:341-390 parseSignatures: every error is reported, then the build stops. Returns the
 * signatures, or throws an Error listing what mcconfig would report.
 */
export function parseFfiSignatures(functions: unknown, where: string): FfiSignature[] {
  const errors: string[] = [];
  const signatures: FfiSignature[] = [];
  if (typeof functions !== 'object' || functions === null) errors.push('functions: not an object');
  else {
    for (const [name, signature] of Object.entries(functions as Record<string, unknown>)) {
      if (typeof signature !== 'object' || signature === null) {
        errors.push(`functions.${name}: not an object`);
        continue;
      }
      const declaration = signature as { arguments?: unknown; returns?: unknown };
      const returns = parseType(typeof declaration.returns === 'string' && declaration.returns !== '' ? declaration.returns : 'void', 'result');
      if (typeof returns === 'string') errors.push(`functions.${name}.returns: ${returns}`);
      const args: FfiType[] = [];
      if (declaration.arguments !== undefined && !Array.isArray(declaration.arguments)) errors.push(`functions.${name}.arguments: not an array`);
      else {
        (declaration.arguments ?? []).forEach((declared: unknown, i: number) => {
          const type = parseType(String(declared), 'argument');
          if (typeof type === 'string') errors.push(`functions.${name}.arguments[${i}]: ${type}`);
          else args.push(type);
        });
      }
      if (typeof returns !== 'string') signatures.push({ name, arguments: args, returns });
    }
    if (Object.keys(functions).length === 0) errors.push('functions: empty object');
  }
  if (errors.length > 0) throw new Error(`${where}: Invalid functions: ${errors.length} error(s): ${errors.join('; ')}`);
  return signatures;
}

/** The C cast from a 32-bit int to the declared width: (int8_t)x, (uint16_t)x, … */
function narrow(type: FfiType, value: number): number {
  const bits = type.bytes * 8;
  if (type.kind === 'integer') return bits === 32 ? value | 0 : (value << (32 - bits)) >> (32 - bits);
  return bits === 32 ? value >>> 0 : value & ((1 << bits) - 1);
}

/** XS's ToPrimitive with the number hint, for the BigInt conversion (fxToPrimitive). */
function toPrimitive(value: object): unknown {
  const exotic = (value as { [Symbol.toPrimitive]?: (hint: string) => unknown })[Symbol.toPrimitive];
  if (typeof exotic === 'function') return exotic.call(value, 'number');
  for (const method of ['valueOf', 'toString'] as const) {
    const result: unknown = (value as Record<string, () => unknown>)[method]?.call(value);
    if (typeof result !== 'object' || result === null) return result;
  }
  throw new TypeError('cannot coerce object to primitive');
}

/** fxToBigInt(the, slot, 1) (xs/sources/xsBigInt.c:827-865): strict, a Number is refused. */
function toBigIntStrict(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') throw new TypeError('cannot coerce number to bigint');
  if (typeof value === 'string') return BigInt(value); // SyntaxError on a malformed string, as XS
  if (typeof value === 'symbol') throw new TypeError('cannot coerce symbol to bigint');
  if (typeof value === 'object' && value !== null) return toBigIntStrict(toPrimitive(value));
  throw new TypeError('cannot coerce to bigint');
}

/**
 * The handle XS->toArrayBufferHandle gives the glue (xs/sources/xsffi.c:32-43): an ArrayBuffer and
 * nothing else — a typed array or DataView fails fxCheckArrayBufferInstance
 * (xs/sources/xsDataView.c:430-441) — and, for T[N], at least N elements.
 */
export function checkArrayBuffer(type: FfiType, value: unknown): ArrayBuffer {
  const byteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get!;
  let length: number;
  try {
    length = byteLength.call(value) as number; // the brand check: only a real ArrayBuffer passes
  } catch {
    throw new TypeError('not an ArrayBuffer instance');
  }
  if (type.kind === 'sized') {
    if ((value as { detached?: boolean }).detached === true) throw new TypeError('detached buffer');
    if (length < type.count! * type.bytes) throw new RangeError(`invalid buffer size ${length}`);
  }
  return value as ArrayBuffer;
}

/**
 * A JS argument as the glue hands it to C (tools/ffi.js writeArgumentConversion): XS->toInteger,
 * toUnsigned, toNumber, toBigInt64, toStringHandle, then the C cast to the declared type. A pointer
 * stays its ArrayBuffer (the caller passes its bytes from 0: a handle has no byteOffset).
 */
export function toCArgument(type: FfiType, value: unknown): number | bigint | string | ArrayBuffer {
  switch (type.kind) {
    case 'integer':
      return narrow(type, +(value as number) | 0); // fxToInteger (xsAPI.c:149-195) is ToInt32; `+` throws on BigInt and Symbol as XS does
    case 'unsigned':
      return narrow(type, +(value as number) >>> 0); // fxToUnsigned (xsAPI.c:343-395) is ToUint32
    case 'number':
      return type.float ? Math.fround(+(value as number)) : +(value as number); // fxToNumber, then (float)
    case 'bigint64':
      return BigInt.asIntN(64, toBigIntStrict(value)); // fxToBigInt64 (xsBigInt.c:689-692)
    case 'biguint64':
      return BigInt.asUintN(64, toBigIntStrict(value)); // fxToBigUint64 (xsBigInt.c:694-705)
    case 'string':
      return `${value as string}`; // fxToString: a Symbol throws, as in XS
    case 'pointer':
    case 'sized':
      return checkArrayBuffer(type, value);
    case 'void':
      throw new TypeError('void argument');
  }
}

/**
 * A native's result as C would return it: cast to the declared type (the host natives compute in JS
 * numbers; the C function's return value has the declared width). Strings and T[N] bytes pass.
 */
export function toCResult(type: FfiType, value: unknown): unknown {
  switch (type.kind) {
    case 'integer':
    case 'unsigned':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`a ${type.declared} result, got ${String(value)}`);
      return narrow(type, Math.trunc(value) | 0);
    case 'number':
      return type.float ? Math.fround(Number(value)) : Number(value);
    case 'bigint64':
      return BigInt.asIntN(64, BigInt(value as bigint));
    case 'biguint64':
      return BigInt.asUintN(64, BigInt(value as bigint));
    case 'void':
      return undefined;
    default:
      return value;
  }
}

/**
 * The glue's result conversion (writeResultConversion): fromInteger / fromUnsigned / fromNumber /
 * fromBigInt64 give the value; T[N] becomes a new ArrayBuffer of N elements copied from the C array
 * (XS->fromArrayBuffer, ffi.js:119-130); char* a string; void undefined.
 */
export function fromCResult(type: FfiType, value: unknown): unknown {
  if (type.kind === 'void') return undefined;
  if (type.kind === 'sized') {
    const result = new ArrayBuffer(type.count! * type.bytes);
    new Uint8Array(result).set((value as Uint8Array).subarray(0, result.byteLength));
    return result;
  }
  if (type.kind === 'string') return `${value as string}`;
  return value;
}
