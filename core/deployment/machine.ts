// The executor of the state table: for each state it stores the record (the loop guard counts),
// sends the state's status, runs the handler, and lets the table pick the next state from the
// outcome. Handlers throw OtaError; the executor catches once, logs once, and takes the fail edge.
// Resets unwind through it (System.restart never returns); the next boot resumes from the record.
import type { Board } from '../../platform/board.ts';
import type { LogLevel } from '../../platform/system.ts';
import type { PublicKey } from '../../platform/verifier.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';
import type { ClientEvent } from '../client-config.ts';
import { OtaError, isOtaError } from '../errors.ts';
import type { DeploymentInstructions, DeploymentStatus, DeviceApi } from '../server/device-api.ts';
import type { UpdateModule, UpdateModuleContext } from '../modules/update-module.ts';
import type { UpdateModuleRegistry } from '../modules/update-module.ts';
import type { DeploymentLog } from './deployment-log.ts';
import { downloadArtifact, type DownloadResult, type DownloadSettings } from './download.ts';
import type { InstalledArtifact, ProvidesStore } from './provides-store.ts';
import { RECORD_VERSION, type DeploymentRecord, type FinalStatus } from './record.ts';
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
  readonly selfTest?: () => MaybePromise<boolean>;
  readonly onEvent?: (event: ClientEvent) => void;
}

/** How a deployment ended, from this device's side. */
export type DeploymentEnd = FinalStatus | 'aborted';

export class DeploymentMachine {
  readonly #options: MachineOptions;
  #record: DeploymentRecord | undefined;
  #installed: InstalledArtifact | undefined;
  #download: DownloadResult | undefined; // this boot's download, with what it checked while streaming
  #advanced: StateName | undefined; // a handler stored the next state itself (before a restart)

  constructor(options: MachineOptions) {
    this.#options = options;
  }

  /** The record being run (tests, diagnostics). */
  get record(): DeploymentRecord | undefined {
    return this.#record;
  }

  /** Starts a deployment the server offered; returns when it has ended (or unwinds on a restart). */
  async start(instructions: DeploymentInstructions, installed: InstalledArtifact): Promise<DeploymentEnd> {
    const boot = await this.#options.board.bootControl.state();
    await this.#options.log.clear();
    this.#installed = installed;
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
    const outcome: Outcome = instructions.artifactName === installed.artifactName ? 'installed' : 'ok';
    this.#note('info', `deployment ${instructions.id}: artifact "${instructions.artifactName}", running "${installed.artifactName}" (image ${boot.runningVersion})`);
    return this.#run(next('check-update', outcome), false);
  }

  /**
   * Resumes the stored deployment after a reset, if there is one: undefined when none. A record
   * that cannot be read is dropped (OtaError 'storage-corrupt' is rethrown for the caller to log).
   */
  async resume(installed: InstalledArtifact): Promise<DeploymentEnd | undefined> {
    const record = await this.#options.store.load();
    if (record === undefined) return undefined;
    this.#record = record;
    this.#installed = installed;
    this.#download = undefined;
    await this.#options.log.load();
    this.#note('info', `resuming deployment ${record.deploymentId} in state "${record.state}" after a reset (${this.#options.board.system.resetReason()})`);
    return this.#run(record.state, false);
  }

