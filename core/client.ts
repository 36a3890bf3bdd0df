// The update client: wires a Board and a ClientConfig into the device API, the update modules and
// the deployment machine, and runs Mender's schedule (research/mender-protocol.md §3.3): inventory
// first, then an update check every UpdatePollIntervalSeconds and the inventory (and device
// configuration) every InventoryPollIntervalSeconds, with the inventory sent again right after a
// deployment.
import type { Board } from '../platform/board.ts';
import type { LogLevel } from '../platform/system.ts';
import { resolveClientConfig, type ClientConfig, type ResolvedClientConfig } from './client-config.ts';
import { createDeploymentLog, type DeploymentLog } from './deployment/deployment-log.ts';
import { createDeploymentMachine, type DeploymentEnd, type DeploymentMachine } from './deployment/machine.ts';
import { createProvidesStore, type InstalledArtifact, type ProvidesStore } from './deployment/provides-store.ts';
import { jsonStateCodec } from './deployment/record.ts';
import { createRecordStore, type RecordStore } from './deployment/record-store.ts';
import { OtaError, isOtaError } from '../base/errors.ts';
import { createUpdateModuleRegistry, type UpdateModule, type UpdateModuleRegistry } from './modules/update-module.ts';
import { exponentialBackoffMs } from './mender/backoff.ts';
import { createDeviceApi, type DeviceApi } from './mender/device-api.ts';

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
  return new UpdateClient(board, resolveClientConfig(clientConfig));
}

// A class, not a closure factory: on a preloaded XS device its methods stay in flash, where each
// closure a factory makes costs RAM (a function object and a copy of its byte code).
class UpdateClient implements Client {
  readonly api: DeviceApi;
  readonly #board: Board;
  readonly #config: ResolvedClientConfig;
  readonly #updateMs: number;
  readonly #modules: UpdateModuleRegistry;
  readonly #store: RecordStore;
  readonly #deploymentLog: DeploymentLog;
  readonly #providesStore: ProvidesStore;
  readonly #machine: DeploymentMachine;
  #resumed = false;
  #appliedConfiguration: string | undefined; // canonical JSON of what onConfiguration last applied

