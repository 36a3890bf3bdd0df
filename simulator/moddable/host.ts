// The Node side of the Moddable module emulations: the natives behind embedded:storage/flash,
// embedded:update (esp_ota_*), embedded:storage/key-value (NVS), the HTTP client, crypt, inflate,
// timer/time, System and the board's FFI functions — all over one boot of a SimDevice, so flash and
// key-value survive resets exactly as the simulator's do, and a power cut or restart halts XS.
import { createHash, type Hash } from 'node:crypto';
import { Inflate as FflateInflate } from 'fflate';
import { joinBytes } from '../../base/bytes.ts';
import { OtaError, isOtaError } from '../../base/errors.ts';
import { fflateTail } from '../../platform/inflate-fflate.ts';
import { sha256Node } from '../digest-node.ts';
import { readTrailer, trailerLayoutFor, writeImageOk, writeMagic, writeSwapInfo } from '../../platform/mcuboot-trailer.ts';
import type { Flash } from '../../platform/flash.ts';
import type { HttpResponse } from '../../platform/http.ts';
import type { ResetReason } from '../../platform/system.ts';
import { isEntryIntact, OtaData, slotOfSeq, type OtaEntry } from '../board/esp-idf-ota.ts';
import { EspOtaOps, type EspUpdater } from '../board/esp-ota-ops.ts';
import type { BootedBoard } from '../board/sim-device.ts';
import { toCArgument, toCResult, type FfiSignature, type FfiType } from './ffi-types.ts';

/** Devicetree labels of the Zephyr board → the simulated regions. */
const ZEPHYR_LABELS: Record<string, string> = { 'image-0': 'primary', 'image-1': 'secondary', storage: 'nvs' };
const ESP_ERR_OTA_ROLLBACK_FAILED = 0x1505;
const ESP_RESET: Record<ResetReason, number> = { 'power-on': 1, software: 3, panic: 4, watchdog: 6, brownout: 9, unknown: 0 };
/** hwinfo RESET_* bits an STM32 reports (hwinfo_stm32.c; RM0433 §8.4.4): NRST comes with every internal reset, BOR with a POR. */
const ZEPHYR_RESET: Record<ResetReason, number> = { 'power-on': (1 << 3) | (1 << 2) | 1, software: (1 << 1) | 1, watchdog: (1 << 4) | 1, brownout: (1 << 2) | 1, panic: (1 << 1) | 1, unknown: 0 };
const ASYNC_METHODS = new Set(['httpRequest', 'timerWait', 'selfTest']);
export const INFLATE_PIECE_BYTES = 1024; // inflate.c kOutputBufferSize
const FORMATS = ['buffer', 'string', 'uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'uint64', 'int64'];

export interface ModdableHostOptions {
  readonly kind: 'esp-idf' | 'mcuboot';
  readonly board: BootedBoard;
  /** The NVS namespace the simulated key-value store backs (one per device). */
  readonly keyValuePath: string;
  /** The C prototypes of the board's FFI natives (its manifests' "ffi.functions", parsed as ffi.js does). */
  readonly ffi: readonly FfiSignature[];
}

/** A value as the generated glue hands it to C: a scalar already of its type, a pointer the buffer's bytes. */
function isCValue(type: FfiType, value: unknown): boolean {
  if (type.kind === 'pointer' || type.kind === 'sized') return value instanceof Uint8Array && value.byteLength >= (type.count ?? 0) * type.bytes;
  return Object.is(toCArgument(type, value), value);
}

/** A native failure: a plain Error with the SDK's terse text; the cause stays on the Node side. */
function nativeError(message: string): Error {
  return new Error(message);
}

/** Runs `call`; a halt (PowerCut, DeviceRestart) and OtaErrors from the simulator pass unchanged. */
function guard<T>(message: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof Error && (error.name === 'PowerCut' || error.name === 'DeviceRestart' || error instanceof OtaError)) throw error;
    throw nativeError(message);
  }
}

