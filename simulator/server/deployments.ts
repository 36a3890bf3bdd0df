// Deployment rules as Mender's deployments service applies them (app/app.go at mendersoftware/
// deployments): which deployment a device gets, the identical-request rule, already-installed,
// noartifact, status updates (409 once aborted), abort, and the deployment's overall status.
import { randomUUID } from 'node:crypto';
import type { Store } from './store.ts';
import type { ArtifactRecord, DeploymentRecord, DeviceDeploymentRecord, DeviceDeploymentStatus, LogMessage, NextRequest } from './model.ts';
import { isFinishedStatus } from './model.ts';
import { HttpError, nowIso } from './http-kit.ts';

export type NextOutcome =
  | { kind: 'none' }
  | { kind: 'deploy'; deployment: DeploymentRecord; deviceDeployment: DeviceDeploymentRecord; artifact: ArtifactRecord };

export class Deployments {
  constructor(private readonly store: Store) {}

  create(input: { name: string; artifactName: string; devices: string[]; allDevices: boolean; forceInstallation: boolean }): DeploymentRecord {
    const artifacts = this.store.list('artifact').filter((a) => a.name === input.artifactName);
    // Mender: no artifact with that name → 422, no device → 400.
    if (artifacts.length === 0) throw new HttpError(422, `no artifact named ${JSON.stringify(input.artifactName)}`);
    const devices = input.allDevices
      ? this.store.list('device').filter((d) => d.authSets.some((s) => s.status === 'accepted')).map((d) => d.id)
      : [...new Set(input.devices)];
    if (devices.length === 0) throw new HttpError(400, input.allDevices ? 'no accepted devices for the deployment' : 'deployment needs "devices" or "all_devices"');
    const created = nowIso();
    const deployment: DeploymentRecord = {
      id: randomUUID(),
      name: input.name,
      artifactName: input.artifactName,
      created,
      devices,
      allDevices: input.allDevices,
      forceInstallation: input.forceInstallation,
      artifacts: artifacts.map((a) => a.id),
      aborted: false,
    };
    this.store.put('deployment', deployment);
    return deployment;
  }

  /** An uploaded artifact joins the unfinished deployments of its name (UpdateDeploymentsWithArtifactName). */
  attachArtifact(artifact: ArtifactRecord): void {
    for (const d of this.store.list('deployment')) {
      if (d.artifactName === artifact.name && this.statusOf(d) !== 'finished' && !d.artifacts.includes(artifact.id)) {
        this.store.put('deployment', { ...d, artifacts: [...d.artifacts, artifact.id] });
      }
    }
  }

  deviceDeployments(deploymentId: string): DeviceDeploymentRecord[] {
    return this.store.list('device-deployment').filter((dd) => dd.deploymentId === deploymentId);
  }

  /** Mender's GetDeploymentForDeviceWithCurrent. Throws HttpError(409) for conflicting request data. */
  next(deviceId: string, request: NextRequest): NextOutcome {
    const found = this.findForDevice(deviceId);
    if (found === undefined) return { kind: 'none' };
    const { deployment } = found;
    let dd = found.deviceDeployment;
    if (dd.request !== undefined) {
      if (!sameRequest(dd.request, request)) {
        // The device changed what it reports in the middle of an update: fail it so it rolls back.
        this.setStatus(dd, 'failure', 'device provided conflicting request data');
        throw new HttpError(409, 'Device provided conflicting request data');
      }
    } else {
      dd = { ...dd, request };
      this.store.put('device-deployment', dd);
    }
    if (request.artifact_name !== '' && request.artifact_name === deployment.artifactName && dd.status === 'pending' && !deployment.forceInstallation) {
      this.setStatus(dd, 'already-installed');
      return { kind: 'none' };
    }
    if (dd.artifactId === undefined) {
      const artifact = deployment.artifacts
        .map((id) => this.store.get('artifact', id))
        .find((a) => a !== undefined && a.deviceTypes.includes(request.device_type));
      if (artifact === undefined) {
        this.setStatus(dd, 'noartifact');
        return { kind: 'none' };
      }
      dd = { ...dd, artifactId: artifact.id, deviceType: request.device_type };
      this.store.put('device-deployment', dd);
    }
    const artifact = this.store.get('artifact', dd.artifactId!);
    if (artifact === undefined) throw new HttpError(500, `artifact ${dd.artifactId} of deployment ${deployment.id} is gone`);
    return { kind: 'deploy', deployment, deviceDeployment: dd, artifact };
  }