  constructor(board: Board, config: ResolvedClientConfig) {
    const codec = config.stateCodec ?? jsonStateCodec;
    const { keyValue, system } = board;
    const intervals = config.pollIntervals;
    this.#board = board;
    this.#config = config;
    this.#updateMs = intervals.UpdatePollIntervalSeconds * 1000;
    // The board's I/O and the configuration under the names DeviceApi and the machine read.
    const log = (level: LogLevel, message: string): void => this.log(level, message);
    this.api = createDeviceApi({ ...board, ...config, identity: config.identity ?? { ...board.identity }, log });
    // Only the modules the board registers: the core carries none, so a board ships only its own.
    this.#modules = createUpdateModuleRegistry(config.updateModules);
    this.#store = createRecordStore(keyValue, codec);
    this.#deploymentLog = createDeploymentLog(keyValue, () => system.wallClockMs());
    this.#providesStore = createProvidesStore(keyValue, codec);
    this.#machine = createDeploymentMachine({
      ...config,
      board,
      api: this.api,
      modules: this.#modules,
      store: this.#store,
      log: this.#deploymentLog,
      providesStore: this.#providesStore,
      settings: { ...config, retryMaxIntervalMs: intervals.RetryPollIntervalSeconds * 1000 },
    });
  }

  registerUpdateModule(module: UpdateModule): void {
    this.#modules.registerUpdateModule(module);
  }

  async runOnce(): Promise<RunOnceResult> {
    let deployment = await this.resume();
    if (deployment === undefined) {
      await this.authorize(true);
      await this.sendInventory();
      deployment = await this.checkAndDeploy();
    }
    if (deployment !== undefined) await this.sendInventory();
    return { deployment, runningVersion: await this.runningVersion() };
  }

  async run(): Promise<never> {
    const { scheduler } = this.#board;
    const intervals = this.#config.pollIntervals;
    const updateMs = this.#updateMs;
    await scheduler.enqueue(() => this.resume());
    let nextInventory = scheduler.now(); // inventory first, as Mender does at start-up
    let nextUpdate = scheduler.now();
    let authFailures = 0;
    for (;;) {
      if (scheduler.now() >= nextInventory) {
        await scheduler.enqueue(async () => {
          await this.sendInventory();
          await this.syncConfiguration();
        });
        nextInventory = scheduler.now() + intervals.InventoryPollIntervalSeconds * 1000;
      }
      if (scheduler.now() >= nextUpdate) {
        const outcome = await scheduler.enqueue(async () => {
          try {
            await this.authorize(false);
            authFailures = 0;
            return await this.checkAndDeploy();
          } catch (error) {
            return this.warn('update check', error);
          }
        });
        // Pending or rejected: back off as Mender does, never slower than the poll interval.
        nextUpdate = scheduler.now() + (isOtaError(outcome, 'unauthorized') ? (exponentialBackoffMs(authFailures++, updateMs) ?? updateMs) : updateMs);
        if (outcome !== undefined && !(outcome instanceof OtaError)) nextInventory = scheduler.now();
      }
      const waitMs = Math.min(nextInventory, nextUpdate) - scheduler.now();
      if (waitMs > 0) await scheduler.sleep(waitMs);
    }
  }

  private log(level: LogLevel, message: string): void {
    this.#board.system.log(level, message);
    this.#config.onEvent?.({ type: 'log', level, message });
  }

  private async runningVersion(): Promise<string> {
    return (await this.#board.bootControl.state()).runningVersion;
  }

  /** Logs an OtaError under `what` and carries on; anything else is a bug (or a reset) and unwinds. */
  private warn(what: string, error: unknown): OtaError {
    if (!(error instanceof OtaError)) throw error;
    this.log('warn', `${what}: ${error.message}`);
    return error;
  }

  /** Runs the deployment a reset interrupted, once per client; deals with a record it cannot read. */
  private async resume(): Promise<{ id: string; end: DeploymentEnd } | undefined> {
    if (this.#resumed) return undefined;
    this.#resumed = true;
    const { bootControl } = this.#board;
    try {
      const end = await this.#machine.resume(await this.installed());
      if (end !== undefined) return { id: this.#machine.record!.deploymentId, end };
    } catch (error) {
      if (!isOtaError(error, 'storage-corrupt')) throw error;
      // Mender-mcu's rule: an unreadable deployment is dropped, and an image on trial is given up.
      this.log('error', `${error.message}: dropping the stored deployment`);
      await this.#store.clear();
      await this.#deploymentLog.clear();
      if ((await bootControl.state()).isTestBoot) {
        this.log('error', 'on trial with no readable deployment: rolling back');
        await this.rejectAndRestart();
      }
      return undefined;
    }
    // An image on trial with no deployment (flashed by other means): keep it only if it is healthy.
    const boot = await bootControl.state();
    if (!boot.isTestBoot) return undefined;
    const config = this.#config;
    const healthy = config.selfTest === undefined || (await config.selfTest());
    this.log(healthy ? 'warn' : 'error', `image ${boot.runningVersion} on trial without a deployment: self-test ${healthy ? 'passed, confirming' : 'failed, rolling back'}`);
    if (healthy) await bootControl.confirm();
    else await this.rejectAndRestart();
    return undefined;
  }

  private async rejectAndRestart(): Promise<void> {
    await this.#board.bootControl.rejectTestImage();
    this.#board.system.restart();
  }

  private async checkAndDeploy(): Promise<{ id: string; end: DeploymentEnd } | undefined> {
    const now = await this.installed();
    const instructions = await this.api.checkUpdate({ artifactName: now.artifactName, deviceType: this.#config.deviceType, provides: { ...now.provides } });
    if (instructions === undefined) return undefined;
    return { id: instructions.id, end: await this.#machine.start(instructions, now) };
  }

  /** Authorizes when there is no token; with giveUp, backs off as Mender does and then throws. */
  private async authorize(giveUp: boolean): Promise<void> {
    for (let tried = 0; !this.api.isAuthorized; tried++) {
      try {
        await this.api.authorize();
      } catch (error) {
        const waitMs = exponentialBackoffMs(tried, this.#updateMs);
        if (!isOtaError(error, 'unauthorized') || !giveUp || waitMs === undefined) throw error;
        this.log('info', `${error.message}; trying again in ${waitMs / 1000} s`);
        await this.#board.scheduler.sleep(waitMs);
      }
    }
  }

  private async installed(): Promise<InstalledArtifact> {
    const initial = { artifactName: this.#config.artifactName ?? (await this.runningVersion()), provides: {} };
    try {
      return await this.#providesStore.load(initial);
    } catch (error) {
      if (!isOtaError(error, 'storage-corrupt')) throw error;
      this.log('error', `${error.message}: reporting the initial artifact name`);
      return initial;
    }
  }

  /** PATCH the inventory; failures are logged, never fatal (the next interval tries again). */
  private async sendInventory(): Promise<void> {
    const board = this.#board;
    const config = this.#config;
    try {
      const now = await this.installed();
      await this.api.patchInventory({
        ...board.inventory,
        ...now.provides,
        device_type: config.deviceType,
        artifact_name: now.artifactName,
        mender_client_version: config.clientVersion,
        board: board.name,
        image_version: await this.runningVersion(),
      });
    } catch (error) {
      this.warn('inventory', error);
    }
  }

  /** Fetches the desired configuration, applies it through the callback when it changed, reports what applies. */
  private async syncConfiguration(): Promise<void> {
    const apply = this.#config.onConfiguration;
    if (apply === undefined) return;
    try {
      const desired = await this.api.getConfiguration();
      const key = JSON.stringify(Object.keys(desired).sort().map((name) => [name, desired[name]]));
      if (key === this.#appliedConfiguration) return;
      const applied = await apply(desired);
      await this.api.putConfiguration(applied);
      this.#appliedConfiguration = key;
      this.log('info', `configuration applied: ${Object.keys(applied).length} settings`);
    } catch (error) {
      this.warn('configuration', error);
    }
  }
}
