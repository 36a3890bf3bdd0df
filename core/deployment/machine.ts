// The executor of the state table: for each state it stores the record (the loop guard counts),
// sends the state's status, runs the handler, and lets the table pick the next state from the
// outcome. Handlers throw OtaError; the executor catches once, logs once, and takes the fail edge.
// Resets unwind through it (System.restart never returns); the next boot resumes from the record.
import type { Board } from '../../platform/board.ts';
import type { LogLevel } from '../../platform/system.ts';
import type { PublicKey } from '../../platform/verifier.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';
import type { ClientEvent } from '../client-config.ts';
import { OtaError, badArgument, describe, isOtaError, unexpected } from '../../base/errors.ts';
import type { DeploymentStatus, FinalStatus } from '../deployment-status.ts';
import type { DeploymentInstructions, DeviceApi } from '../mender/device-api.ts';
import type { UpdateModule, UpdateModuleContext } from '../modules/update-module.ts';
import type { UpdateModuleRegistry } from '../modules/update-module.ts';
import type { DeploymentLog } from './deployment-log.ts';
import { downloadArtifact, noUpdateModule, type DownloadResult, type DownloadSettings } from './download.ts';
import type { InstalledArtifact, ProvidesStore } from './provides-store.ts';
import { RECORD_VERSION, type DeploymentRecord } from './record.ts';
import type { RecordStore } from './record-store.ts';
import { STATES, isPastInstall, next, type Outcome, type StateName } from './states.ts';

export interface MachineOptions {
  readonly board: Board;
  readonly api: DeviceApi;
  readonly modules: UpdateModuleRegistry;
  readonly store: RecordStore;
  readonly log: DeploymentLog;
  readonly providesStore: ProvidesStore;
  readonly settings: DownloadSettings;
  readonly bootKey?: PublicKey;
  /** Anti-rollback minimums handed to the update modules (ClientConfig). */
  readonly minImageVersion?: string;
  readonly minSecurityCounter?: number;
  readonly selfTest?: () => MaybePromise<boolean>;
  readonly onEvent?: (event: ClientEvent) => void;
}

/** How a deployment ended, from this device's side. */
export type DeploymentEnd = FinalStatus | 'aborted';

/** The machine the client drives: start() a deployment the server offered, or resume() the stored one. */
export interface DeploymentMachine {
  /** The record being run (tests, diagnostics). */
  readonly record: DeploymentRecord | undefined;
  /** Starts a deployment the server offered; returns when it has ended (or unwinds on a restart). */
  start(instructions: DeploymentInstructions, installed: InstalledArtifact): Promise<DeploymentEnd>;
  /**
   * Resumes the stored deployment after a reset, if there is one: undefined when none. A record
   * that cannot be read is dropped (OtaError 'storage-corrupt' is rethrown for the caller to log).
   */
  resume(installed: InstalledArtifact): Promise<DeploymentEnd | undefined>;
}

export function createDeploymentMachine(options: MachineOptions): DeploymentMachine {
  return new Machine(options);
}

// A class, not a closure factory: on a preloaded XS device its methods stay in flash, where each
// closure a factory makes costs RAM (a function object and a copy of its byte code).
class Machine implements DeploymentMachine {
  readonly #options: MachineOptions;
  readonly #context: UpdateModuleContext;
  #record!: DeploymentRecord;
  #installed!: InstalledArtifact;
  #download: DownloadResult | undefined; // this boot's download, with what it checked while streaming
  #advanced: StateName | undefined; // a handler stored the next state itself (before a restart)

