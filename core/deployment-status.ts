// The words of a deployment's status, in one leaf module that the device API client, the state
// table, the persisted record and the dev server all import (Mender's deployments service,
// model/status.go): what a device reports, which of those end a deployment, and the ones only the
// server sets.

/** The statuses a device reports (PUT .../deployments/{id}/status). */
export type DeploymentStatus =
  | 'downloading'
  | 'pause_before_installing'
  | 'installing'
  | 'pause_before_rebooting'
  | 'rebooting'
  | 'pause_before_committing'
  | FinalStatus;

/** The statuses that end a deployment on the device. */
export type FinalStatus = 'success' | 'failure' | 'already-installed';

export const FINAL_STATUSES: readonly FinalStatus[] = Object.freeze(['success', 'failure', 'already-installed']);

export const DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = Object.freeze([
  'downloading', 'pause_before_installing', 'installing', 'pause_before_rebooting', 'rebooting', 'pause_before_committing', ...FINAL_STATUSES,
]);

/** Statuses only the server sets: not yet fetched, nothing to install, aborted, device gone. */
export type ServerOnlyStatus = 'pending' | 'noartifact' | 'aborted' | 'decommissioned';
