// The flags of the commands that talk to a server (deploy, status, device): --server URL, which
// they require, and --ca PEM, the CA that signs the server's certificate.
import { readFileSync } from 'node:fs';
import { ManagementClient } from '../server/management-client.ts';

/** parseArgs options for --server and --ca. */
export const SERVER_OPTIONS = {
  server: { type: 'string' },
  ca: { type: 'string' },
} as const;

export function requireServer(values: { server?: string | undefined }): string {
  if (values.server === undefined) throw new Error('--server URL is required');
  return values.server;
}

/** The PEM text of the --ca file, or undefined without --ca. */
export function readCa(values: { ca?: string | undefined }): string | undefined {
  return values.ca === undefined ? undefined : readFileSync(values.ca, 'utf8');
}

/** The management API client for --server and --ca. */
export function managementClient(values: { server?: string | undefined; ca?: string | undefined }): ManagementClient {
  return new ManagementClient({ serverUrl: requireServer(values), ca: readCa(values) });
}