  async #run(first: StateName, alreadyEntered: boolean): Promise<DeploymentEnd> {
    let state = first;
    let entered = alreadyEntered;
    for (;;) {
      if (!STATES[state].persisted) return this.#finish();
      if (!entered) state = await this.#enter(state);
      this.#advanced = undefined;
      this.#emit({ type: 'state', state, deploymentId: this.#record!.deploymentId });
      let outcome: Outcome;
      try {
        outcome = await this.#step(state);
      } catch (error) {
        if (!(error instanceof OtaError)) throw error; // a restart, a power cut or a bug: not a deployment failure
        this.#failed(state, error);
        outcome = 'fail';
      }
      const target = next(state, outcome);
      entered = this.#advanced === target;
      state = target;
    }
  }

  /** Stores the record in `state` before its side effects; the loop guard may divert to failure. */
  async #enter(state: StateName): Promise<StateName> {
    const { store, log } = this.#options;
    let entered = state;
    try {
      this.#record = await store.enter(this.#record!, state);
    } catch (error) {
      if (!isOtaError(error, 'storage-corrupt') || this.#record!.loop) throw error;
      this.#failed(state, error);
      entered = isPastInstall(state) || isPastInstall(this.#record!.state) ? 'rollback' : 'failure';
      this.#record = await store.enter({ ...this.#record!, loop: true }, entered);
    }
    await log.save();
    return entered;
  }

  /** Stores the next state ahead of a side effect that does not return (a restart). */
  async #advance(from: StateName): Promise<void> {
    this.#advanced = await this.#enter(next(from, 'ok'));
  }

  async #step(state: StateName): Promise<Outcome> {
    const row = STATES[state];
    const record = this.#record!;
    const { api } = this.#options;
    if (row.report !== undefined && !record.aborted) {
      if (row.reauthorize) {
        this.#note('info', 'authorizing again before the commit');
        await api.authorize();
      }
      await this.#report(row.report);
    }
    switch (state) {
      case 'already-installed':
        this.#patch({ finalStatus: 'already-installed' });
        return 'ok';
      case 'download':
        return this.#handleDownload();
      case 'verify': {
        const facts = await this.#module().verify(this.#moduleContext(), this.#download?.download, {
          fileName: record.fileName,
          fileSize: record.fileSize,
        });
        this.#patch({ toVersion: facts.version });
        return 'ok';
      }
      case 'install':
        await this.#module().install(this.#moduleContext(), this.#facts());
        return 'ok';
      case 'reboot': {
        const module = this.#module();
        if (!module.needsReboot) return 'ok';
        await this.#advance('reboot');
        this.#note('info', `restarting into image ${record.toVersion ?? '(new)'}`);
        await this.#options.log.save();
        this.#emit({ type: 'restart', deploymentId: record.deploymentId, reason: 'install' });
        await module.reboot(this.#moduleContext(), this.#facts());
        return 'ok'; // the new image was already running: no restart was needed
      }
      case 'verify-reboot': {
        const module = this.#module();
        await module.verifyReboot(this.#moduleContext(), this.#facts());
        const selfTest = this.#options.selfTest;
        if (module.needsReboot && selfTest !== undefined && !(await selfTest())) {
          throw new OtaError('image-invalid', `self-test failed on image ${record.toVersion ?? '(new)'}: rolling back`);
        }
        this.#note('info', `image ${record.toVersion ?? '(new)'} runs on trial and passed its self-test`);
        return 'ok';
      }
      case 'commit':
        await this.#handleCommit();
        return 'ok';
      case 'rollback': {
        const module = this.#optionalModule();
        if (module === undefined) return 'none';
        const undo = await module.rollback(this.#moduleContext());
        this.#note('info', undo === 'restart' ? 'rolling back: restarting into the previous image' : 'rolling back: the pending image is withdrawn');
        return undo === 'restart' ? 'ok' : 'none';
      }
      case 'rollback-reboot':
        await this.#advance('rollback-reboot');
        await this.#options.log.save();
        this.#emit({ type: 'restart', deploymentId: record.deploymentId, reason: 'rollback' });
        return this.#options.board.system.restart();
      case 'verify-rollback':
        await this.#module().verifyRollback(this.#moduleContext(), { fromVersion: record.fromVersion });
        this.#note('info', `the previous image ${record.fromVersion} runs again`);
        return 'ok';
      case 'failure': {
        this.#patch({ finalStatus: 'failure' });
        const module = this.#optionalModule();
        if (module !== undefined) await module.failure(this.#moduleContext());
        return 'ok';
      }
      case 'report':
        await this.#handleReport();
        return 'ok';
      default:
        throw new TypeError(`state "${state}" is not a deployment state`);
    }
  }

  async #handleDownload(): Promise<Outcome> {
    const options = this.#options;
    const installed = this.#installed!;
    this.#download = undefined;
    const result = await downloadArtifact({
      board: options.board,
      api: options.api,
      modules: options.modules,
      settings: options.settings,
      moduleContext: this.#moduleContext(),
      provides: { ...installed.provides, artifact_name: installed.artifactName, device_type: options.settings.deviceType },
      record: () => this.#record!,
      update: async (patch) => (this.#record = await options.store.update({ ...this.#record!, ...patch })),
      report: (substate) => this.#report('downloading', substate),
      refreshUri: async () => {
        const id = this.#record!.deploymentId;
        const offer = await options.api.checkUpdate({ artifactName: installed.artifactName, deviceType: options.settings.deviceType, provides: { ...installed.provides } });
        if (offer === undefined || offer.id !== id) {
          throw new OtaError('deployment-aborted', `deployment ${id}: the server no longer offers it (next answered ${offer === undefined ? '204 No Content' : `deployment ${offer.id}`})`);
        }
        return offer.uri;
      },
      progress: (progress) => this.#emit({ type: 'progress', ...progress }),
      log: (level, message) => this.#note(level, message),
    });
    this.#download = result;
    this.#patch({ fileName: result.fileName, fileSize: result.fileSize });
    this.#note('info', `payload "${result.fileName}" stored (${result.fileSize} bytes), checksums match`);
    return 'ok';
  }

  async #handleCommit(): Promise<void> {
    const record = this.#record!;
    await this.#module().commit(this.#moduleContext(), this.#facts());
    this.#installed = await this.#options.providesStore.commit(this.#installed!, record.artifactName, record.provides ?? {}, record.clearsProvides);
    this.#patch({ finalStatus: 'success' });
    this.#note('info', `committed "${record.artifactName}" (image ${record.toVersion ?? '(new)'})`);
  }

  async #handleReport(): Promise<void> {
    const record = this.#record!;
    if (record.aborted) {
      this.#note('info', `deployment ${record.deploymentId} aborted by the server: no final status`);
      return;
    }
    const status = record.finalStatus ?? 'failure';
    await this.#report(status);
    if (status !== 'failure') return;
    await this.#options.log.save();
    const messages = this.#options.log.messages;
    if (messages.length === 0) return;
    try {
      await this.#options.api.uploadLog(record.deploymentId, [...messages]);
    } catch (error) {
      // The status is what matters; a lost log is reported locally only.
      if (!(error instanceof OtaError)) throw error;
      this.#options.board.system.log('warn', `deployment ${record.deploymentId}: log upload failed: ${error.message}`);
    }
  }

  async #finish(): Promise<DeploymentEnd> {
    const record = this.#record!;
    const end: DeploymentEnd = record.aborted ? 'aborted' : (record.finalStatus ?? 'failure');
    await this.#options.store.clear();
    await this.#options.log.clear();
    this.#download = undefined;
    this.#emit({ type: 'deployment-end', deploymentId: record.deploymentId, status: end });
    this.#options.board.system.log('info', `deployment ${record.deploymentId}: ended ${end}`);
    return end;
  }

  /** The one place a failure is logged: the deployment log, the record, the event. */
  #failed(state: StateName, error: OtaError): void {
    const aborted = error.code === 'deployment-aborted' || this.#record!.aborted === true;
    const message = `${state}: ${error.message}`;
    this.#patch({ aborted: aborted || undefined, error: this.#record!.error ?? message, finalStatus: 'failure' });
    this.#note('error', message);
    this.#emit({ type: 'error', deploymentId: this.#record!.deploymentId, state, message: error.message });
  }

  async #report(status: DeploymentStatus, substate?: string): Promise<void> {
    const record = this.#record!;
    await this.#options.api.reportStatus(record.deploymentId, status, substate);
    this.#emit({ type: 'report', deploymentId: record.deploymentId, status, substate });
  }

  #patch(patch: Partial<DeploymentRecord>): void {
    this.#record = { ...this.#record!, ...patch };
  }

  #facts(): { version?: string } {
    return { version: this.#record!.toVersion };
  }

  #optionalModule(): UpdateModule | undefined {
    const type = this.#record!.payloadType;
    return type === undefined ? undefined : this.#options.modules.get(type);
  }

  #module(): UpdateModule {
    const module = this.#optionalModule();
    if (module === undefined) {
      throw new OtaError('artifact-unsupported', `payload type ${JSON.stringify(this.#record!.payloadType)}: no update module registered`);
    }
    return module;
  }

  #moduleContext(): UpdateModuleContext {
    return {
      board: this.#options.board,
      bootKey: this.#options.bootKey,
      log: (level, message) => this.#note(level, message),
    };
  }

  #note(level: LogLevel, message: string): void {
    this.#options.log.add(level, message);
    this.#options.board.system.log(level, message);
    this.#emit({ type: 'log', level, message });
  }

  #emit(event: ClientEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch {
      // An observer's bug must not change the deployment.
    }
  }
}
