// The Node side of the Moddable module emulations, one boot of a SimDevice: the host every guest
// module calls into, which dispatches to the host file next to each module's emulation
// (embedded-storage-flash-host.ts, embedded-storage-key-value-host.ts, crypt-host.ts,
// inflate-host.ts, embedded-network-http-client-host.ts) and to the natives of the board's
// bootloader family (natives-esp-idf.ts, natives-zephyr-mcuboot.ts); timers, System and trace are
// here. Flash and key-value survive resets exactly as the simulator's do, and a power cut or
// restart halts XS.
import { sha256Node } from '../digest-node.ts';
import { EspOtaOps, type EspUpdater } from '../board/esp-ota-ops.ts';
import type { BootedBoard } from '../board/sim-device.ts';
import { HostHash } from './crypt-host.ts';
import { derToPem, HostResponse } from './embedded-network-http-client-host.ts';
import { HostPartition } from './embedded-storage-flash-host.ts';
import { HostStorage } from './embedded-storage-key-value-host.ts';
import { toCArgument, toCResult, type FfiSignature, type FfiType } from './ffi-types.ts';
import { HostInflate } from './inflate-host.ts';
import { nativeError } from './native-errors.ts';
import { espIdfNative } from './natives-esp-idf.ts';
import { zephyrMcubootNative } from './natives-zephyr-mcuboot.ts';

/** Devicetree labels of the Zephyr board → the simulated regions. */
const ZEPHYR_LABELS: Record<string, string> = { 'image-0': 'primary', 'image-1': 'secondary', storage: 'nvs' };
const ASYNC_METHODS = new Set(['httpRequest', 'timerWait', 'selfTest']);

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
    const ret = this.kind === 'esp-idf'
      ? await espIdfNative({ board: this.board, runningSlot: this.#runningSlot }, name, args, fill)
      : await zephyrMcubootNative(this.board, name, args, fill);
    if (ret === 'none') throw new TypeError(`FFI ${name}: the simulated ${this.kind} board has no such native`);
    if (ret === undefined && signature.returns.kind !== 'void') throw new TypeError(`FFI ${name}: the simulated board has no such native`);
    return { ret: toCResult(signature.returns, ret), outs };
  }

  #wakeIdle(): void {
    if (this.#open.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

