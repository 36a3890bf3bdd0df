// The lifecycle both image modules share once the image is stored: a test boot through
// BootControl, the revert check after the reset, confirm, and rollback. Each step looks at the
// BootState first, because a reset may have come between the step's effect and the next store.
import type { BootState } from '../../platform/boot-control.ts';
import { OtaError } from '../../base/errors.ts';
import type { PayloadFacts, UpdateModule, UpdateModuleContext } from './update-module.ts';

type Lifecycle = Pick<UpdateModule, 'install' | 'reboot' | 'verifyReboot' | 'commit' | 'rollback' | 'verifyRollback' | 'failure'>;

/** The new image runs on trial: the reset after setPendingTest has happened. */
function isNewOnTrial(boot: BootState, facts: PayloadFacts): boolean {
  return boot.isTestBoot && (facts.version === undefined || boot.runningVersion === facts.version);
}

export function imageLifecycle(type: string): Lifecycle {
  return {
    async install(context, facts) {
      const bootControl = context.board.bootControl;
      if (isNewOnTrial(await bootControl.state(), facts)) return;
      await bootControl.setPendingTest();
    },
    async reboot(context, facts) {
      if (isNewOnTrial(await context.board.bootControl.state(), facts)) return;
      context.board.system.restart();
    },
    async verifyReboot(context, facts) {
      const boot = await context.board.bootControl.state();
      if (facts.version !== undefined && boot.runningVersion !== facts.version) {
        throw new OtaError(
          'revert-detected',
          `${type}: expected image ${facts.version} to run after the reboot, found ${boot.runningVersion}${boot.lastBootReverted ? ' (the bootloader reverted it)' : ''}`,
        );
      }
      if (!boot.isTestBoot) {
        throw new OtaError('revert-detected', `${type}: image ${boot.runningVersion} is not running as a test boot after the reboot (expected an unconfirmed trial)`);
      }
    },
    async commit(context, facts) {
      const bootControl = context.board.bootControl;
      const boot = await bootControl.state();
      if (isNewOnTrial(boot, facts)) {
        await bootControl.confirm();
        return;
      }
      // Not on trial: either confirmed already (a reset right after confirm) or reverted.
      if (boot.lastBootReverted || (facts.version !== undefined && boot.runningVersion !== facts.version)) {
        throw new OtaError(
          'revert-detected',
          `${type}: image ${facts.version ?? '(new)'} is gone before the commit; running ${boot.runningVersion}${boot.lastBootReverted ? ' (the bootloader reverted it)' : ''}`,
        );
      }
    },
    async rollback(context) {
      const bootControl = context.board.bootControl;
      const boot = await bootControl.state();
      if (boot.isTestBoot) {
        await bootControl.rejectTestImage();
        return 'restart';
      }
      // Not booted yet: withdraw the pending request so the next reset keeps the running image.
      await bootControl.clearPending();
      return 'done';
    },
    async verifyRollback(context, facts) {
      const boot = await context.board.bootControl.state();
      if (boot.isTestBoot) {
        throw new OtaError('revert-detected', `${type}: still running image ${boot.runningVersion} on trial after the rollback reset`);
      }
      if (boot.runningVersion !== facts.fromVersion) {
        context.log('warn', `${type}: after the rollback the running image is ${boot.runningVersion}, the deployment started on ${facts.fromVersion}`);
      }
    },
    async failure(context) {
      // Leave the inactive slot without a bootable header, so nothing half-checked is ever pending.
      const bootControl = context.board.bootControl;
      if ((await bootControl.state()).isTestBoot) return;
      const writer = await bootControl.openInactiveSlot();
      await writer.abort();
    },
  };
}

/** "1.2.3" or "1.2.3+4" as numbers [major, minor, revision, build]; undefined when it is neither. */
export function parseImageVersion(version: string): number[] | undefined {
  const match = /^(\d{1,10})\.(\d{1,10})\.(\d{1,10})(?:\+(\d{1,10}))?$/.exec(version);
  if (match === null) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4] ?? 0)];
}

/**
 * Anti-rollback, before anything is marked pending: OtaError('image-downgrade') when the image's
 * version is below `minImageVersion` (the build number counts only when the minimum gives one) or
 * its security counter below `minSecurityCounter` (checked when the image carries one).
 */
export function checkMinimumImage(context: UpdateModuleContext, type: string, version: string, securityCounter: number | undefined): void {
  const minimum = context.minImageVersion;
  if (minimum !== undefined) {
    const min = parseImageVersion(minimum);
    const have = parseImageVersion(version);
    if (min === undefined) throw new OtaError('image-downgrade', `"minImageVersion" expected major.minor.revision[+build], got ${JSON.stringify(minimum)}`);
    if (have === undefined) throw new OtaError('image-downgrade', `${type}: image version expected major.minor.revision[+build] (minImageVersion ${minimum} set), got ${JSON.stringify(version)}`);
    const parts = minimum.includes('+') ? 4 : 3;
    for (let i = 0; i < parts; i++) {
      if (have[i]! > min[i]!) break;
      if (have[i]! < min[i]!) throw new OtaError('image-downgrade', `${type}: image version ${version} is below the minimum ${minimum} (minImageVersion)`);
    }
  }
  const minCounter = context.minSecurityCounter;
  if (minCounter !== undefined && securityCounter !== undefined && securityCounter < minCounter) {
    throw new OtaError('image-downgrade', `${type}: image ${version} security counter ${securityCounter} is below the minimum ${minCounter} (minSecurityCounter)`);
  }
}
