// The update client: wires a Board and a ClientConfig into the device API, the update modules and
// the deployment machine, and runs Mender's schedule (research/mender-protocol.md §3.3): inventory
// first, then an update check every UpdatePollIntervalSeconds and the inventory (and device
// configuration) every InventoryPollIntervalSeconds, with the inventory sent again right after a
// deployment.
import type { Board } from '../platform/board.ts';
import type { LogLevel } from '../platform/system.ts';
import { resolveClientConfig, type ClientConfig, type ResolvedClientConfig } from './client-config.ts';
import { DeploymentLog } from './deployment/deployment-log.ts';
import { DeploymentMachine, type DeploymentEnd } from './deployment/machine.ts';
import { ProvidesStore, type InstalledArtifact } from './deployment/provides-store.ts';
import { jsonStateCodec } from './deployment/record.ts';
import { RecordStore } from './deployment/record-store.ts';
import { OtaError, isOtaError } from './errors.ts';
import { UpdateModuleRegistry, type UpdateModule } from './modules/update-module.ts';
import { exponentialBackoffMs } from './server/backoff.ts';
import { DeviceApi, type DeviceState } from './server/device-api.ts';

export interface RunOnceResult {
  /** The deployment this run took part in, if any, and how it ended. */
  readonly deployment?: { readonly id: string; readonly end: DeploymentEnd };
  /** The image running when the run ended. */
  readonly runningVersion: string;
}

export interface Client {
  readonly api: DeviceApi;
  /** Adds a payload type (Download / Install / Reboot / VerifyReboot / Commit / Rollback / Failure). */
  registerUpdateModule(module: UpdateModule): void;
  /** Until the current deployment has ended (resets included: call it again after each boot) or there is none. */
  runOnce(): Promise<RunOnceResult>;
  /** Forever: polls, deploys, sends inventory and configuration on Mender's schedule. */
  run(): Promise<never>;
}

export function createClient(board: Board, clientConfig: ClientConfig): Client {
  const config = resolveClientConfig(clientConfig);
  const codec = config.stateCodec ?? jsonStateCodec;
  const log = (level: LogLevel, message: string): void => {
    board.system.log(level, message);
    config.onEvent?.({ type: 'log', level, message });
  };
  const api = new DeviceApi({
    http: board.http,
    scheduler: board.scheduler,
    system: board.system,
    keyValue: board.keyValue,
    serverUrl: config.serverUrl,
    allowHttp: config.allowHttp,
    ca: config.ca,
    tenantToken: config.tenantToken,
    identity: config.identity ?? { ...board.identity },
    identityKeyType: config.identityKeyType,
    pollIntervals: config.pollIntervals,
    log,
  });
  // Only the modules the board registers: the core carries none, so a board ships only its own.
  const modules = new UpdateModuleRegistry(config.updateModules);
  const store = new RecordStore(board.keyValue, codec);
  const deploymentLog = new DeploymentLog(board.keyValue, () => board.system.wallClockMs());
  const providesStore = new ProvidesStore(board.keyValue, codec);
  const machine = new DeploymentMachine({
    board,
    api,
    modules,
    store,
    log: deploymentLog,
    providesStore,
    bootKey: config.bootKey,
    selfTest: config.selfTest,
    onEvent: config.onEvent,
    settings: {
      deviceType: config.deviceType,
      artifactKey: config.artifactKey,
      maxDownloadAttempts: config.maxDownloadAttempts,
      checkpointBytes: config.checkpointBytes,
      progressStepPercent: config.progressStepPercent,
      progressMinIntervalMs: config.progressMinIntervalMs,
      retryMaxIntervalMs: config.pollIntervals.RetryPollIntervalSeconds * 1000,
    },
  });
  return new UpdateClient(board, config, api, modules, machine, store, deploymentLog, providesStore, log);
}

class UpdateClient implements Client {
  #resumed = false;
  #appliedConfiguration: string | undefined; // canonical JSON of what onConfiguration last applied

