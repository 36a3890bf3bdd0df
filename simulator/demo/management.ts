// A small client of the dev server's management API (Mender's paths and shapes), as a person
// would drive Mender: upload an artifact, create a deployment, read statuses and logs, abort.
import { ManagementClient, describeFailure, type Answer } from '../server/management-client.ts';

export interface DeviceDeploymentView {
  id: string;
  status: string;
  substate?: string;
  log: boolean;
}

export interface DevauthDevice {
  id: string;
  identity_data: Record<string, string>;
  status: string;
}

export class Management {
  readonly #client: ManagementClient;

  constructor(
    readonly serverUrl: string,
    readonly ca?: string,
  ) {
    this.#client = new ManagementClient({ serverUrl, token: 'dev', ...(ca !== undefined ? { ca } : {}) });
  }

  async uploadArtifact(artifact: Uint8Array, description = ''): Promise<string> {
    return this.#createdId(await this.#client.uploadArtifact(artifact, description), 'POST', '/api/management/v1/deployments/artifacts');
  }

  async devices(): Promise<DevauthDevice[]> {
    return this.#client.getJson<DevauthDevice[]>('/api/management/v2/devauth/devices');
  }

  async createDeployment(name: string, artifactName: string, devices: string[]): Promise<string> {
    const path = '/api/management/v1/deployments/deployments';
    return this.#createdId(await this.#client.json('POST', path, { name, artifact_name: artifactName, devices }), 'POST', path);
  }

  async abortDeployment(id: string): Promise<void> {
    await this.#noContent('PUT', `/api/management/v1/deployments/deployments/${id}/status`, { status: 'aborted' });
  }

  async deploymentDevices(id: string): Promise<DeviceDeploymentView[]> {
    return this.#client.getJson<DeviceDeploymentView[]>(`/api/management/v1/deployments/deployments/${id}/devices`);
  }

  async deviceLog(deploymentId: string, deviceId: string): Promise<string | undefined> {
    const answer = await this.#client.send('GET', `/api/management/v1/deployments/deployments/${deploymentId}/devices/${deviceId}/log`);
    return answer.status === 200 ? answer.body.toString('utf8') : undefined;
  }

  /** Sets the device's desired configuration (deviceconfig management API). */
  async setConfiguration(deviceId: string, config: Record<string, string>): Promise<void> {
    await this.#noContent('PUT', `/api/management/v1/deviceconfig/configurations/device/${deviceId}`, config);
  }

  /** The device's configuration: what was asked (configured) and what it reports (reported). */
  async configuration(deviceId: string): Promise<{ configured: Record<string, string>; reported: Record<string, string> }> {
    return this.#client.getJson(`/api/management/v1/deviceconfig/configurations/device/${deviceId}`);
  }

  async #noContent(method: string, path: string, value: unknown): Promise<void> {
    const answer = await this.#client.json(method, path, value);
    if (answer.status !== 204) throw new Error(describeFailure(method, path, answer));
  }

  // Mender answers 201 with the new id only in Location.
  #createdId(answer: Answer, method: string, path: string): string {
    const location = answer.headers.location;
    if (answer.status !== 201 || typeof location !== 'string') throw new Error(describeFailure(method, path, answer));
    return location.slice(location.lastIndexOf('/') + 1);
  }
}
