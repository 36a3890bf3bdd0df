// A small client of the dev server's management API (Mender's paths and shapes), as a person
// would drive Mender: upload an artifact, create a deployment, read statuses and logs, abort.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomUUID } from 'node:crypto';

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
  constructor(
    readonly serverUrl: string,
    readonly ca?: string,
  ) {}

  async uploadArtifact(artifact: Uint8Array, description = ''): Promise<string> {
    const boundary = `----ota-mcu-${randomUUID()}`;
    const head = (name: string, extra = '') => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${extra}\r\n`;
    const body = Buffer.concat([
      Buffer.from(`${head('description')}\r\n${description}\r\n`),
      Buffer.from(`${head('size')}\r\n${artifact.length}\r\n`),
      Buffer.from(`${head('artifact', '; filename="artifact.mender"')}Content-Type: application/octet-stream\r\n\r\n`),
      Buffer.from(artifact),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const answer = await this.#call('POST', '/api/management/v1/deployments/artifacts', body, `multipart/form-data; boundary=${boundary}`);
    return this.#createdId(answer, 'artifact upload');
  }

  async devices(): Promise<DevauthDevice[]> {
    return (await this.#json('GET', '/api/management/v2/devauth/devices')) as DevauthDevice[];
  }

  async createDeployment(name: string, artifactName: string, devices: string[]): Promise<string> {
    const body = Buffer.from(JSON.stringify({ name, artifact_name: artifactName, devices }));
    return this.#createdId(await this.#call('POST', '/api/management/v1/deployments/deployments', body, 'application/json'), 'deployment');
  }

  async abortDeployment(id: string): Promise<void> {
    const answer = await this.#call('PUT', `/api/management/v1/deployments/deployments/${id}/status`, Buffer.from('{"status":"aborted"}'), 'application/json');
    if (answer.status !== 204) throw new Error(`abort deployment ${id}: ${answer.status} ${answer.body.toString('utf8')}`);
  }

  async deploymentDevices(id: string): Promise<DeviceDeploymentView[]> {
    return (await this.#json('GET', `/api/management/v1/deployments/deployments/${id}/devices`)) as DeviceDeploymentView[];
  }

  async deviceLog(deploymentId: string, deviceId: string): Promise<string | undefined> {
    const answer = await this.#call('GET', `/api/management/v1/deployments/deployments/${deploymentId}/devices/${deviceId}/log`);
    return answer.status === 200 ? answer.body.toString('utf8') : undefined;
  }

  /** Sets the device's desired configuration (deviceconfig management API). */
  async setConfiguration(deviceId: string, config: Record<string, string>): Promise<void> {
    const answer = await this.#call('PUT', `/api/management/v1/deviceconfig/configurations/device/${deviceId}`, Buffer.from(JSON.stringify(config)), 'application/json');
    if (answer.status !== 204) throw new Error(`set configuration of ${deviceId}: ${answer.status} ${answer.body.toString('utf8')}`);
  }

  /** The device's configuration: what was asked (configured) and what it reports (reported). */
  async configuration(deviceId: string): Promise<{ configured: Record<string, string>; reported: Record<string, string> }> {
    return (await this.#json('GET', `/api/management/v1/deviceconfig/configurations/device/${deviceId}`)) as {
      configured: Record<string, string>;
      reported: Record<string, string>;
    };
  }

  async #json(method: string, path: string): Promise<unknown> {
    const answer = await this.#call(method, path);
    if (answer.status !== 200) throw new Error(`${method} ${path}: ${answer.status} ${answer.body.toString('utf8')}`);
    return JSON.parse(answer.body.toString('utf8'));
  }

  #createdId(answer: { status: number; body: Buffer; location?: string }, what: string): string {
    if (answer.status !== 201 || answer.location === undefined) throw new Error(`${what}: ${answer.status} ${answer.body.toString('utf8')}`);
    return answer.location.slice(answer.location.lastIndexOf('/') + 1);
  }

  #call(method: string, path: string, body?: Buffer, contentType?: string): Promise<{ status: number; body: Buffer; location?: string }> {
    const url = new URL(path, this.serverUrl);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          ca: this.ca,
          headers: {
            Authorization: 'Bearer dev',
            ...(body !== undefined ? { 'Content-Type': contentType ?? 'application/json', 'Content-Length': body.length } : {}),
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (chunk: Buffer) => parts.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), location: res.headers.location }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
