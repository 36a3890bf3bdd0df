// The deployment state table: one typed row per state with its ok/fail edges and the status it
// reports to the server (Mender Go client's stateStatus, research/mender-protocol.md §3.2; the
// table shape of mender-mcu's update_state_transitions, research/anchors-clients.md §3.2).
//
// Glossary (one word per concept, as in platform/flash.ts):
//   deployment   the server's request that this device installs an artifact
//   artifact     the Mender file the deployment points at; payload: one data/NNNN.tar of it
//   image        the bytes the bootloader boots; slot: where an image lives
//   record       the small persisted description of the deployment in progress (record.ts)
//   outcome      what a state's handler returned; the table, not the handler, picks the next state
import type { DeploymentStatus } from '../deployment-status.ts';
import { badArgument, describe } from '../../base/errors.ts';
import { isString } from '../../base/json.ts';

export type StateName =
  | 'idle' // no deployment; wait for the next poll
  | 'authorize'
  | 'check-update'
  | 'already-installed' // the deployment's artifact is the one running: report and stop
  | 'download' // stream the artifact through the reader into the update module
  | 'verify' // the module's gates on the stored image (hash, signature, size)
  | 'install' // mark the image pending as a test boot
  | 'reboot'
  | 'verify-reboot' // after the reset: is the new image running, on trial, and healthy?
  | 'commit' // re-authorize, re-check for an abort, confirm, store provides
  | 'rollback' // give up the new image (reject the test boot or clear the pending request)
  | 'rollback-reboot'
  | 'verify-rollback' // after the reset: is the old image running again?
  | 'failure' // the module's failure callback (e.g. leave the slot unbootable)
  | 'report' // the one final status (success / failure / already-installed), then the log
  | 'cleanup'; // forget the deployment

/** What a handler returns. 'none' is only valid where the row names it (check-update). */
export type Outcome = 'ok' | 'fail' | 'none' | 'installed';

export interface StateRow {
  readonly ok: StateName;
  readonly fail: StateName;
  readonly none?: StateName;
  readonly installed?: StateName;
  /** Status sent to the server when the state is entered (a 409 answer means aborted). */
  readonly report?: DeploymentStatus;
  /** True for the states of a deployment: stored before their handler runs, resumed after a reset. */
  readonly persisted: boolean;
  /** Authorize again before the report (proves the new image can still talk to the server). */
  readonly reauthorize?: boolean;
}

export const STATES: Readonly<Record<StateName, StateRow>> = {
  idle: { ok: 'authorize', fail: 'idle', persisted: false },
  authorize: { ok: 'check-update', fail: 'idle', persisted: false },
  'check-update': { ok: 'download', fail: 'idle', none: 'idle', installed: 'already-installed', persisted: false },
  'already-installed': { ok: 'report', fail: 'report', persisted: true },
  download: { ok: 'verify', fail: 'failure', report: 'downloading', persisted: true },
  verify: { ok: 'install', fail: 'failure', persisted: true },
  install: { ok: 'reboot', fail: 'rollback', report: 'installing', persisted: true },
  reboot: { ok: 'verify-reboot', fail: 'rollback', report: 'rebooting', persisted: true },
  'verify-reboot': { ok: 'commit', fail: 'rollback', persisted: true },
  // The official client repeats `installing` right before committing to catch an abort.
  commit: { ok: 'report', fail: 'rollback', report: 'installing', reauthorize: true, persisted: true },
  // ok: a reset brings the old image back; none: nothing was booted yet, no reset needed.
  rollback: { ok: 'rollback-reboot', fail: 'failure', none: 'failure', persisted: true },
  'rollback-reboot': { ok: 'verify-rollback', fail: 'failure', persisted: true },
  'verify-rollback': { ok: 'failure', fail: 'failure', persisted: true },
  failure: { ok: 'report', fail: 'report', persisted: true },
  report: { ok: 'cleanup', fail: 'cleanup', persisted: true },
  cleanup: { ok: 'idle', fail: 'idle', persisted: false },
};

export const STATE_NAMES = Object.keys(STATES) as StateName[];

export function isStateName(value: unknown): value is StateName {
  return isString(value) && Object.hasOwn(STATES, value);
}

/** The next state. An outcome the row does not name is a programming fault, never ignored. */
export function next(state: StateName, outcome: Outcome): StateName {
  const row = STATES[state];
  if (row === undefined) throw badArgument('"state"', 'a state name', describe(state));
  const target = row[outcome];
  if (target === undefined) throw new TypeError(`state "${state}" has no "${outcome}" edge`);
  return target;
}

/**
 * States after which the new image may already have been booted: a failure from here on must
 * undo the install (the table sends them to 'rollback' rather than straight to 'failure').
 */
export function isPastInstall(state: StateName): boolean {
  return STATES[state].fail === 'rollback';
}