  constructor(
    readonly board: Board,
    readonly config: ResolvedClientConfig,
    readonly api: DeviceApi,
    readonly modules: UpdateModuleRegistry,
    readonly machine: DeploymentMachine,
    readonly store: RecordStore,
    readonly deploymentLog: DeploymentLog,
    readonly providesStore: ProvidesStore,
    readonly log: (level: LogLevel, message: string) => void,
  ) {}

  registerUpdateModule(module: UpdateModule): void {
    this.modules.registerUpdateModule(module);
  }

  async runOnce(): Promise<RunOnceResult> {
    const resumed = await this.#resume();
    if (resumed !== undefined) {
      await this.#sendInventory();
      return { deployment: resumed, runningVersion: await this.#runningVersion() };
    }
    await this.#authorize({ giveUp: true });
    await this.#sendInventory();
    const deployment = await this.#checkAndDeploy();
    if (deployment !== undefined) await this.#sendInventory();
    return { deployment, runningVersion: await this.#runningVersion() };
  }

  async run(): Promise<never> {
    const { scheduler } = this.board;
    const intervals = this.config.pollIntervals;
    await scheduler.enqueue(() => this.#resume());
    let nextInventory = scheduler.now(); // inventory first, as Mender does at start-up
    let nextUpdate = scheduler.now();
    let authFailures = 0;
    for (;;) {
      if (scheduler.now() >= nextInventory) {
        await scheduler.enqueue(async () => {
          await this.#sendInventory();
          await this.#syncConfiguration();
        });
        nextInventory = scheduler.now() + intervals.InventoryPollIntervalSeconds * 1000;
      }
      if (scheduler.now() >= nextUpdate) {
        const outcome = await scheduler.enqueue(async () => {
          try {
            await this.#authorize({ giveUp: false });
            authFailures = 0;
            return await this.#checkAndDeploy();
          } catch (error) {
            if (!(error instanceof OtaError)) throw error;
            this.log('warn', `update check: ${error.message}`);
            return error;
          }
        });
        if (isOtaError(outcome, 'unauthorized')) {
          // Pending or rejected: back off as Mender does, never slower than the poll interval.
          const waitMs = exponentialBackoffMs(authFailures++, intervals.UpdatePollIntervalSeconds * 1000) ?? intervals.UpdatePollIntervalSeconds * 1000;
          nextUpdate = scheduler.now() + waitMs;
        } else {
          nextUpdate = scheduler.now() + intervals.UpdatePollIntervalSeconds * 1000;
          if (outcome !== undefined && !(outcome instanceof OtaError)) nextInventory = scheduler.now();
        }
      }
      const waitMs = Math.min(nextInventory, nextUpdate) - scheduler.now();
      if (waitMs > 0) await scheduler.sleep(waitMs);
    }
  }

  /** Runs the deployment a reset interrupted, once per client; deals with a record it cannot read. */
  async #resume(): Promise<{ id: string; end: DeploymentEnd } | undefined> {
    if (this.#resumed) return undefined;
    this.#resumed = true;
    const installed = await this.#installed();
    try {
      const end = await this.machine.resume(installed);
      if (end !== undefined) return { id: this.machine.record!.deploymentId, end };
    } catch (error) {
      if (!isOtaError(error, 'storage-corrupt')) throw error;
      await this.#recoverFromCorruptRecord(error);
      return undefined;
    }
    await this.#settleUnexpectedTrial();
    return undefined;
  }

  /** Mender-mcu's rule: an unreadable deployment is dropped, and an image on trial is given up. */
  async #recoverFromCorruptRecord(error: OtaError): Promise<void> {
    this.log('error', `${error.message}: dropping the stored deployment`);
    await this.store.clear();
    await this.deploymentLog.clear();
    const bootControl = this.board.bootControl;
    if ((await bootControl.state()).isTestBoot) {
      this.log('error', 'the running image is on trial with no readable deployment: rolling back');
      await bootControl.rejectTestImage();
      this.board.system.restart();
    }
  }

  /** An image on trial with no deployment (flashed by other means): keep it only if it is healthy. */
  async #settleUnexpectedTrial(): Promise<void> {
    const bootControl = this.board.bootControl;
    const boot = await bootControl.state();
    if (!boot.isTestBoot) return;
    const healthy = this.config.selfTest === undefined ? true : await this.config.selfTest();
    if (healthy) {
      this.log('warn', `image ${boot.runningVersion} runs on trial without a deployment; it passed its self-test: confirming it`);
      await bootControl.confirm();
      return;
    }
    this.log('error', `image ${boot.runningVersion} runs on trial without a deployment and failed its self-test: rolling back`);
    await bootControl.rejectTestImage();
    this.board.system.restart();
  }

  async #checkAndDeploy(): Promise<{ id: string; end: DeploymentEnd } | undefined> {
    const installed = await this.#installed();
    const instructions = await this.api.checkUpdate(this.#deviceState(installed));
    if (instructions === undefined) return undefined;
    const end = await this.machine.start(instructions, installed);
    return { id: instructions.id, end };
  }

  /** Authorizes when there is no token; with giveUp, backs off as Mender does and then throws. */
  async #authorize(options: { giveUp: boolean }): Promise<void> {
    if (this.api.isAuthorized) return;
    const capMs = this.config.pollIntervals.UpdatePollIntervalSeconds * 1000;
    for (let tried = 0; ; tried++) {
      try {
        await this.api.authorize();
        return;
      } catch (error) {
        if (!isOtaError(error, 'unauthorized') || !options.giveUp) throw error;
        const waitMs = exponentialBackoffMs(tried, capMs);
        if (waitMs === undefined) throw error;
        this.log('info', `${error.message}; trying again in ${waitMs / 1000} s`);
        await this.board.scheduler.sleep(waitMs);
      }
    }
  }

