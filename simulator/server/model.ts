// The dev server's records, shaped after Mender's own models (deviceauth, inventory, deviceconfig,
// deployments) so that the API layer only renames fields. Times are RFC 3339 strings.
import type { DeploymentStatus, ServerOnlyStatus } from '../../core/deployment-status.ts';

export type AuthSetStatus = 'pending' | 'accepted' | 'rejected' | 'preauthorized';

export interface AuthSet {
  id: string;
  pubkey: string;
  status: AuthSetStatus;
  ts: string;
}

export interface InventoryAttribute {
  name: string;
  value: string | number | string[] | number[];
  description?: string;
  scope: 'inventory';
  timestamp: string;
}

export interface DeviceRecord {
  id: string;
  /** id_data as parsed; `identityKey` is its key-sorted JSON, the lookup key (Mender's JsonSort). */
  identity: Record<string, unknown>;
  identityKey: string;
  created: string;
  updated: string;
  checkIn?: string;
  authSets: AuthSet[];
  inventory: InventoryAttribute[];
  inventoryUpdated?: string;
  /** deviceconfig: desired (set by management) and reported (PUT by the device). */
  configured?: Record<string, string>;
  configuredTs?: string;
  reported?: Record<string, string>;
  reportedTs?: string;
}

export interface ArtifactFile {
  name: string;
  size: number;
  checksum: string;
}

export interface ArtifactPayload {
  type: string | null;
  provides: Record<string, string>;
  depends: Record<string, string | string[]>;
  clearsProvides: string[];
  metaData: Record<string, unknown> | null;
  files: ArtifactFile[];
}

export interface ArtifactRecord {
  id: string;
  name: string;
  description: string;
  deviceTypes: string[];
  provides: Record<string, string>;
  depends: Record<string, string | string[]>;
  payloads: ArtifactPayload[];
  signed: boolean;
  version: number;
  size: number;
  sha256: string;
  modified: string;
  /** File name under DATA/artifacts/. */
  file: string;
}

export interface DeploymentRecord {
  id: string;
  name: string;
  artifactName: string;
  created: string;
  finished?: string;
  devices: string[];
  allDevices: boolean;
  forceInstallation: boolean;
  /** Artifact ids with `artifactName` at creation; uploads with that name later join too (as Mender does). */
  artifacts: string[];
  aborted: boolean;
}

/** Device deployment statuses, devices' and server-only ones (deployments model/status.go). */
export type DeviceDeploymentStatus = DeploymentStatus | ServerOnlyStatus;

export const DEVICE_REPORTED_STATUSES: readonly DeviceDeploymentStatus[] = [
  'downloading',
  'pause_before_installing',
  'installing',
  'pause_before_rebooting',
  'rebooting',
  'pause_before_committing',
  'success',
  'failure',
  'already-installed',
];

const FINISHED: ReadonlySet<DeviceDeploymentStatus> = new Set(['success', 'failure', 'already-installed', 'noartifact', 'aborted', 'decommissioned']);

export function isFinishedStatus(status: DeviceDeploymentStatus): boolean {
  return FINISHED.has(status);
}

/** What a device sent to `next`, normalised so GET and POST compare by content (see device-routes). */
export interface NextRequest {
  artifact_name: string;
  device_type: string;
  artifact_provides: Record<string, string>;
}

export interface LogMessage {
  timestamp: string;
  level: string;
  message: string;
}

export interface DeviceDeploymentRecord {
  /** `${deploymentId}/${deviceId}` */
  id: string;
  deploymentId: string;
  deviceId: string;
  status: DeviceDeploymentStatus;
  substate?: string;
  created: string;
  started?: string;
  finished?: string;
  artifactId?: string;
  deviceType?: string;
  request?: NextRequest;
  log?: LogMessage[];
  /** Every accepted status change in arrival order (the dev server's addition, for tests and `status`). */
  history: { status: DeviceDeploymentStatus; substate?: string; at: string }[];
}

export interface ServerSecrets {
  id: 'secrets';
  /** HMAC-SHA256 keys (hex) for device JWTs and for the pre-signed download links. */
  jwtKey: string;
  linkKey: string;
}

export interface Collections {
  device: DeviceRecord;
  artifact: ArtifactRecord;
  deployment: DeploymentRecord;
  'device-deployment': DeviceDeploymentRecord;
  secrets: ServerSecrets;
}

export type Kind = keyof Collections;
