// The executor of the state table: for each state it stores the record (the loop guard counts),
// sends the state's status, runs the handler, and lets the table pick the next state from the
// outcome. Handlers throw OtaError; the executor catches once, logs once, and takes the fail edge.
// Resets unwind through it (System.restart never returns); the next boot resumes from the record.
import type { Board } from '../../platform/board.ts';
import type { LogLevel } from '../../platform/system.ts';
import type { PublicKey } from '../../platform/verifier.ts';
import type { MaybePromise } from '../../platform/maybe-async.ts';
import type { ClientEvent } from '../client-config.ts';
import { OtaError, badArgument, describe, isOtaError, unexpected } from '../errors.ts';
import type { DeploymentInstructions, DeploymentStatus, DeviceApi } from '../server/device-api.ts';
import type { UpdateModule, UpdateModuleContext } from '../modules/update-module.ts';
import type { UpdateModuleRegistry } from '../modules/update-module.ts';
import type { DeploymentLog } from './deployment-log.ts';
import { downloadArtifact, noUpdateModule, type DownloadResult, type DownloadSettings } from './download.ts';
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
  const { board, api, modules, store, log, settings } = options;
  let record: DeploymentRecord;
  let installed: InstalledArtifact;
  let download: DownloadResult | undefined; // this boot's download, with what it checked while streaming
  let advanced: StateName | undefined; // a handler stored the next state itself (before a restart)

  const note = (level: LogLevel, message: string): void => {
    log.add(level, message);
    board.system.log(level, message);
    emit({ type: 'log', level, message });
  };

  const emit = (event: ClientEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // An observer's bug must not change the deployment.
    }
  };

  const patch = (changes: Partial<DeploymentRecord>): void => {
    record = { ...record, ...changes };
  };

  const facts = (): { version?: string } => ({ version: record.toVersion });
  const toVersion = (): string => record.toVersion ?? '(new)';

  const optionalModule = (): UpdateModule | undefined => (record.payloadType === undefined ? undefined : modules.get(record.payloadType));

  const module = (): UpdateModule => {
    const found = optionalModule();
    if (found === undefined) throw noUpdateModule(record.payloadType, modules);
    return found;
  };

  const context: UpdateModuleContext = { board, bootKey: options.bootKey, log: note };

  async function run(first: StateName): Promise<DeploymentEnd> {
    let state = first;
    let entered = false;
    for (;;) {
      if (!STATES[state].persisted) return finish();
      if (!entered) state = await enter(state);
      advanced = undefined;
      emit({ type: 'state', state, deploymentId: record.deploymentId });
      let outcome: Outcome;
      try {
        outcome = await step(state);
      } catch (error) {
        if (!(error instanceof OtaError)) throw error; // a restart, a power cut or a bug: not a deployment failure
        failed(state, error);
        outcome = 'fail';
      }
      const target = next(state, outcome);
      entered = advanced === target;
      state = target;
    }
  }

  /** Stores the record in `state` before its side effects; the loop guard may divert to failure. */
  async function enter(state: StateName): Promise<StateName> {
    let entered = state;
    try {
      record = await store.enter(record, state);
    } catch (error) {
      if (!isOtaError(error, 'storage-corrupt') || record.loop) throw error;
      failed(state, error);
      entered = isPastInstall(state) || isPastInstall(record.state) ? 'rollback' : 'failure';
      record = await store.enter({ ...record, loop: true }, entered);
    }
    await log.save();
    return entered;
  }

  /** Stores the next state ahead of a side effect that does not return (a restart), and says so. */
  async function restarting(from: StateName, reason: string): Promise<void> {
    advanced = await enter(next(from, 'ok')); // enter() saves the deployment log too
    emit({ type: 'restart', deploymentId: record.deploymentId, reason });
  }

  async function step(state: StateName): Promise<Outcome> {
    const row = STATES[state];
    if (row.report !== undefined && !record.aborted) {
      if (row.reauthorize) {
        note('info', 'authorizing again before the commit');
        await api.authorize();
      }
      await report(row.report);
    }
    switch (state) {
      case 'already-installed':
        patch({ finalStatus: 'already-installed' });
        return 'ok';
      case 'download':
        return handleDownload();
      case 'verify': {
        const verified = await module().verify(context, download?.download, { fileName: record.fileName, fileSize: record.fileSize });
        patch({ toVersion: verified.version });
        return 'ok';
      }
      case 'install':
        await module().install(context, facts());
        return 'ok';
      case 'reboot': {
        const current = module();
        if (!current.needsReboot) return 'ok';
        note('info', `restarting into image ${toVersion()}`);
        await restarting('reboot', 'install');
        await current.reboot(context, facts());
        return 'ok'; // the new image was already running: no restart was needed
      }
      case 'verify-reboot': {
        const current = module();
        await current.verifyReboot(context, facts());
        const selfTest = options.selfTest;
        if (current.needsReboot && selfTest !== undefined && !(await selfTest())) {
          throw new OtaError('image-invalid', `self-test failed on image ${toVersion()}: rolling back`);
        }
        note('info', `image ${toVersion()}: on trial, self-test passed`);
        return 'ok';
      }
      case 'commit':
        await module().commit(context, facts());
        installed = await options.providesStore.commit(installed, record.artifactName, record.provides ?? {}, record.clearsProvides);
        patch({ finalStatus: 'success' });
        note('info', `committed "${record.artifactName}" (image ${toVersion()})`);
        return 'ok';
      case 'rollback': {
        const current = optionalModule();
        if (current === undefined) return 'none';
        const undo = await current.rollback(context);
        note('info', `rolling back (${undo === 'restart' ? 'restart into the previous image' : 'pending image withdrawn'})`);
        return undo === 'restart' ? 'ok' : 'none';
      }
      case 'rollback-reboot':
        await restarting('rollback-reboot', 'rollback');
        return board.system.restart();
      case 'verify-rollback':
        await module().verifyRollback(context, { fromVersion: record.fromVersion });
        note('info', `the previous image ${record.fromVersion} runs again`);
        return 'ok';
      case 'failure':
        patch({ finalStatus: 'failure' });
        await optionalModule()?.failure(context);
        return 'ok';
      case 'report':
        await handleReport();
        return 'ok';
      default:
        throw badArgument('"state"', 'a deployment state', describe(state));
    }
  }

  async function handleDownload(): Promise<Outcome> {
    download = undefined;
    const { artifactName, provides } = installed;
    const deviceType = settings.deviceType;
    const result = await downloadArtifact({
      board,
      api,
      modules,
      settings,
      moduleContext: context,
      provides: { ...provides, artifact_name: artifactName, device_type: deviceType },
      record: () => record,
      update: async (changes) => (record = await store.update({ ...record, ...changes })),
      report: (substate) => report('downloading', substate),
      refreshUri: async () => {
        const id = record.deploymentId;
        const offer = await api.checkUpdate({ artifactName, deviceType, provides: { ...provides } });
        if (offer === undefined || offer.id !== id) {
          throw unexpected('deployment-aborted', `deployment ${id}`, 'the server to offer it again', offer === undefined ? 'none' : `deployment ${offer.id}`);
        }
        return offer.uri;
      },
      progress: (progress) => emit({ type: 'progress', ...progress }),
      log: note,
    });
    download = result;
    patch({ fileName: result.fileName, fileSize: result.fileSize });
    note('info', `stored "${result.fileName}" (${result.fileSize} bytes), checksums match`);
    return 'ok';
  }

  async function handleReport(): Promise<void> {
    const id = record.deploymentId;
    if (record.aborted) {
      note('info', `deployment ${id}: aborted by the server, no final status`);
      return;
    }
    const status = record.finalStatus ?? 'failure';
    await report(status);
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

  async function finish(): Promise<DeploymentEnd> {
    const end: DeploymentEnd = record.aborted ? 'aborted' : (record.finalStatus ?? 'failure');
    await store.clear();
    await log.clear();
    download = undefined;
    emit({ type: 'deployment-end', deploymentId: record.deploymentId, status: end });
    board.system.log('info', `deployment ${record.deploymentId}: ended ${end}`);
    return end;
  }

  /** The one place a failure is logged: the deployment log, the record, the event. */
  function failed(state: StateName, error: OtaError): void {
    const message = `${state}: ${error.message}`;
    patch({ aborted: error.code === 'deployment-aborted' || record.aborted === true || undefined, error: record.error ?? message, finalStatus: 'failure' });
    note('error', message);
    emit({ type: 'error', deploymentId: record.deploymentId, state, message: error.message });
  }

  async function report(status: DeploymentStatus, substate?: string): Promise<void> {
    await api.reportStatus(record.deploymentId, status, substate);
    emit({ type: 'report', deploymentId: record.deploymentId, status, substate });
  }

  return {
    get record() {
      return record;
    },
    async start(instructions, now) {
      const boot = await board.bootControl.state();
      await log.clear();
      installed = now;
      download = undefined;
      record = {
        v: RECORD_VERSION,
        state: 'check-update',
        storeCount: 0,
        deploymentId: instructions.id,
        artifactName: instructions.artifactName,
        uri: instructions.uri,
        fromVersion: boot.runningVersion,
        attempts: 0,
      };
      note('info', `deployment ${instructions.id}: "${instructions.artifactName}" over "${now.artifactName}" (image ${boot.runningVersion})`);
      return run(next('check-update', instructions.artifactName === now.artifactName ? 'installed' : 'ok'));
    },
    async resume(now) {
      const stored = await store.load();
      if (stored === undefined) return undefined;
      record = stored;
      installed = now;
      download = undefined;
      await log.load();
      note('info', `resuming deployment ${stored.deploymentId} in state "${stored.state}" after a reset (${board.system.resetReason()})`);
      return run(stored.state);
    },
  };
}
