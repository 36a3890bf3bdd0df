// `ota-mcu status --server URL [--deployment ID] [--json] [--ca PEM]`: devices and deployments, or
// one deployment with its per-device statuses. --json prints one object in Mender's shapes:
// {"devices": [devauth Device], "deployments": [DeploymentV1]} or
// {"deployment": DeploymentV1, "devices": [DeviceWithImage]}.
import { parseArgs } from 'node:util';
import { SERVER_OPTIONS, managementClient } from './server-flags.ts';

const USAGE = 'usage: ota-mcu status --server URL [--deployment ID] [--json] [--ca PEM]\n';

interface Device {
  id: string;
  status: string;
  identity_data?: Record<string, unknown>;
}
interface Deployment {
  id: string;
  name: string;
  artifact_name: string;
  status: string;
  created: string;
  device_count: number;
  statistics?: { status?: Record<string, number> };
}
interface DeviceDeployment {
  id: string;
  status: string;
  substate?: string;
  log: boolean;
}

export async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...SERVER_OPTIONS,
        deployment: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const client = managementClient(values);
    if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(String(positionals[0]))}`);
    if (values.deployment !== undefined) {
      const id = encodeURIComponent(values.deployment);
      const deployment = await client.getJson<Deployment>(`/api/management/v1/deployments/deployments/${id}`);
      const devices = await client.getJson<DeviceDeployment[]>(`/api/management/v1/deployments/deployments/${id}/devices`);
      if (values.json) process.stdout.write(`${JSON.stringify({ deployment, devices })}\n`);
      else process.stdout.write(deploymentText(deployment) + devicesInDeploymentText(deployment, devices));
      return 0;
    }
    const devices = await client.getJson<Device[]>('/api/management/v2/devauth/devices');
    const deployments = await client.getJson<Deployment[]>('/api/management/v1/deployments/deployments');
    if (values.json) process.stdout.write(`${JSON.stringify({ devices, deployments })}\n`);
    else process.stdout.write(overviewText(devices, deployments));
    return 0;
  } catch (error) {
    process.stderr.write(`ota-mcu status: ${(error as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function overviewText(devices: Device[], deployments: Deployment[]): string {
  let out = `devices (${devices.length})\n`;
  if (devices.length > 0) out += table([['ID', 'STATUS', 'IDENTITY'], ...devices.map((d) => [d.id, d.status, JSON.stringify(d.identity_data ?? {})])]);
  out += `\ndeployments (${deployments.length})\n`;
  if (deployments.length > 0) {
    out += table([
      ['ID', 'NAME', 'ARTIFACT', 'STATUS', 'DEVICES', 'CREATED'],
      ...deployments.map((d) => [d.id, d.name, d.artifact_name, d.status, String(d.device_count), d.created]),
    ]);
  }
  return out;
}

function deploymentText(d: Deployment): string {
  const counts = Object.entries(d.statistics?.status ?? {}).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
  return `deployment ${d.id} "${d.name}": artifact ${d.artifact_name}, ${d.status}, ${d.device_count} device(s)${counts ? ` (${counts})` : ''}\n`;
}

function devicesInDeploymentText(d: Deployment, devices: DeviceDeployment[]): string {
  if (devices.length === 0) return `no device has asked for it yet (${d.device_count} pending)\n`;
  return table([['DEVICE', 'STATUS', 'SUBSTATE', 'LOG'], ...devices.map((x) => [x.id, x.status, x.substate ?? '', x.log ? 'yes' : ''])]);
}
