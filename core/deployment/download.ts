// The download state: the artifact streams from the pre-signed URI through the ArtifactReader into
// the payload's update module, with the gates of research/mender-protocol.md §1.9 at the head,
// progress as the status substate, checkpoints for resume, and Range resume after a lost
// connection (the same reader keeps going: research/mender-protocol.md §3.5) or after a reset (the
// reader re-reads and re-verifies the head, rebuilds the file hash from flash, then seeks).
import type { Board } from '../../platform/board.ts';
import type { HttpResponse } from '../../platform/http.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';
import type { PublicKey } from '../../platform/verifier.ts';
import { createArtifactReader } from '../artifact/artifact-reader.ts';
import { checkDepends, isDeviceTypeCompatible } from '../artifact/compatibility.ts';
import type { ArtifactHead, PayloadFile, PayloadSink } from '../artifact/types.ts';
import { OtaError, formatError, isOtaError, unexpected } from '../../base/errors.ts';
import type { DeviceApi } from '../mender/device-api.ts';
import { exponentialBackoffMs } from '../mender/backoff.ts';
import { ExchangeDeadline } from '../mender/deadline.ts';
import type { ModuleDownload, UpdateModule, UpdateModuleContext } from '../modules/update-module.ts';
import type { UpdateModuleRegistry } from '../modules/update-module.ts';
import type { DeploymentRecord, DownloadCheckpoint } from './record.ts';

export interface DownloadSettings {
  readonly deviceType: string;
  /** When set, artifacts must carry a valid manifest signature by this key. */
  readonly artifactKey?: PublicKey;
  /** Download attempts per deployment (a lost connection or a reset each use one). */
  readonly maxDownloadAttempts: number;
  /** Checkpoint spacing in bytes (sector boundaries, never more than 64 KiB apart). */
  readonly checkpointBytes: number;
  /** Progress substates: one per `progressStepPercent`, at most one per `progressMinIntervalMs`. */
  readonly progressStepPercent: number;
  readonly progressMinIntervalMs: number;
  /** Cap of the wait between attempts (Mender: RetryPollIntervalSeconds). */
  readonly retryMaxIntervalMs: number;
}

export interface DownloadProgress {
  readonly deploymentId: string;
  /** Artifact bytes received in this attempt's stream (the offset reached). */
  readonly offset: number;
  readonly total: number | undefined;
  /** Bytes received over the network for this deployment in this boot. */
  readonly received: number;
}

export interface DownloadContext {
  readonly board: Board;
  readonly api: DeviceApi;
  readonly modules: UpdateModuleRegistry;
  readonly settings: DownloadSettings;
  readonly moduleContext: UpdateModuleContext;
  /** The provides the device has now (artifact_name, device_type included): what depends is checked against. */
  readonly provides: Readonly<Record<string, string>>;
  /** Stores facts and checkpoints in the record (not counted by the loop guard). */
  update(patch: Partial<DeploymentRecord>): Promise<DeploymentRecord>;
  record(): DeploymentRecord;
  report(substate: string): Promise<void>;
  /** Asks the server for the deployment again (same next request) for a fresh download link. */
  refreshUri?(): Promise<string>;
  progress(progress: DownloadProgress): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

export interface DownloadResult {
  readonly module: UpdateModule;
  readonly download: ModuleDownload;
  readonly fileName: string;
  readonly fileSize: number;
}

/**
 * Forwards the reader's payload files to the module's download (set once the head is read), and
 * checkpoints what is durable. A class, as the other per-download objects here: on a preloaded XS
 * device its methods stay in flash, where closures would cost RAM for every download.
 */
class CheckpointingSink implements Required<PayloadSink> {
  /** The module's download, made once the head is read. */
  download: ModuleDownload | undefined;
  readonly #context: DownloadContext;
  #file: PayloadFile | undefined;
  #lastCheckpoint: number;

  constructor(context: DownloadContext, resumedAt: number) {
    this.#context = context;
    this.#lastCheckpoint = resumedAt;
  }

  async open(opened: PayloadFile, resumeOffset: number): Promise<void> {
    this.#file = opened;
    this.#lastCheckpoint = resumeOffset;
    await this.download!.open(opened, resumeOffset);
  }

