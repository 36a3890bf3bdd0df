// The device side of the Mender device API: authorization, update checks, status and log
// reports, the artifact download, inventory and configuration (research/mender-protocol.md §2).
// Every JWT-carrying call: authorize when there is no token, on 401 authorize again once and
// retry, on 429 wait Retry-After and retry; reports also retry network errors and 5xx with
// Mender's backoff.
import { toBase64, utf8 } from '../../base/bytes.ts';
import { OtaError, badArgument, describe, isOtaError, nonEmptyString, unexpected, type OtaErrorCode } from '../../base/errors.ts';
import { isCount, isObject, isString, isStrings } from '../../base/json.ts';
import type { Http, HttpResponse } from '../../platform/http.ts';
import type { KeyValue } from '../../platform/key-value.ts';
import type { Scheduler } from '../../platform/scheduler.ts';
import type { LogLevel, System } from '../../platform/system.ts';
import type { Signer, SignerFactory } from '../../platform/verifier.ts';
import { DEPLOYMENT_STATUSES, type DeploymentStatus } from '../deployment-status.ts';
import { authRequestBody, identityData, loadIdentityKey } from './auth.ts';
import { DEFAULT_POLL_INTERVALS, exponentialBackoffMs, retryAfterMs, statusReportSends, type PollIntervals } from './backoff.ts';
import { ExchangeDeadline } from './deadline.ts';
import { MAX_ANSWER_BYTES, answerField, answerText, objectAnswer, readAnswer, serverError, statusLine } from './response.ts';

export interface DeviceApiOptions {
  http: Http;
  scheduler: Scheduler;
  system: System;
  keyValue: KeyValue;
  /** Base URL, `https://host[:port]`. A plain `http://` URL is refused unless `allowHttp`. */
  serverUrl: string;
  allowHttp?: boolean;
  /** PEM of the CA that must sign the server's certificate; passed as `tls.ca` on every request. */
  ca?: string;
  tenantToken?: string;
  /** The identity attributes (`id_data`), e.g. `{ mac: '02:00:00:aa:bb:cc' }`. */
  identity: Record<string, string>;
  /** Type of the identity key created on first use (kept in KeyValue as 'id-key'); default ed25519. */
  identityKeyType?: 'ed25519' | 'ecdsa-p256';
  /** The board's identity signer factory (Board.signers); noble's when absent. */
  signers?: SignerFactory;
  /** Where this layer logs; `system.log` when absent. */
  log?: (level: LogLevel, message: string) => void;
  /** mender.conf poll and retry settings; Mender's defaults for the ones left out. */
  pollIntervals?: Partial<PollIntervals>;
  /** Per-request inactivity timeout (Http `timeoutMs`); default 30 s. */
  timeoutMs?: number;
}

export interface DeploymentInstructions {
  id: string;
  artifactName: string;
  /** The pre-signed download URL (fetched without the JWT). */
  uri: string;
  deviceTypes: string[];
}

export interface DeviceState {
  artifactName: string;
  deviceType: string;
  /** The stored provides besides artifact_name/device_type (e.g. rootfs-image.version). */
  provides: Record<string, string>;
}

export interface DeploymentLogMessage {
  timestamp: string;
  level: string;
  message: string;
}


const API = '/api/devices/v1/';
const AUTH_PATH = `${API}authentication/auth_requests`;
const DEPLOYMENTS_PATH = `${API}deployments/device/deployments/`;
const NEXT_V1_PATH = `${DEPLOYMENTS_PATH}next`;
const NEXT_V2_PATH = NEXT_V1_PATH.replace('/v1/', '/v2/');
const INVENTORY_PATH = `${API}inventory/device/attributes`;
const CONFIGURATION_PATH = `${API}deviceconfig/configuration`;

const JSON_TYPE = 'application/json';

/** The server's substate limit. */
export const SUBSTATE_MAX_CHARS = 200;
/** Deployment log body limit: the server takes 1 MiB; the C++ client keeps 256 bytes of margin. */
export const LOG_MAX_BYTES = 1_000_000 - 256;
/** 429 answers waited out per call before giving up. */
export const MAX_THROTTLED_WAITS = 5;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRY_AFTER_MS = 60_000;

