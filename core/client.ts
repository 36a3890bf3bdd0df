// The update client: wires a Board and a ClientConfig into the device API, the update modules and
// the deployment machine, and runs Mender's schedule (research/mender-protocol.md §3.3): inventory
// first, then an update check every UpdatePollIntervalSeconds and the inventory (and device
// configuration) every InventoryPollIntervalSeconds, with the inventory sent again right after a
// deployment.
import type { Board } from '../platform/board.ts';
import type { LogLevel } from '../platform/system.ts';
import { resolveClientConfig, type ClientConfig } from './client-config.ts';
import { createDeploymentLog } from './deployment/deployment-log.ts';
import { createDeploymentMachine, type DeploymentEnd } from './deployment/machine.ts';
import { createProvidesStore, type InstalledArtifact } from './deployment/provides-store.ts';
import { jsonStateCodec } from './deployment/record.ts';
import { createRecordStore } from './deployment/record-store.ts';
import { OtaError, isOtaError } from './errors.ts';
import { createUpdateModuleRegistry, type UpdateModule } from './modules/update-module.ts';
import { exponentialBackoffMs } from './server/backoff.ts';
import { createDeviceApi, type DeviceApi } from './server/device-api.ts';

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
  const { bootControl, keyValue, scheduler, system } = board;
  const intervals = config.pollIntervals;
  const updateMs = intervals.UpdatePollIntervalSeconds * 1000;
  const log = (level: LogLevel, message: string): void => {
    system.log(level, message);
    config.onEvent?.({ type: 'log', level, message });
  };
  // The board's I/O and the configuration under the names DeviceApi and the machine read.
  const api = createDeviceApi({ ...board, ...config, identity: config.identity ?? { ...board.identity }, log });
  // Only the modules the board registers: the core carries none, so a board ships only its own.
  const modules = createUpdateModuleRegistry(config.updateModules);
  const store = createRecordStore(keyValue, codec);
  const deploymentLog = createDeploymentLog(keyValue, () => system.wallClockMs());
  const providesStore = createProvidesStore(keyValue, codec);
  const machine = createDeploymentMachine({
    ...config,
    board,
    api,
    modules,
    store,
    log: deploymentLog,
    providesStore,
    settings: { ...config, retryMaxIntervalMs: intervals.RetryPollIntervalSeconds * 1000 },
  });
  let resumed = false;
  let appliedConfiguration: string | undefined; // canonical JSON of what onConfiguration last applied

  const runningVersion = async (): Promise<string> => (await bootControl.state()).runningVersion;

  /** Logs an OtaError under `what` and carries on; anything else is a bug (or a reset) and unwinds. */
  const warn = (what: string, error: unknown): OtaError => {
    if (!(error instanceof OtaError)) throw error;
    log('warn', `${what}: ${error.message}`);
    return error;
  };

  /** Runs the deployment a reset interrupted, once per client; deals with a record it cannot read. */
  async function resume(): Promise<{ id: string; end: DeploymentEnd } | undefined> {
    if (resumed) return undefined;
    resumed = true;
    try {
      const end = await machine.resume(await installed());
      if (end !== undefined) return { id: machine.record!.deploymentId, end };
    } catch (error) {
      if (!isOtaError(error, 'storage-corrupt')) throw error;
      // Mender-mcu's rule: an unreadable deployment is dropped, and an image on trial is given up.
      log('error', `${error.message}: dropping the stored deployment`);
      await store.clear();
      await deploymentLog.clear();
      if ((await bootControl.state()).isTestBoot) {
        log('error', 'on trial with no readable deployment: rolling back');
        await rejectAndRestart();
      }
      return undefined;
    }
    // An image on trial with no deployment (flashed by other means): keep it only if it is healthy.
    const boot = await bootControl.state();
    if (!boot.isTestBoot) return undefined;
    const healthy = config.selfTest === undefined || (await config.selfTest());
    log(healthy ? 'warn' : 'error', `image ${boot.runningVersion} on trial without a deployment: self-test ${healthy ? 'passed, confirming' : 'failed, rolling back'}`);
    if (healthy) await bootControl.confirm();
    else await rejectAndRestart();
    return undefined;
  }

  async function rejectAndRestart(): Promise<void> {
    await bootControl.rejectTestImage();
    system.restart();
  }

  async function checkAndDeploy(): Promise<{ id: string; end: DeploymentEnd } | undefined> {
    const now = await installed();
    const instructions = await api.checkUpdate({ artifactName: now.artifactName, deviceType: config.deviceType, provides: { ...now.provides } });
    if (instructions === undefined) return undefined;
    return { id: instructions.id, end: await machine.start(instructions, now) };
  }

  /** Authorizes when there is no token; with giveUp, backs off as Mender does and then throws. */
  async function authorize(giveUp: boolean): Promise<void> {
    for (let tried = 0; !api.isAuthorized; tried++) {
      try {
        await api.authorize();
      } catch (error) {
        const waitMs = exponentialBackoffMs(tried, updateMs);
        if (!isOtaError(error, 'unauthorized') || !giveUp || waitMs === undefined) throw error;
        log('info', `${error.message}; trying again in ${waitMs / 1000} s`);
        await scheduler.sleep(waitMs);
      }
    }
  }

  async function installed(): Promise<InstalledArtifact> {
    const initial = { artifactName: config.artifactName ?? (await runningVersion()), provides: {} };
    try {
      return await providesStore.load(initial);
    } catch (error) {
      if (!isOtaError(error, 'storage-corrupt')) throw error;
      log('error', `${error.message}: reporting the initial artifact name`);
      return initial;
    }
  }

  /** PATCH the inventory; failures are logged, never fatal (the next interval tries again). */
  async function sendInventory(): Promise<void> {
    try {
      const now = await installed();
      await api.patchInventory({
        ...board.inventory,
        ...now.provides,
        device_type: config.deviceType,
        artifact_name: now.artifactName,
        mender_client_version: config.clientVersion,
        board: board.name,
        image_version: await runningVersion(),
      });
    } catch (error) {
      warn('inventory', error);
    }
  }

  /** Fetches the desired configuration, applies it through the callback when it changed, reports what applies. */
  async function syncConfiguration(): Promise<void> {
    const apply = config.onConfiguration;
    if (apply === undefined) return;
    try {
      const desired = await api.getConfiguration();
      const key = JSON.stringify(Object.keys(desired).sort().map((name) => [name, desired[name]]));
      if (key === appliedConfiguration) return;
      const applied = await apply(desired);
      await api.putConfiguration(applied);
      appliedConfiguration = key;
      log('info', `configuration applied: ${Object.keys(applied).length} settings`);
    } catch (error) {
      warn('configuration', error);
    }
  }

  return {
    api,
    registerUpdateModule: (module) => modules.registerUpdateModule(module),
    async runOnce() {
      let deployment = await resume();
      if (deployment === undefined) {
        await authorize(true);
        await sendInventory();
        deployment = await checkAndDeploy();
      }
      if (deployment !== undefined) await sendInventory();
      return { deployment, runningVersion: await runningVersion() };
    },
    async run() {
      await scheduler.enqueue(() => resume());
      let nextInventory = scheduler.now(); // inventory first, as Mender does at start-up
      let nextUpdate = scheduler.now();
      let authFailures = 0;
      for (;;) {
        if (scheduler.now() >= nextInventory) {
          await scheduler.enqueue(async () => {
            await sendInventory();
            await syncConfiguration();
          });
          nextInventory = scheduler.now() + intervals.InventoryPollIntervalSeconds * 1000;
        }
        if (scheduler.now() >= nextUpdate) {
          const outcome = await scheduler.enqueue(async () => {
            try {
              await authorize(false);
              authFailures = 0;
              return await checkAndDeploy();
            } catch (error) {
              return warn('update check', error);
            }
          });
          // Pending or rejected: back off as Mender does, never slower than the poll interval.
          nextUpdate = scheduler.now() + (isOtaError(outcome, 'unauthorized') ? (exponentialBackoffMs(authFailures++, updateMs) ?? updateMs) : updateMs);
          if (outcome !== undefined && !(outcome instanceof OtaError)) nextInventory = scheduler.now();
        }
        const waitMs = Math.min(nextInventory, nextUpdate) - scheduler.now();
        if (waitMs > 0) await scheduler.sleep(waitMs);
      }
    },
  };
}