  /** PUT …/status from the device: 404 when the device is not in the deployment, 409 once aborted. */
  report(deviceId: string, deploymentId: string, status: DeviceDeploymentStatus, substate: string | undefined): void {
    const dd = this.store.get('device-deployment', `${deploymentId}/${deviceId}`);
    if (dd === undefined) throw new HttpError(404, `deployment ${deploymentId} is not assigned to device ${deviceId}`);
    // The spec declares 409 here without a body.
    if (dd.status === 'aborted') throw new HttpError(409, 'deployment aborted', { bodyless: true });
    if (dd.status === 'decommissioned') throw new HttpError(409, 'device decommissioned', { bodyless: true });
    if (dd.status === status && dd.substate === substate) return; // nothing to do, as Mender
    this.setStatus(dd, status, substate);
  }

  saveLog(deviceId: string, deploymentId: string, messages: LogMessage[]): void {
    const dd = this.store.get('device-deployment', `${deploymentId}/${deviceId}`);
    if (dd === undefined) throw new HttpError(404, `deployment ${deploymentId} is not assigned to device ${deviceId}`);
    this.store.put('device-deployment', { ...dd, log: messages });
  }

  abort(deploymentId: string): void {
    const deployment = this.store.get('deployment', deploymentId);
    if (deployment === undefined) throw new HttpError(404, `no deployment ${deploymentId}`);
    if (this.statusOf(deployment) === 'finished') throw new HttpError(422, `deployment ${deploymentId} already finished`);
    for (const dd of this.deviceDeployments(deploymentId)) {
      if (!isFinishedStatus(dd.status)) this.setStatus(dd, 'aborted');
    }
    this.store.put('deployment', { ...this.store.get('deployment', deploymentId)!, aborted: true, finished: nowIso() });
  }

  /** pending: no device started; finished: every device finished (or aborted); else inprogress. */
  statusOf(deployment: DeploymentRecord): 'pending' | 'inprogress' | 'finished' {
    if (deployment.aborted) return 'finished';
    const dds = this.deviceDeployments(deployment.id);
    if (dds.length === deployment.devices.length && dds.every((dd) => isFinishedStatus(dd.status))) return 'finished';
    return dds.some((dd) => dd.status !== 'pending') ? 'inprogress' : 'pending';
  }

  /** Device deployments are created when a listed device first asks (Mender creates them lazily too). */
  private findForDevice(deviceId: string): { deployment: DeploymentRecord; deviceDeployment: DeviceDeploymentRecord } | undefined {
    const own = this.store.list('device-deployment').filter((dd) => dd.deviceId === deviceId);
    const active = own.filter((dd) => !isFinishedStatus(dd.status));
    if (active.length > 0) {
      const dd = active.sort((a, b) => a.created.localeCompare(b.created))[0]!;
      return { deployment: this.store.get('deployment', dd.deploymentId)!, deviceDeployment: dd };
    }
    // Only deployments newer than the device's last finished one: a device never goes back in time.
    const latestFinished = own.reduce((latest, dd) => (dd.created > latest ? dd.created : latest), '');
    const deployment = this.store
      .list('deployment')
      .filter((d) => d.created > latestFinished && !own.some((dd) => dd.deploymentId === d.id))
      .filter((d) => d.devices.includes(deviceId) && this.statusOf(d) !== 'finished')
      .sort((a, b) => a.created.localeCompare(b.created))[0];
    if (deployment === undefined) return undefined;
    const dd: DeviceDeploymentRecord = {
      id: `${deployment.id}/${deviceId}`,
      deploymentId: deployment.id,
      deviceId,
      status: 'pending',
      created: deployment.created,
      history: [],
    };
    this.store.put('device-deployment', dd);
    return { deployment, deviceDeployment: dd };
  }

  private setStatus(dd: DeviceDeploymentRecord, status: DeviceDeploymentStatus, substate?: string): void {
    const at = nowIso();
    const current = this.store.get('device-deployment', dd.id) ?? dd;
    const next: DeviceDeploymentRecord = {
      ...current,
      status,
      substate,
      started: current.started ?? (status !== 'pending' ? at : undefined),
      finished: isFinishedStatus(status) ? at : current.finished,
      history: [...current.history, { status, ...(substate !== undefined ? { substate } : {}), at }],
    };
    this.store.put('device-deployment', next);
    const deployment = this.store.get('deployment', dd.deploymentId);
    if (deployment !== undefined && deployment.finished === undefined && this.statusOf(deployment) === 'finished') {
      this.store.put('deployment', { ...deployment, finished: at });
    }
  }
}

/** Mender compares with reflect.DeepEqual; we compare by content, so {} and absent provides are equal. */
function sameRequest(a: NextRequest, b: NextRequest): boolean {
  if (a.artifact_name !== b.artifact_name || a.device_type !== b.device_type) return false;
  const ka = Object.keys(a.artifact_provides).sort();
  const kb = Object.keys(b.artifact_provides).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a.artifact_provides[k] === b.artifact_provides[k]);
}