  async #installed(): Promise<InstalledArtifact> {
    const initial = { artifactName: this.config.artifactName ?? (await this.#runningVersion()), provides: {} };
    try {
      return await this.providesStore.load(initial);
    } catch (error) {
      if (!isOtaError(error, 'storage-corrupt')) throw error;
      this.log('error', `${error.message}: reporting the initial artifact name`);
      return initial;
    }
  }

  #deviceState(installed: InstalledArtifact): DeviceState {
    return { artifactName: installed.artifactName, deviceType: this.config.deviceType, provides: { ...installed.provides } };
  }

  async #runningVersion(): Promise<string> {
    return (await this.board.bootControl.state()).runningVersion;
  }

  /** PATCH the inventory; failures are logged, never fatal (the next interval tries again). */
  async #sendInventory(): Promise<void> {
    try {
      const installed = await this.#installed();
      await this.api.patchInventory({
        ...this.board.inventory,
        ...installed.provides,
        device_type: this.config.deviceType,
        artifact_name: installed.artifactName,
        mender_client_version: this.config.clientVersion,
        board: this.board.name,
        image_version: await this.#runningVersion(),
      });
    } catch (error) {
      if (!(error instanceof OtaError)) throw error;
      this.log('warn', `inventory: ${error.message}`);
    }
  }

  /** Fetches the desired configuration, applies it through the callback when it changed, reports what applies. */
  async #syncConfiguration(): Promise<void> {
    const apply = this.config.onConfiguration;
    if (apply === undefined) return;
    try {
      const desired = await this.api.getConfiguration();
      const key = canonical(desired);
      if (key === this.#appliedConfiguration) return;
      const applied = await apply(desired);
      await this.api.putConfiguration(applied);
      this.#appliedConfiguration = key;
      this.log('info', `configuration applied: ${Object.keys(applied).length} settings`);
    } catch (error) {
      if (!(error instanceof OtaError)) throw error;
      this.log('warn', `configuration: ${error.message}`);
    }
  }
}

function canonical(config: Record<string, string>): string {
  return JSON.stringify(Object.keys(config).sort().map((key) => [key, config[key]]));
}