type NextApi = 'v2' | 'v1-post' | 'v1-get';
const NEXT_FALLBACK: Readonly<Record<NextApi, NextApi | undefined>> = { v2: 'v1-post', 'v1-post': 'v1-get', 'v1-get': undefined };

interface Answer {
  readonly status: number;
  readonly body: Uint8Array;
  /** Sends made, for error messages. */
  readonly attempts: number;
}

/** Sends allowed for network errors and 5xx (1 = no retry). */
type Sends = number;
const ONCE: Sends = 1;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH';

/** 429 answers waited out so far in one call (MAX_THROTTLED_WAITS per call). */
interface Throttled {
  waits: number;
}

/** The device side of the Mender device API (createDeviceApi). */
export interface DeviceApi {
  /** The poll settings in force (Mender's names), for the caller's scheduling. */
  readonly pollIntervals: PollIntervals;
  readonly isAuthorized: boolean;
  /**
   * POST auth_requests with X-MEN-Signature over the exact body; the JWT is kept in memory only.
   * Throws OtaError('unauthorized') while the device is pending or rejected (the caller backs off).
   */
  authorize(): Promise<void>;
  /** v2 POST next with device_provides → on 404 v1 POST → on 404 v1 GET; remembers what works. undefined on 204. */
  checkUpdate(state: DeviceState): Promise<DeploymentInstructions | undefined>;
  /** PUT …/status; retried with backoff on network/5xx/429 (Retry-After) up to a bound; OtaError('deployment-aborted') on 409. */
  reportStatus(deploymentId: string, status: DeploymentStatus, substate?: string): Promise<void>;
  /** PUT …/log. Oldest messages are dropped (with a marker) when the body would pass LOG_MAX_BYTES. */
  uploadLog(deploymentId: string, messages: DeploymentLogMessage[]): Promise<void>;
  /**
   * GET the artifact (pre-signed URI, no JWT) with `Range: bytes=start-` when start > 0; checks
   * 206 and Content-Range (start, and the total when given) for a ranged request, 200 otherwise.
   * Returns the streaming response: the caller reads and closes it.
   */
  download(uri: string, options?: { start?: number; total?: number }): Promise<HttpResponse>;
  /** PATCH the inventory attributes (upsert); values are strings, finite numbers or string lists. */
  patchInventory(attributes: Record<string, string | number | string[]>): Promise<void>;
  /** GET the desired configuration (string values); {} when the server has none for this device (404). */
  getConfiguration(): Promise<Record<string, string>>;
  /** PUT the configuration now applied on the device. */
  putConfiguration(config: Record<string, string>): Promise<void>;
}