class HostPartition {
  closed = false;
  /** Every eraseBlock call as [start, end) in blocks (tests check the erase-ahead granularity). */
  readonly erases: [number, number][] = [];
  constructor(
    readonly flash: Flash,
    readonly name: string,
    readonly readOnly: boolean,
    readonly zephyr: boolean,
  ) {}

  #check(): void {
    if (this.closed) throw nativeError('closed');
  }

  eraseBlock(start: number, end: number): void {
    this.#check();
    if (this.readOnly) throw nativeError('read-only');
    this.erases.push([start, end]);
    guard('erase failed', () => {
      const count = this.flash.byteLength / this.flash.sectorBytes;
      if (!(start >= 0 && end > start && end <= count)) throw new RangeError('range');
      for (let i = start; i < end; i++) void this.flash.eraseSector(i);
    });
  }

  read(offset: number, length: number): Uint8Array {
    this.#check();
    return guard('read failed', () => {
      const into = new Uint8Array(length);
      void this.flash.read(offset, into);
      return into;
    });
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#check();
    if (this.readOnly) throw nativeError('read-only');
    guard('write failed', () => void this.flash.write(offset, bytes));
  }

  status(): Record<string, number> {
    this.#check();
    const { byteLength, sectorBytes } = this.flash;
    const base = { size: byteLength, blockLength: sectorBytes, blocks: byteLength / sectorBytes };
    // Moddable's ESP32 status() stops there; Zephyr's adds flash_area_align and the erased value.
    return this.zephyr ? { ...base, writeAlign: this.flash.writeGranule, eraseValue: this.flash.erasedByte } : base;
  }

  close(): void {
    this.closed = true;
  }
}

/** One NVS namespace: values carry their type, as NVS entries do. */
class HostStorage {
  closed = false;
  constructor(
    readonly host: ModdableHost,
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

/**
 * miniz's inflate as the SDK drives it, over fflate's streaming Inflate (native code from XS's point
 * of view either way). fflate does not report where the deflate stream ended: fflateTail
 * (platform/inflate-fflate.ts) reads it from fflate's internals.
 */
class HostInflate {
  readonly #inflater: FflateInflate;
  readonly #zlibHeader: boolean; // windowBits 15: a 2-byte zlib header first, a 4-byte Adler-32 after
  #headerLeft: number;
  #pieces: Uint8Array[] = [];
  #ended = false;

  constructor(windowBits: number) {
    this.#zlibHeader = windowBits === 15;
    this.#headerLeft = this.#zlibHeader ? 2 : 0;
    this.#inflater = new FflateInflate((data: Uint8Array) => {
      if (data.length > 0) this.#pieces.push(data);
    });
  }