  constructor(options: MachineOptions) {
    this.#options = options;
    this.#context = {
      board: options.board,
      bootKey: options.bootKey,
      minImageVersion: options.minImageVersion,
      minSecurityCounter: options.minSecurityCounter,
      log: (level, message) => this.note(level, message),
    };
  }

  get record(): DeploymentRecord | undefined {
    return this.#record;
  }

  async start(instructions: DeploymentInstructions, now: InstalledArtifact): Promise<DeploymentEnd> {
    const boot = await this.#options.board.bootControl.state();
    await this.#options.log.clear();
    this.#installed = now;
    this.#download = undefined;
    this.#record = {
      v: RECORD_VERSION,
      state: 'check-update',
      storeCount: 0,
      deploymentId: instructions.id,
      artifactName: instructions.artifactName,
      uri: instructions.uri,
      fromVersion: boot.runningVersion,
      attempts: 0,
    };
    this.note('info', `deployment ${instructions.id}: "${instructions.artifactName}" over "${now.artifactName}" (image ${boot.runningVersion})`);
    return this.run(next('check-update', instructions.artifactName === now.artifactName ? 'installed' : 'ok'));
  }

  async resume(now: InstalledArtifact): Promise<DeploymentEnd | undefined> {
    const stored = await this.#options.store.load();
    if (stored === undefined) return undefined;
    this.#record = stored;
    this.#installed = now;
    this.#download = undefined;
    await this.#options.log.load();
    this.note('info', `resuming deployment ${stored.deploymentId} in state "${stored.state}" after a reset (${this.#options.board.system.resetReason()})`);
    return this.run(stored.state);
  }

  private note(level: LogLevel, message: string): void {
    this.#options.log.add(level, message);
    this.#options.board.system.log(level, message);
    this.emit({ type: 'log', level, message });
  }

  private emit(event: ClientEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch {
      // An observer's bug must not change the deployment.
    }
  }

  private patch(changes: Partial<DeploymentRecord>): void {
    this.#record = { ...this.#record, ...changes };
  }

  private facts(): { version?: string } {
    return { version: this.#record.toVersion };
  }

  private toVersion(): string {
    return this.#record.toVersion ?? '(new)';
  }

  private optionalModule(): UpdateModule | undefined {
    const type = this.#record.payloadType;
    return type === undefined ? undefined : this.#options.modules.get(type);
  }

  private module(): UpdateModule {
    const found = this.optionalModule();
    if (found === undefined) throw noUpdateModule(this.#record.payloadType, this.#options.modules);
    return found;
  }

  private async run(first: StateName): Promise<DeploymentEnd> {
    let state = first;
    let entered = false;
    for (;;) {
      if (!STATES[state].persisted) return this.finish();
      if (!entered) state = await this.enter(state);
      this.#advanced = undefined;
      this.emit({ type: 'state', state, deploymentId: this.#record.deploymentId });
      let outcome: Outcome;
      try {
        outcome = await this.step(state);
      } catch (error) {
        if (!(error instanceof OtaError)) throw error; // a restart, a power cut or a bug: not a deployment failure
        this.failed(state, error);
        outcome = 'fail';
      }
      const target = next(state, outcome);
      entered = this.#advanced === target;
      state = target;
    }
  }

  /** Stores the record in `state` before its side effects; the loop guard may divert to failure. */
  private async enter(state: StateName): Promise<StateName> {
    const { store } = this.#options;
    let entered = state;
    try {
      this.#record = await store.enter(this.#record, state);
    } catch (error) {
      if (!isOtaError(error, 'storage-corrupt') || this.#record.loop) throw error;
      const done = this.#record.finalStatus;
      if (done === 'success' || done === 'already-installed') {
        // Committed (the image confirmed): what loops is the final report. Neither a rollback nor a
        // failure is true any more; report what happened, within the loop guard's grace.
        this.note('warn', `${state}: ${error.message}; the deployment is done (${done}), reporting it`);
        entered = 'report';
      } else {
        this.failed(state, error);
        entered = isPastInstall(state) || isPastInstall(this.#record.state) ? 'rollback' : 'failure';
      }
      this.#record = await store.enter({ ...this.#record, loop: true }, entered);
    }
    await this.#options.log.save();
    return entered;
  }

  /** Stores the next state ahead of a side effect that does not return (a restart), and says so. */
  private async restarting(from: StateName, reason: string): Promise<void> {
    this.#advanced = await this.enter(next(from, 'ok')); // enter() saves the deployment log too
    this.emit({ type: 'restart', deploymentId: this.#record.deploymentId, reason });
  }

  private async step(state: StateName): Promise<Outcome> {
    const { api, board } = this.#options;
    const context = this.#context;
    const row = STATES[state];
    if (row.report !== undefined && !this.#record.aborted) {
      if (row.reauthorize) {
        this.note('info', 'authorizing again before the commit');
        await api.authorize();
      }
      await this.report(row.report);
    }
    switch (state) {
      case 'already-installed':
        this.patch({ finalStatus: 'already-installed' });
        return 'ok';
      case 'download':
        return this.handleDownload();
      case 'verify': {
        const verified = await this.module().verify(context, this.#download?.download, { fileName: this.#record.fileName, fileSize: this.#record.fileSize });
        this.patch({ toVersion: verified.version });
        return 'ok';
      }
      case 'install':
        await this.module().install(context, this.facts());
        return 'ok';
      case 'reboot': {
        const current = this.module();
        if (!current.needsReboot) return 'ok';
        this.note('info', `restarting into image ${this.toVersion()}`);
        await this.restarting('reboot', 'install');
        await current.reboot(context, this.facts());
        return 'ok'; // the new image was already running: no restart was needed
      }
      case 'verify-reboot': {
        const current = this.module();
        await current.verifyReboot(context, this.facts());
        const selfTest = this.#options.selfTest;
        if (current.needsReboot && selfTest !== undefined && !(await selfTest())) {
          throw new OtaError('image-invalid', `self-test failed on image ${this.toVersion()}: rolling back`);
        }
        this.note('info', `image ${this.toVersion()}: on trial, self-test passed`);
        return 'ok';
      }
      case 'commit': {
        const record = this.#record;
        await this.module().commit(context, this.facts());
        this.#installed = await this.#options.providesStore.commit(this.#installed, record.artifactName, record.provides ?? {}, record.clearsProvides);
        this.patch({ finalStatus: 'success' });
        this.note('info', `committed "${record.artifactName}" (image ${this.toVersion()})`);
        return 'ok';
      }
      case 'rollback': {
        const current = this.optionalModule();
        if (current === undefined) return 'none';
        const undo = await current.rollback(context);
        this.note('info', `rolling back (${undo === 'restart' ? 'restart into the previous image' : 'pending image withdrawn'})`);
        return undo === 'restart' ? 'ok' : 'none';
      }
      case 'rollback-reboot':
        await this.restarting('rollback-reboot', 'rollback');
        return board.system.restart();
      case 'verify-rollback':
        await this.module().verifyRollback(context, { fromVersion: this.#record.fromVersion });
        this.note('info', `the previous image ${this.#record.fromVersion} runs again`);
        return 'ok';
      case 'failure':
        this.patch({ finalStatus: 'failure' });
        await this.optionalModule()?.failure(context);
        return 'ok';
      case 'report':
        await this.handleReport();
        return 'ok';
      default:
        throw badArgument('"state"', 'a deployment state', describe(state));
    }
  }

  private async handleDownload(): Promise<Outcome> {
    const { board, api, modules, settings, store } = this.#options;
    this.#download = undefined;
    const { artifactName, provides } = this.#installed;
    const deviceType = settings.deviceType;
    const result = await downloadArtifact({
      board,
      api,
      modules,
      settings,
      moduleContext: this.#context,
      provides: { ...provides, artifact_name: artifactName, device_type: deviceType },
      record: () => this.#record,
      update: async (changes) => (this.#record = await store.update({ ...this.#record, ...changes })),
      report: (substate) => this.report('downloading', substate),
      refreshUri: async () => {
        const id = this.#record.deploymentId;
        const offer = await api.checkUpdate({ artifactName, deviceType, provides: { ...provides } });
        if (offer === undefined || offer.id !== id) {
          throw unexpected('deployment-aborted', `deployment ${id}`, 'the server to offer it again', offer === undefined ? 'none' : `deployment ${offer.id}`);
        }
        return offer.uri;
      },
      progress: (progress) => this.emit({ type: 'progress', ...progress }),
      log: this.#context.log,
    });
    this.#download = result;
    this.patch({ fileName: result.fileName, fileSize: result.fileSize });
    this.note('info', `stored "${result.fileName}" (${result.fileSize} bytes), checksums match`);
    return 'ok';
  }

  private async handleReport(): Promise<void> {
    const { api, board, log } = this.#options;
    const record = this.#record;
    const id = record.deploymentId;
    if (record.aborted) {
      this.note('info', `deployment ${id}: aborted by the server, no final status`);
      return;
    }
    const status = record.finalStatus ?? 'failure';
    await this.report(status);
    if (status !== 'failure') return;
    await log.save();
    if (log.messages.length === 0) return;
    try {
      await api.uploadLog(id, [...log.messages]);
    } catch (error) {
      // The status is what matters; a lost log is reported locally only.
      if (!(error instanceof OtaError)) throw error;
      board.system.log('warn', `deployment ${id}: log upload failed: ${error.message}`);
    }
  }

  private async finish(): Promise<DeploymentEnd> {
    const record = this.#record;
    const end: DeploymentEnd = record.aborted ? 'aborted' : (record.finalStatus ?? 'failure');
    await this.#options.store.clear();
    await this.#options.log.clear();
    this.#download = undefined;
    this.emit({ type: 'deployment-end', deploymentId: record.deploymentId, status: end });
    this.#options.board.system.log('info', `deployment ${record.deploymentId}: ended ${end}`);
    return end;
  }

  /** The one place a failure is logged: the deployment log, the record, the event. */
  private failed(state: StateName, error: OtaError): void {
    const message = `${state}: ${error.message}`;
    const record = this.#record;
    this.patch({ aborted: error.code === 'deployment-aborted' || record.aborted === true || undefined, error: record.error ?? message, finalStatus: 'failure' });
    this.note('error', message);
    this.emit({ type: 'error', deploymentId: record.deploymentId, state, message: error.message });
  }

  private async report(status: DeploymentStatus, substate?: string): Promise<void> {
    const id = this.#record.deploymentId;
    await this.#options.api.reportStatus(id, status, substate);
    this.emit({ type: 'report', deploymentId: id, status, substate });
  }
}
