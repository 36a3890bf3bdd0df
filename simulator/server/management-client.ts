// A small client for Mender's management API, used by `ota-mcu deploy` and `ota-mcu status`
// (works against the dev server and, with a token, against a real Mender server).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';

export interface ManagementClientOptions {
  serverUrl: string;
  /** PEM of the CA to trust for an https server. */
  ca?: string;
  /** Management JWT; the dev server needs none. */
  token?: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export class ManagementClient {
  constructor(private readonly options: ManagementClientOptions) {
    if (!/^https?:\/\//.test(options.serverUrl)) throw new TypeError(`"server" expected an http:// or https:// URL, got ${JSON.stringify(options.serverUrl)}`);
  }

  send(method: string, path: string, body?: { bytes: Uint8Array; contentType: string }): Promise<Answer> {
    const url = new URL(path, this.options.serverUrl);
    const headers: Record<string, string> = {};
    if (this.options.token !== undefined) headers.Authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) {
      headers['Content-Type'] = body.contentType;
      headers['Content-Length'] = String(body.bytes.length);
    }
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, agent: false, ...(this.options.ca !== undefined ? { ca: this.options.ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', (error) => reject(new Error(`${method} ${url.href}: ${error.message}`)));
      req.end(body?.bytes);
    });
  }

  /** GET returning JSON; throws naming the endpoint and the server's error text on another status. */
  async getJson<T>(path: string): Promise<T> {
    const answer = await this.send('GET', path);
    if (answer.status !== 200) throw new Error(describeFailure('GET', path, answer));
    return JSON.parse(answer.body.toString('utf8')) as T;
  }

  json(method: string, path: string, value: unknown): Promise<Answer> {
    return this.send(method, path, { bytes: Buffer.from(JSON.stringify(value)), contentType: 'application/json' });
  }

  /** POST /artifacts as multipart/form-data (the shape the Mender UI and mender-cli send). */
  uploadArtifact(artifact: Uint8Array, description = ''): Promise<Answer> {
    const boundary = `ota-mcu-${randomBytes(12).toString('hex')}`;
    const field = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const bytes = Buffer.concat([
      Buffer.from(field('description', description) + field('size', String(artifact.length))),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="artifact.mender"\r\nContent-Type: application/vnd.mender-artifact\r\n\r\n`),
      artifact,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return this.send('POST', '/api/management/v1/deployments/artifacts', { bytes, contentType: `multipart/form-data; boundary=${boundary}` });
  }
}

export function describeFailure(method: string, path: string, answer: Answer): string {
  let detail = answer.body.toString('utf8').trim();
  try {
    const parsed = JSON.parse(detail) as { error?: string };
    if (typeof parsed.error === 'string') detail = parsed.error;
  } catch {
    // not JSON: keep the text
  }
  return `${method} ${path}: ${answer.status}${detail !== '' ? ` ${detail.slice(0, 300)}` : ''}`;
}