export function createDeviceApi(options: DeviceApiOptions): DeviceApi {
  const match = /^(https?):\/\/[^/?#\s]+(\/[^?#\s]*)?$/.exec(options.serverUrl);
  if (match === null) throw badArgument('"serverUrl"', 'an http(s):// URL', JSON.stringify(options.serverUrl));
  if (match[1] === 'http' && options.allowHttp !== true) throw plainHttp(`serverUrl ${options.serverUrl}`);
  identityData(options.identity); // refused here rather than at the first authorization
  return new MenderDeviceApi(options);
}

// A class, not a closure factory: on a preloaded XS device its methods stay in flash, where each
// closure a factory makes costs RAM (a function object and a copy of its byte code).
class MenderDeviceApi implements DeviceApi {
  readonly pollIntervals: PollIntervals;
  readonly #options: DeviceApiOptions;
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #reportSends: Sends;
  #jwt: string | undefined; // in memory only, never persisted
  #authorizing: Promise<void> | undefined;
  #signer: Promise<Signer> | undefined;
  #nextApi: NextApi = 'v2';

  constructor(options: DeviceApiOptions) {
    this.#options = options;
    this.#baseUrl = options.serverUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.pollIntervals = Object.freeze({ ...DEFAULT_POLL_INTERVALS, ...options.pollIntervals });
    this.#reportSends = statusReportSends(this.pollIntervals);
  }

  get isAuthorized(): boolean {
    return this.#jwt !== undefined;
  }

  authorize(): Promise<void> {
    // One auth request at a time, shared by every caller that needs a token.
    this.#authorizing ??= this.requestToken().finally(() => {
      this.#authorizing = undefined;
    });
    return this.#authorizing;
  }

  async checkUpdate(state: DeviceState): Promise<DeploymentInstructions | undefined> {
    for (;;) {
      const api = this.#nextApi;
      const { method, path, body } = nextRequest(api, state);
      const endpoint = `${method} ${path.replace(/\?.*$/, '')}`;
      const answer = await this.call(method, path, body, ONCE);
      const fallback = NEXT_FALLBACK[api];
      if (answer.status === 404 && fallback !== undefined) {
        this.log('debug', `${endpoint}: 404, trying ${fallback}`);
        this.#nextApi = fallback;
        continue;
      }
      if (answer.status === 204) return undefined;
      if (answer.status === 200) return parseInstructions(objectAnswer(answer.body, endpoint), endpoint);
      if (answer.status === 409) throw failure(endpoint, answer, 'deployment-aborted', ' (the server failed the deployment)');
      throw failure(endpoint, answer);
    }
  }

  async reportStatus(deploymentId: string, status: DeploymentStatus, substate?: string): Promise<void> {
    if (!DEPLOYMENT_STATUSES.includes(status)) throw badArgument('"status"', `one of ${DEPLOYMENT_STATUSES.join(', ')}`, describe(status));
    const report: { status: DeploymentStatus; substate?: string } = { status };
    // Cut by code points, so a surrogate pair is never split.
    if (substate !== undefined && substate !== '') report.substate = Array.from(substate).slice(0, SUBSTATE_MAX_CHARS).join('');
    const path = `${DEPLOYMENTS_PATH}${deploymentPart(deploymentId)}/status`;
    const answer = await this.call('PUT', path, utf8(JSON.stringify(report)), this.#reportSends);
    if (answer.status === 409) throw failure(`PUT ${path} "${status}"`, answer, 'deployment-aborted', ' (deployment aborted)');
    expectOk(`PUT ${path} "${status}"`, answer);
  }

  async uploadLog(deploymentId: string, messages: DeploymentLogMessage[]): Promise<void> {
    if (messages.length === 0) throw badArgument('"messages"', 'at least one message', 'none', RangeError);
    const path = `${DEPLOYMENTS_PATH}${deploymentPart(deploymentId)}/log`;
    expectOk(`PUT ${path}`, await this.call('PUT', path, logBody(messages), this.#reportSends));
  }

  async download(uri: string, range: { start?: number; total?: number } = {}): Promise<HttpResponse> {
    const start = range.start ?? 0;
    if (!isCount(start)) throw badArgument('"start"', 'an integer >= 0', start, RangeError);
    const scheme = /^(https?):\/\/[^/?#\s]+/.exec(uri)?.[1];
    if (scheme === undefined) throw unexpected('http-status', 'download URI', 'an http(s):// URL', JSON.stringify(redact(uri)));
    if (scheme === 'http' && this.#options.allowHttp !== true) throw plainHttp(`GET ${redact(uri)}`);
    const headers: Record<string, string> = {};
    if (start > 0) headers['Range'] = `bytes=${start}-`;
    const endpoint = start > 0 ? `GET ${redact(uri)} (Range: bytes=${start}-)` : `GET ${redact(uri)}`;
    const response = await this.send('GET', uri, headers, undefined, endpoint, { waits: 0 });
    try {
      checkDownload(response, start, range.total, endpoint);
    } catch (error) {
      await response.close();
      throw error;
    }
    return response;
  }

  async patchInventory(attributes: Record<string, string | number | string[]>): Promise<void> {
    const list: { name: string; value: string | number | string[] }[] = [];
    for (const name of Object.keys(attributes)) {
      const value = attributes[name]!;
      const ok =
        isString(value) ||
        (typeof value === 'number' && Number.isFinite(value)) ||
        isStrings(value);
      if (!ok || name === '') throw badArgument(`inventory "${name}"`, 'a string, finite number or string[]', describe(value));
      list.push({ name, value });
    }
    if (list.length === 0) throw badArgument('"attributes"', 'at least one', 'none', RangeError);
    expectOk(`PATCH ${INVENTORY_PATH}`, await this.call('PATCH', INVENTORY_PATH, utf8(JSON.stringify(list)), ONCE));
  }

  async getConfiguration(): Promise<Record<string, string>> {
    const endpoint = `GET ${CONFIGURATION_PATH}`;
    const answer = await this.call('GET', CONFIGURATION_PATH, undefined, ONCE);
    if (answer.status === 404) return {};
    if (answer.status !== 200) throw failure(endpoint, answer);
    const body = objectAnswer(answer.body, endpoint);
    const config: Record<string, string> = {};
    for (const key of Object.keys(body)) config[key] = answerField(body, '', key, endpoint, 'a string', isString);
    return config;
  }

  async putConfiguration(config: Record<string, string>): Promise<void> {
    for (const key of Object.keys(config)) {
      if (!isString(config[key])) throw badArgument(`configuration "${key}"`, 'a string', describe(config[key]));
    }
    expectOk(`PUT ${CONFIGURATION_PATH}`, await this.call('PUT', CONFIGURATION_PATH, utf8(JSON.stringify(config)), ONCE));
  }

  // Helpers are TypeScript-private, on the prototype: XS gives every instance a slot for each ES #method.

  private log(level: LogLevel, message: string): void {
    const log = this.#options.log;
    if (log !== undefined) log(level, message);
    else this.#options.system.log(level, message);
  }

  private async requestToken(): Promise<void> {
    this.#jwt = undefined;
    const { identity, tenantToken } = this.#options;
    const key = await this.identityKey();
    const body = authRequestBody(identity, key.publicKeyPem, tenantToken);
    const headers: Record<string, string> = {
      'Content-Type': JSON_TYPE,
      'X-MEN-Signature': toBase64(await key.sign(body)),
    };
    if (tenantToken) headers['Authorization'] = `Bearer ${tenantToken}`;
    const endpoint = `POST ${AUTH_PATH}`;
    const deadline = new ExchangeDeadline(this.#options.scheduler, endpoint, body.length + MAX_ANSWER_BYTES);
    const response = await this.send('POST', this.#baseUrl + AUTH_PATH, headers, body, endpoint, { waits: 0 }, deadline);
    const answer = { status: response.status, body: await readAnswer(response, endpoint, MAX_ANSWER_BYTES, deadline), attempts: 1 };
    if (answer.status !== 200) throw failure(endpoint, answer, undefined, answer.status === 401 ? ' (device pending or rejected)' : '');
    const token = answerText(answer.body, endpoint).trim();
    // Opaque, but it goes into a header: printable ASCII, no spaces.
    if (!/^[\x21-\x7e]{1,8192}$/.test(token)) throw unexpected('http-status', `${endpoint}: HTTP 200 body`, 'a JWT', describe(token));
    this.#jwt = token;
    this.log('info', `authorized by ${this.#baseUrl}`);
  }

  private identityKey(): Promise<Signer> {
    const { keyValue, system, identityKeyType, signers } = this.#options;
    const signer = (this.#signer ??= loadIdentityKey(keyValue, (n) => system.randomBytes(n), identityKeyType ?? 'ed25519', {
      signers,
      onUnreadable: (problem) => this.log('error', `identity key unreadable (${problem}); generated a new one: the server must accept this device again`),
    }));
    signer.catch(() => {
      this.#signer = undefined; // try again next time (e.g. a KeyValue hiccup)
    });
    return signer;
  }

  /** A JWT-carrying request, with the 401 / 429 / retry rules; the answer fully read. */
  private async call(method: Method, path: string, body: Uint8Array | undefined, sendsAllowed: Sends): Promise<Answer> {
    const endpoint = `${method} ${path.replace(/\?.*$/, '')}`;
    const throttled = { waits: 0 };
    let reauthorized = false;
    let failures = 0; // network errors and 5xx so far
    let sends = 0;
    for (;;) {
      let answer: Answer;
      let token: string;
      sends++;
      try {
        // Inside the try: a network error while authorizing is retried like one on the call itself.
        if (this.#jwt === undefined) await this.authorize();
        token = this.#jwt!;
        const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
        if (body !== undefined) headers['Content-Type'] = JSON_TYPE;
        // Each send has its own deadline: a trickling answer fails this attempt, and may be retried.
        const deadline = new ExchangeDeadline(this.#options.scheduler, endpoint, (body?.length ?? 0) + MAX_ANSWER_BYTES);
        const response = await this.send(method, this.#baseUrl + path, headers, body, endpoint, throttled, deadline);
        answer = { status: response.status, body: await readAnswer(response, endpoint, MAX_ANSWER_BYTES, deadline), attempts: sends };
      } catch (error) {
        if (!isOtaError(error, 'network')) throw error;
        if (!(await this.backoff(endpoint, failures++, sendsAllowed, error.message))) {
          throw new OtaError('network', `${error.message} (after ${sends} attempts)`, { cause: error });
        }
        continue;
      }
      if (answer.status === 401 && !reauthorized) {
        // JWT expired or revoked: one new auth request, then the same request again.
        this.log('info', `${endpoint}: 401, authorizing again`);
        if (this.#jwt === token) this.#jwt = undefined; // unless a concurrent call already renewed it
        reauthorized = true;
        continue;
      }
      if (answer.status >= 500 && (await this.backoff(endpoint, failures++, sendsAllowed, statusLine(answer.status)))) continue;
      return answer;
    }
  }

  /** Waits before the next retry; false when the bound is reached. */
  private async backoff(endpoint: string, tried: number, sends: Sends, why: string): Promise<boolean> {
    if (tried + 1 >= sends) return false;
    const waitMs = exponentialBackoffMs(tried, this.pollIntervals.RetryPollIntervalSeconds * 1000, sends - 1);
    if (waitMs === undefined) return false;
    this.log('warn', `${endpoint}: ${why}; retrying in ${waitMs / 1000} s`);
    await this.#options.scheduler.sleep(waitMs);
    return true;
  }

  /** One request; a 429 answer is waited out and sent again, up to MAX_THROTTLED_WAITS per call. */
  private async send(method: Method, url: string, headers: Record<string, string>, body: Uint8Array | undefined, endpoint: string, throttled: Throttled, deadline?: ExchangeDeadline): Promise<HttpResponse> {
    const { http, ca, system, scheduler } = this.#options;
    for (;;) {
      let response: HttpResponse;
      deadline?.restart();
      try {
        response = await http.request({ method, url, headers, body, timeoutMs: this.#timeoutMs, tls: ca === undefined ? undefined : { ca } });
      } catch (error) {
        if (isOtaError(error, 'network')) throw new OtaError('network', `${endpoint}: ${error.message}`, { cause: error });
        throw error;
      }
      try {
        deadline?.check(); // headers that trickled in past it
      } catch (error) {
        await response.close();
        throw error;
      }
      if (response.status !== 429 || throttled.waits++ >= MAX_THROTTLED_WAITS) return response;
      await response.close();
      const header = response.headers.get('retry-after');
      const asked = retryAfterMs(header, system.wallClockMs()) ?? DEFAULT_RETRY_AFTER_MS;
      // A huge Retry-After must not stall the device for longer than one poll interval.
      const waitMs = Math.min(asked, this.pollIntervals.UpdatePollIntervalSeconds * 1000);
      this.log('warn', `${endpoint}: HTTP 429; waiting ${waitMs / 1000} s (Retry-After: ${header ?? 'none'})`);
      await scheduler.sleep(waitMs);
    }
  }
}

/** 200 or 204, or the failure naming the endpoint. */
function expectOk(endpoint: string, answer: Answer): void {
  if (answer.status !== 204 && answer.status !== 200) throw failure(endpoint, answer);
}

/** `endpoint: HTTP 500 (after 3 attempts): the server's error`; a 401 is 'unauthorized' (after authorizing again, from call). */
function failure(endpoint: string, answer: Answer, code: OtaErrorCode = answer.status === 401 ? 'unauthorized' : 'http-status', note = ''): OtaError {
  const after = answer.attempts > 1 ? ` (after ${answer.attempts} attempts)` : '';
  const text = serverError(answer.body);
  return new OtaError(code, `${endpoint}: ${statusLine(answer.status)}${note}${after}${text === '' ? '' : `: ${text}`}`);
}

function plainHttp(what: string): OtaError {
  return new OtaError('insecure-transport', `${what}: plain http:// refused (not encrypted); set allowHttp to allow it`);
}

function deploymentPart(deploymentId: string): string {
  return encodeURIComponent(nonEmptyString('deploymentId', deploymentId));
}

/** The next request of one API flavour; the same state gives the same bytes (keys sorted). */
function nextRequest(api: NextApi, state: DeviceState): { method: 'GET' | 'POST'; path: string; body?: Uint8Array } {
  nonEmptyString('artifactName', state.artifactName);
  nonEmptyString('deviceType', state.deviceType);
  const provides: Record<string, string> = {};
  for (const key of Object.keys(state.provides).sort()) {
    if (key === 'artifact_name' || key === 'device_type') continue; // given by artifactName / deviceType
    const value = state.provides[key];
    if (!isString(value)) throw badArgument(`provides "${key}"`, 'a string', describe(value));
    provides[key] = value;
  }
  const names = { artifact_name: state.artifactName, device_type: state.deviceType };
  if (api === 'v2') return { method: 'POST', path: NEXT_V2_PATH, body: utf8(JSON.stringify({ device_provides: { ...names, ...provides } })) };
  if (api === 'v1-post') return { method: 'POST', path: NEXT_V1_PATH, body: utf8(JSON.stringify({ ...names, artifact_provides: provides })) };
  const query = `artifact_name=${encodeURIComponent(state.artifactName)}&device_type=${encodeURIComponent(state.deviceType)}`;
  return { method: 'GET', path: `${NEXT_V1_PATH}?${query}` };
}

const isText = (value: unknown): value is string => isString(value) && value !== '';

function parseInstructions(answer: Record<string, unknown>, endpoint: string): DeploymentInstructions {
  const artifact = answerField(answer, '', 'artifact', endpoint, 'an object', isObject);
  const source = answerField(artifact, 'artifact.', 'source', endpoint, 'an object', isObject);
  const types = answerField(artifact, 'artifact.', 'device_types_compatible', endpoint, 'an array of strings', (value) => value == null || isStrings(value)); // absent or null: none listed
  return {
    id: answerField(answer, '', 'id', endpoint, 'a non-empty string', isText),
    artifactName: answerField(artifact, 'artifact.', 'artifact_name', endpoint, 'a non-empty string', isText),
    uri: answerField(source, 'artifact.source.', 'uri', endpoint, 'a non-empty string', isText),
    deviceTypes: types?.slice() ?? [],
  };
}

/** The artifact answer fits the request: 200 for a whole one, 206 with a matching Content-Range for a resume. */
function checkDownload(response: HttpResponse, start: number, total: number | undefined, endpoint: string): void {
  const wanted = start === 0 ? 200 : 206;
  if (response.status !== wanted) {
    // A 200 to a ranged request: the server ignored the range, the body starts at byte 0.
    throw unexpected('http-status', endpoint, statusLine(wanted), statusLine(response.status));
  }
  if (start === 0) return;
  const header = response.headers.get('content-range');
  const range = header === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  // It starts where asked; a different total means the artifact changed on the server.
  if (range === null || Number(range[1]) !== start || Number(range[2]) < start || (total !== undefined && range[3] !== '*' && Number(range[3]) !== total)) {
    throw unexpected('http-status', `${endpoint}: Content-Range`, `"bytes ${start}-END/${total ?? 'TOTAL'}"`, describe(header));
  }
}

/** The deployment log body, dropping the oldest messages (with a marker) past LOG_MAX_BYTES. */
function logBody(messages: DeploymentLogMessage[]): Uint8Array {
  const encoded = messages.map((m) => {
    if (![m.timestamp, m.level, m.message].every((field) => isString(field) && field !== '')) {
      throw badArgument('log message', 'non-empty timestamp, level and message', describe(JSON.stringify(m)));
    }
    return JSON.stringify({ timestamp: m.timestamp, level: m.level, message: m.message });
  });
  const overhead = '{"messages":[]}'.length + 256; // room for the marker
  let bytes = overhead;
  let first = encoded.length;
  while (first > 0) {
    const size = utf8(encoded[first - 1]!).length + 1;
    if (bytes + size > LOG_MAX_BYTES) break;
    bytes += size;
    first--;
  }
  if (first > 0) {
    const marker = { timestamp: messages[first]?.timestamp ?? messages[0]!.timestamp, level: 'warn', message: `THE ORIGINAL LOGS WERE TOO BIG: ${first} oldest messages dropped` };
    encoded.splice(0, first, JSON.stringify(marker));
  }
  return utf8(`{"messages":[${encoded.join(',')}]}`);
}

/** A URL without its query: pre-signed download links carry a signature that must not reach logs. */
function redact(uri: string): string {
  return uri.replace(/[?#].*$/, '');
}