  async write(bytes: Uint8Array): Promise<void> {
    const download = this.download!;
    await download.write(bytes);
    const durable = download.durableOffset;
    const file = this.#file;
    if (file?.artifactOffset === undefined || durable - this.#lastCheckpoint < this.#context.settings.checkpointBytes) return;
    this.#lastCheckpoint = durable;
    const checkpoint: DownloadCheckpoint = {
      payloadIndex: file.payloadIndex,
      fileName: file.name,
      fileOffset: durable,
      artifactOffset: file.artifactOffset + durable,
    };
    await this.#context.update({ checkpoint });
  }

  close(closed: PayloadFile): MaybePromise<void> {
    return this.download!.close(closed);
  }

  discard(reason: OtaError): MaybePromise<void> {
    return this.download?.discard(reason);
  }

  readBack(offset: number, into: Uint8Array): MaybePromise<void> {
    const download = this.download!;
    if (download.readBack === undefined) throw new OtaError('artifact-unsupported', 'update module: no readBack() to resume');
    return download.readBack(offset, into);
  }
}

/** The gates at the head: artifact name, device type, depends, one payload of a known type. */
function checkHead(head: ArtifactHead, context: DownloadContext): UpdateModule {
  const record = context.record();
  if (head.artifactName !== record.artifactName) throw unexpected('incompatible', 'artifact name', `"${record.artifactName}" (deployment)`, `"${head.artifactName}"`);
  const deviceType = context.settings.deviceType;
  if (!isDeviceTypeCompatible(head, deviceType)) throw unexpected('incompatible', 'device types', `"${deviceType}" among them`, JSON.stringify(head.deviceTypes));
  const artifact = `artifact "${head.artifactName}"`;
  const unmet = checkDepends(head.depends, context.provides);
  if (unmet !== undefined) throw new OtaError('incompatible', `artifact_depends: ${unmet}`);
  if (head.payloads.length !== 1) throw unexpected('artifact-unsupported', artifact, '1 payload', head.payloads.length);
  const payload = head.payloads[0]!;
  const payloadUnmet = checkDepends(payload.depends, context.provides);
  if (payloadUnmet !== undefined) throw new OtaError('incompatible', `payload ${payload.index} depends: ${payloadUnmet}`);
  const module = context.modules.get(payload.type);
  if (module === undefined) throw noUpdateModule(payload.type, context.modules);
  // Given a key, the reader refuses what is unsigned; the augment parts it cannot refuse, because
  // Mender leaves them outside the signature by design. A device that trusts only signed artifacts
  // (and takes no delta updates) refuses them, or they could retype the payload or rewrite provides.
  if (context.settings.artifactKey !== undefined && head.augmented) throw new OtaError('signature-invalid', `${artifact}: manifest-augment is unsigned (artifact key set)`);
  return module;
}

/** The whole download state: returns once the payload is stored and its checksums matched. */
export async function downloadArtifact(context: DownloadContext): Promise<DownloadResult> {
  const { api, settings } = context;
  const board = context.board;
  let received = 0;
  let lastError = '';
  let exhausted: OtaError | undefined; // the attempts used up mid-stream: final, not one more lost connection

  for (;;) {
    let record = context.record();
    if (record.attempts >= settings.maxDownloadAttempts) {
      throw gaveUp(record.attempts, lastError);
    }
    const tried = record.attempts;
    record = await context.update({ attempts: record.attempts + 1 });

    // After a reset, an uncompressed artifact resumes from its checkpoint; a compressed one restarts.
    const checkpoint = record.compressed === false ? record.checkpoint : undefined;
    if (record.checkpoint !== undefined && checkpoint === undefined) {
      context.log('info', 'download: compressed, restarting from byte 0');
      record = await context.update({ checkpoint: undefined });
    }
    let module: UpdateModule | undefined;
    const sink = new CheckpointingSink(context, checkpoint?.fileOffset ?? 0);
    const reader = createArtifactReader({
      sha256: board.sha256,
      inflate: board.inflate,
      verifier: board.verifier,
      key: settings.artifactKey,
      resume: checkpoint, // a DownloadCheckpoint is a ResumePoint (plus its artifact offset)
      sink,
      onHead: async (head) => {
        module = checkHead(head, context);
        const payload = head.payloads[0]!;
        await context.update({
          payloadType: payload.type,
          compressed: head.compression !== 'none',
          provides: { ...head.provides, ...payload.provides },
          clearsProvides: payload.clearsProvides,
        });
        sink.download = await module.download(context.moduleContext, payload);
        context.log('info', `artifact "${head.artifactName}": head ok (signature ${head.signature}, ${head.compression}, ${payload.type})`);
      },
    });

    let uri = record.uri;
    let refreshed = false;
    // A refused download (an expired pre-signed link: 403) gets one fresh link from the server,
    // as the Go client does by asking `next` again with the same body.
    // Every response has an overall deadline (core/mender/deadline.ts), from the request on: a
    // server that trickles the body fails the attempt as a lost connection does.
    let deadline: ExchangeDeadline | undefined;
    const open = async (start: number, total: number | undefined): Promise<HttpResponse> => {
      deadline = new ExchangeDeadline(board.scheduler, `download from byte ${start}`);
      const opened = await openLink(start, total);
      deadline.expect(contentLength(opened) ?? 0);
      try {
        deadline.check();
      } catch (error) {
        await opened.close();
        throw error;
      }
      return opened;
    };
    const openLink = async (start: number, total: number | undefined): Promise<HttpResponse> => {
      try {
        return await api.download(uri, { start, total });
      } catch (error) {
        if (!isOtaError(error, 'http-status') || refreshed || context.refreshUri === undefined) throw error;
        refreshed = true;
        context.log('warn', `${error.message}; asking for a fresh link`);
        uri = await context.refreshUri();
        await context.update({ uri });
        return api.download(uri, { start, total });
      }
    };
    let response: HttpResponse | undefined;
    let offset = 0; // artifact bytes fed to the reader so far
    let total: number | undefined;
    let seeked = false;
    const progress = new ProgressReporter(context);
    try {
      response = await open(0, undefined);
      total = contentLength(response);
      for (;;) {
        let chunk: Uint8Array | undefined;
        try {
          chunk = await response.read();
          deadline!.check(chunk === undefined ? 0 : chunk.length);
          // A body that ends early is a lost connection too (the server or a proxy closed it).
          if (chunk === undefined && total !== undefined && offset < total) throw bodyEnded(offset, total);
        } catch (error) {
          if (!isOtaError(error, 'network') || offset === 0) throw error;
          // Lost connection mid-stream: the same reader goes on from the byte it stopped at.
          lastError = error.message;
          const attempts = context.record().attempts;
          if (attempts >= settings.maxDownloadAttempts) throw (exhausted = gaveUp(attempts, error.message, error));
          const waitMs = backoffMs(settings, attempts - 1);
          context.log('warn', `download: ${error.message} at byte ${offset}; resuming with Range in ${waitMs / 1000} s`);
          await response.close();
          await board.scheduler.sleep(waitMs);
          await context.update({ attempts: attempts + 1 });
          response = await open(offset, total);
          continue;
        }
        if (chunk === undefined) break;
        received += chunk.length;
        await reader.write(chunk);
        offset += chunk.length;
        if (!seeked && reader.seekTo !== undefined) {
          // Resumed after a reset: the head is verified again and the file hash rebuilt from flash.
          seeked = true;
          offset = reader.seekTo;
          context.log('info', `download: resuming "${checkpoint!.fileName}" at byte ${checkpoint!.fileOffset} (artifact byte ${offset})`);
          await response.close();
          response = await open(offset, total);
          continue;
        }
        context.progress({ deploymentId: record.deploymentId, offset, total, received });
        await progress.report(offset, total);
      }
      if (total !== undefined && offset !== total) throw bodyEnded(offset, total);
      const summary = await reader.end();
      const file = summary.files[0];
      const download = sink.download;
      if (module === undefined || download === undefined || file === undefined) {
        throw formatError(`artifact "${summary.artifactName}": no payload file`);
      }
      await context.update({ checkpoint: undefined });
      return { module, download, fileName: file.name, fileSize: file.size };
    } catch (error) {
      await response?.close();
      // The reader turns what our callbacks throw into OtaError('aborted'); a reset or power cut
      // raised inside the sink must unwind the client as it is, not become a deployment failure.
      if (isOtaError(error, 'aborted') && error.cause !== undefined && !(error.cause instanceof OtaError)) throw error.cause;
      if (!isOtaError(error, 'network') || error === exhausted) throw error;
      // A connection that failed before any byte arrived: a new attempt after the backoff.
      lastError = error.message;
      const waitMs = backoffMs(settings, tried);
      context.log('warn', `download: ${error.message}; next attempt in ${waitMs / 1000} s`);
      await sink.download?.discard(error);
      await board.scheduler.sleep(waitMs);
    }
  }
}

/** OtaError('artifact-unsupported') for a payload type no registered module installs, naming those that are. */
export function noUpdateModule(type: string | undefined, modules: UpdateModuleRegistry): OtaError {
  return new OtaError('artifact-unsupported', `payload type ${JSON.stringify(type)}: no update module (have ${modules.types.join(', ') || 'none'})`);
}

/** OtaError('network') once the attempts are used up, with the last failure when there was one. */
function gaveUp(attempts: number, lastError: string, cause?: unknown): OtaError {
  return new OtaError('network', `download: gave up after ${attempts} attempts${lastError ? `: ${lastError}` : ''}`, { cause });
}

function bodyEnded(offset: number, total: number): OtaError {
  return unexpected('network', 'download: body', `${total} bytes`, offset);
}

function contentLength(response: HttpResponse): number | undefined {
  const text = response.headers.get('content-length');
  if (text === undefined || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

/** The wait before attempt `tried + 1`: Mender's backoff, capped. */
function backoffMs(settings: DownloadSettings, tried: number): number {
  return exponentialBackoffMs(tried, settings.retryMaxIntervalMs) ?? settings.retryMaxIntervalMs;
}

/** Sends "downloading NN%" substates at most every step and at most once per interval. */
class ProgressReporter {
  readonly #context: DownloadContext;
  #lastPercent = -1;
  #lastAt = -Infinity;

  constructor(context: DownloadContext) {
    this.#context = context;
  }

  async report(offset: number, total: number | undefined): Promise<void> {
    if (total === undefined || total === 0) return;
    const { settings, board } = this.#context;
    const step = settings.progressStepPercent;
    const percent = Math.floor((offset * 100) / total / step) * step;
    if (percent <= this.#lastPercent || percent >= 100) return;
    const at = board.scheduler.now();
    if (at - this.#lastAt < settings.progressMinIntervalMs) return;
    this.#lastPercent = percent;
    this.#lastAt = at;
    await this.#context.report(`downloading ${percent}%`);
  }
}
