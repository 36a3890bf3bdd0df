// The lifecycle both image modules share once the image is stored: a test boot through
// BootControl, the revert check after the reset, confirm, and rollback.
import { OtaError } from '../errors.ts';
import type { UpdateModule } from './update-module.ts';

type Lifecycle = Pick<UpdateModule, 'install' | 'reboot' | 'verifyReboot' | 'commit' | 'rollback' | 'verifyRollback' | 'failure'>;

export function imageLifecycle(type: string): Lifecycle {
  return {
    async install(context) {
      await context.board.bootControl.setPendingTest();
    },
    reboot(context) {
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
    async commit(context) {
      await context.board.bootControl.confirm();
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