  push(bytes: Uint8Array): { pieces: Uint8Array[]; remaining: number; ended: boolean } {
    if (this.#ended) throw nativeError('closed');
    const skip = Math.min(this.#headerLeft, bytes.length);
    this.#headerLeft -= skip;
    this.#pieces = [];
    try {
      this.#inflater.push(bytes.subarray(skip), false);
    } catch {
      this.#ended = true;
      throw nativeError('bad zlib data');
    }
    const tail = fflateTail(this.#inflater);
    const ended = tail !== undefined;
    let remaining = 0;
    if (ended) {
      this.#ended = true;
      remaining = Math.max(0, Math.min(tail.length, bytes.length) - (this.#zlibHeader ? 4 : 0));
    }
    const out = joinBytes(this.#pieces);
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < out.length; at += INFLATE_PIECE_BYTES) pieces.push(out.subarray(at, at + INFLATE_PIECE_BYTES));
    return { pieces, remaining, ended };
  }

  close(): void {
    this.#ended = true;
  }
}

class HostHash {
  readonly #hash: Hash;
  constructor(type: string) {
    this.#hash = createHash(type.toLowerCase().replace(/^sha(\d)/, 'sha$1'));
  }
  update(bytes: Uint8Array): void {
    this.#hash.update(bytes);
  }
  close(): Uint8Array {
    return new Uint8Array(this.#hash.digest());
  }
}

/**
 * A response body as a device's socket holds it: an arrived piece stays here (on a device, in the
 * network stack's buffers, outside the XS heap) and the guest copies out only what read() takes.
 */
class HostResponse {
  #piece: Uint8Array | undefined;
  #at = 0;
  constructor(
    readonly host: ModdableHost,
    readonly response: HttpResponse,
  ) {}
  /** Waits for the next piece; resolves with its byte count, or undefined at the end of the body. */
  async next(): Promise<number | undefined> {
    try {
      const chunk = await this.response.read();
      if (chunk === undefined) this.host.networkDone(this);
      this.#piece = chunk;
      this.#at = 0;
      return chunk?.length;
    } catch (error) {
      this.host.networkDone(this);
      throw nativeError((error as Error).message);
    }
  }
  /** Up to `count` bytes of the current piece. */
  take(count: number): Uint8Array {
    const piece = this.#piece ?? new Uint8Array(0);
    const out = piece.subarray(this.#at, this.#at + count);
    this.#at += out.length;
    return out;
  }
  async close(): Promise<void> {
    this.host.networkDone(this);
    await this.response.close();
  }
}

export class ModdableHost {
  readonly kind: ModdableHostOptions['kind'];
  readonly board: BootedBoard;
  readonly sha256 = sha256Node;
  readonly #keyValuePath: string;
  readonly #runningSlot: number;
  readonly #ffi: ReadonlyMap<string, FfiSignature>;
  readonly #open = new Set<object>(); // network requests in flight: device time runs in real time
  #idleWaiters: (() => void)[] = [];
  readonly #cancelledTimers = new Set<number>();
  readonly #timerClears = new Map<number, () => void>();
  /** Lines the firmware traced. */
  readonly traced: string[] = [];

  private constructor(options: ModdableHostOptions, runningSlot: number) {
    this.kind = options.kind;
    this.board = options.board;
    this.#keyValuePath = options.keyValuePath;
    this.#runningSlot = runningSlot;
    this.#ffi = new Map(options.ffi.map((signature) => [signature.name, signature]));
  }

  static async create(options: ModdableHostOptions): Promise<ModdableHost> {
    const slot = options.kind === 'esp-idf' ? (await options.board.bootControl.state()).runningSlot : 0;
    return new ModdableHost(options, slot);
  }

  // The async natives: started by a synchronous call, delivered in completion order (guest-bridge.ts).
  readonly #events: { id: number; ok?: unknown; err?: unknown }[] = [];
  #eventWaiter: (() => void) | undefined;
  #nextOperation = 1;
  #halt: Error | undefined;

  asyncStart(target: object | undefined, method: string, args: unknown[]): number {
    const id = this.#nextOperation++;
    const self = (target ?? this) as Record<string, (...a: unknown[]) => unknown>;
    if (typeof self[method] !== 'function' || (target === undefined && !ASYNC_METHODS.has(method))) {
      throw new TypeError(`asyncStart: ${method} is not an async native`);
    }
    void Promise.resolve()
      .then(() => self[method]!(...args))
      .then(
        (ok) => this.#events.push({ id, ok }),
        (err: unknown) => {
          if (err instanceof Error && (err.name === 'DeviceRestart' || err.name === 'PowerCut')) this.#halt ??= err;
          this.#events.push({ id, err });
        },
      )
      .then(() => this.#eventWaiter?.());
    return id;
  }

  /** The one outstanding async call of the guest: every completion since the last call. A halt surfaces here. */
  async nextEvents(): Promise<{ id: number; ok?: unknown; err?: unknown }[]> {
    while (this.#events.length === 0 && this.#halt === undefined) await new Promise<void>((resolve) => (this.#eventWaiter = resolve));
    this.#eventWaiter = undefined;
    if (this.#halt !== undefined) throw this.#halt;
    return this.#events.splice(0);
  }

  /** The running firmware's self-test (the simulated board's behaviour for this image). */
  selfTest(): Promise<boolean> {
    return this.board.selfTest();
  }

  // embedded:storage/flash
  flashNames(): string[] {
    if (this.kind === 'mcuboot') return Object.keys(ZEPHYR_LABELS);
    return ['nvs', 'otadata', 'ota_0', 'ota_1'];
  }

  /** Partitions the firmware opened, in order (tests). */
  readonly partitions: HostPartition[] = [];

  flashOpen(path: string, mode: string): HostPartition {
    const partition = this.#flashOpen(path, mode);
    this.partitions.push(partition);
    return partition;
  }

  #flashOpen(path: string, mode: string): HostPartition {
    const flash = this.board.flash;
    if (this.kind === 'mcuboot') {
      const region = ZEPHYR_LABELS[path];
      if (region === undefined || flash[region] === undefined) throw nativeError("can't find partition");
      return new HostPartition(flash[region]!, path, mode === 'r', true);
    }
    // esp_ota_get_running_partition / esp_ota_get_next_update_partition / a DATA partition by label.
    const region = path === 'running' ? `ota_${this.#runningSlot}` : path === 'nextota' ? `ota_${1 - this.#runningSlot}` : path === 'nvs' || path === 'otadata' ? path : undefined;
    if (region === undefined || flash[region] === undefined) throw nativeError("can't find partition");
    return new HostPartition(flash[region]!, region, mode === 'r', false);
  }

  // embedded:update (ESP32 only, as in the SDK): esp_ota_* as simulator/board/esp-ota-ops.ts models them
  async updateOpen(partition: HostPartition, mode: string, byteLength: number | undefined): Promise<EspUpdater> {
    if (this.kind !== 'esp-idf') throw nativeError('ECMA-419 OTA Update unsupported target');
    if (partition.readOnly) throw nativeError('read-only partition');
    if (byteLength !== undefined && byteLength > partition.flash.byteLength) throw new RangeError('invalid byteLength');
    const flash = this.board.flash;
    const ops = new EspOtaOps({ otadata: flash.otadata!, slots: [flash.ota_0!, flash.ota_1!], runningSlot: this.#runningSlot, sha256: this.sha256 });
    return ops.openUpdate(['ota_0', 'ota_1'].indexOf(partition.name), mode === 'w' ? 'w' : 'a', byteLength);
  }

  // embedded:storage/key-value
  keyValueOpen(path: string, mode: string): HostStorage {
    if (path.length > 15) throw nativeError('ESP_ERR_NVS_KEY_TOO_LONG');
    if (path !== this.#keyValuePath) {
      throw nativeError(`ESP_ERR_NVS_NOT_FOUND: the simulated NVS holds one namespace, "${this.#keyValuePath}"`);
    }
    return new HostStorage(this, mode === 'r');
  }

  // crypt, inflate
  digestCreate(type: string): HostHash {
    return new HostHash(type);
  }

  inflateCreate(windowBits: number): HostInflate {
    return new HostInflate(windowBits);
  }

  // embedded:network/http/client
  async httpRequest(request: {
    host: string; port: number; secure: boolean; certificate?: Uint8Array; serverName?: string;
    method: string; path: string; headers: [string, string][]; body?: Uint8Array;
  }): Promise<{ response: HostResponse; status: number; statusText: string; headers: Map<string, string> }> {
    const scheme = request.secure ? 'https' : 'http';
    const token = {};
    this.#open.add(token);
    try {
      const headers: Record<string, string> = Object.fromEntries(request.headers);
      delete headers['content-length']; // the Http sets it from the body
      const ca = request.certificate === undefined ? undefined : derToPem(request.certificate);
      const response = await this.board.http.request({
        method: request.method as 'GET',
        url: `${scheme}://${request.host}:${request.port}${request.path}`,
        headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        ...(request.secure && (ca !== undefined || request.serverName !== undefined)
          ? { tls: { ...(ca !== undefined ? { ca } : {}), ...(request.serverName !== undefined ? { serverName: request.serverName } : {}) } }
          : {}),
      });
      const hostResponse = new HostResponse(this, response);
      this.#open.delete(token);
      this.#open.add(hostResponse);
      return { response: hostResponse, status: response.status, statusText: '', headers: new Map(response.headers) };
    } catch (error) {
      this.#open.delete(token);
      this.#wakeIdle();
      throw nativeError((error as Error).message);
    }
  }

  /** An HTTP client's connection opened (embedded:network/http/client constructor): the network is busy until it closes. */
  networkOpen(): { close(): void } {
    const connection = { close: () => this.networkDone(connection) };
    this.#open.add(connection);
    return connection;
  }

  /** @internal A response or a connection ended. */
  networkDone(response: object): void {
    this.#open.delete(response);
    this.#wakeIdle();
  }

  // timer, time
  ticks(): number {
    return this.board.scheduler.now();
  }

  /**
   * Timer.set's wait. The device clock is virtual (a 30-minute poll costs nothing), but the network
   * is real: while a request is open, a timer (the HTTP watchdog) waits in real time, and only once
   * the network is idle does the rest of its wait run on the virtual clock.
   */
  async timerWait(ms: number, key: number): Promise<void> {
    const started = Date.now();
    // Timer.clear / Timer.schedule free a device's timer at once: a wait cleared while the network
    // is open settles now, or every re-armed watchdog would stay pending (and alive in the guest)
    // until the network goes idle.
    const cleared = new Promise<void>((resolve) => this.#timerClears.set(key, resolve));
    try {
      while (this.#open.size > 0 && !this.#cancelledTimers.has(key)) {
        const left = ms - (Date.now() - started);
        if (left <= 0) return;
        const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
        await Promise.race([idle, elapsed, cleared]);
        clearTimeout(timer);
      }
    } finally {
      this.#timerClears.delete(key);
    }
    // A timer cleared meanwhile (the watchdog of a finished request) must not move device time.
    if (this.#cancelledTimers.delete(key)) return;
    const left = Math.max(0, ms - (Date.now() - started));
    await this.board.scheduler.sleep(left);
  }

  timerCancel(key: number): void {
    this.#cancelledTimers.add(key);
    this.#timerClears.get(key)?.();
  }

  timerDelay(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('invalid delay');
  }

  // System and trace
  restart(): never {
    return this.board.system.restart();
  }

  trace(text: string): void {
    this.traced.push(text);
    const line = /^\[(debug|info|warn|error)\] ([\s\S]*?)\n?$/.exec(text);
    if (line) this.board.system.log(line[1] as 'info', line[2]!);
    else this.board.system.log('debug', text.replace(/\n$/, ''));
  }

  // mc/ffi: the C side of the generated glue. Arguments arrive converted (mc-ffi.ts); a pointer is
  // its ArrayBuffer's bytes from 0, and `fill` gives what the native leaves there. The result is
  // cast to the declared C type, as the C function's return value would be.
  async ffi(name: string, args: unknown[]): Promise<{ ret: unknown; outs: (Uint8Array | undefined)[] }> {
    const signature = this.#ffi.get(name);
    if (signature === undefined) throw new TypeError(`FFI ${name}: not declared in the board's manifests`);
    signature.arguments.forEach((type, i) => {
      if (!isCValue(type, args[i])) throw new TypeError(`FFI ${name} argument ${i}: not a ${type.declared} as the glue passes it`);
    });
    const outs: (Uint8Array | undefined)[] = args.map(() => undefined);
    const fill = (index: number, bytes: Uint8Array): void => {
      outs[index] = bytes;
    };
    const ret = await this.#native(name, args, fill);
    if (ret === undefined && signature.returns.kind !== 'void') throw new TypeError(`FFI ${name}: the simulated board has no such native`);
    return { ret: toCResult(signature.returns, ret), outs };
  }

  async #native(name: string, args: unknown[], fill: (index: number, bytes: Uint8Array) => void): Promise<number | undefined> {
    const board = this.board;
    if (this.kind === 'esp-idf') {
      switch (name) {
        case 'ota_running_slot':
          return this.#runningSlot;
        case 'ota_running_state':
          return this.#entryState(this.#runningSlot);
        case 'ota_other_state':
          return this.#entryState(1 - this.#runningSlot);
        case 'ota_clear_pending':
          await board.bootControl.clearPending();
          return 0;
        case 'esp_ota_mark_app_valid_cancel_rollback':
          await board.bootControl.confirm();
          return 0;
        case 'esp_ota_mark_app_invalid_rollback':
          try {
            await board.bootControl.rejectTestImage();
            return 0;
          } catch (error) {
            if (isOtaError(error)) return ESP_ERR_OTA_ROLLBACK_FAILED;
            throw error;
          }
        case 'esp_reset_reason':
          return ESP_RESET[board.system.resetReason()];
        case 'ota_fill_random': {
          // ota_fill_random(buffer, offset, length): buffer[offset, offset + length) from the RNG.
          const [buffer, offset, length] = args as [Uint8Array, number, number];
          const out = new Uint8Array(buffer);
          out.set(board.system.randomBytes(length), offset);
          fill(0, out);
          return undefined;
        }
        case 'esp_read_mac': {
          const mac = (board.identity.mac ?? '').split(':').map((h) => parseInt(h, 16));
          if (mac.length !== 6 || mac.some(Number.isNaN)) return 0x102; // ESP_ERR_INVALID_ARG
          fill(0, new Uint8Array(mac));
          return 0;
        }
      }
    } else {
      const primary = board.flash.primary!;
      const secondary = board.flash.secondary!;
      switch (name) {
        case 'boot_request_upgrade': {
          // boot_set_pending(permanent) = boot_set_next(secondary, false, permanent): bootutil_public.c
          const layout = trailerLayoutFor(secondary);
          const trailer = await readTrailer(secondary, layout);
          if (trailer.magic === 'good') return 0;
          if (trailer.magic === 'bad') return -14; // BOOT_EBADIMAGE → -EFAULT
          await writeMagic(secondary, layout);
          if (args[0]) await writeImageOk(secondary, layout);
          await writeSwapInfo(secondary, layout, args[0] ? 'perm' : 'test');
          return 0;
        }
        case 'boot_write_img_confirmed': {
          const layout = trailerLayoutFor(primary);
          const trailer = await readTrailer(primary, layout);
          if (trailer.magic === 'bad') return 4; // BOOT_EBADVECT
          if (trailer.magic === 'good' && trailer.imageOk === 'unset') await writeImageOk(primary, layout);
          return 0;
        }
        case 'sys_reboot':
          return board.system.restart();
        case 'ota_csrand_get': {
          // zephyr-natives.c: sys_csrand_get(buffer + offset, length)
          const [buffer, offset, length] = args as [Uint8Array, number, number];
          const out = new Uint8Array(buffer);
          out.set(board.system.randomBytes(length), offset);
          fill(0, out);
          return 0;
        }
        case 'ota_reset_cause': {
          const cause = new Uint8Array(args[0] as Uint8Array);
          new DataView(cause.buffer).setUint32(0, ZEPHYR_RESET[board.system.resetReason()], true);
          fill(0, cause);
          return 0;
        }
        case 'ota_clear_reset_cause':
          return 0;
        case 'ota_device_id': {
          const length = args[1] as number;
          const id = createHash('sha256').update(JSON.stringify(board.identity)).digest().subarray(0, Math.min(12, length));
          fill(0, new Uint8Array(id));
          return id.length;
        }
      }
    }
    throw new TypeError(`FFI ${name}: the simulated ${this.kind} board has no such native`);
  }

  /** esp_ota_get_state_partition(ota_<slot>): the intact entry with the highest seq selecting it. */
  async #entryState(slot: number): Promise<number> {
    const entries = await new OtaData(this.board.flash.otadata!).read();
    let found: OtaEntry | undefined;
    for (const e of entries) if (isEntryIntact(e) && slotOfSeq(e.seq) === slot && (found === undefined || e.seq > found.seq)) found = e;
    return found === undefined ? -1 : found.state;
  }

  #wakeIdle(): void {
    if (this.#open.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

function derToPem(der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
