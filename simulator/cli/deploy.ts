// `ota-mcu deploy --server URL ARTIFACT [--device ID]… [--all] [--ca PEM]`: uploads the artifact
// through the management API and creates a deployment of it; prints the deployment id.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeFailure } from '../server/management-client.ts';
import { readArtifactFacts } from '../server/artifact-facts.ts';
import { SERVER_OPTIONS, managementClient } from './server-flags.ts';

const USAGE = 'usage: ota-mcu deploy --server URL ARTIFACT [--device ID]... [--all] [--ca PEM]\n';

export async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...SERVER_OPTIONS,
        device: { type: 'string', multiple: true },
        all: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const client = managementClient(values);
    if (positionals.length !== 1) throw new Error(`expected one ARTIFACT, got ${positionals.length}`);
    const devices = values.device ?? [];
    if (!values.all && devices.length === 0) throw new Error('give --device ID (repeatable) or --all');
    if (values.all && devices.length > 0) throw new Error('give --device or --all, not both');
    const artifact = readFileSync(positionals[0]!);

    const upload = await client.uploadArtifact(artifact);
    let artifactName: string;
    if (upload.status === 201) {
      const location = String(upload.headers.location ?? '');
      artifactName = (await client.getJson<{ name: string }>(location)).name;
    } else if (upload.status === 409) {
      // Already on the server (same name and device type): deploy that one.
      artifactName = (await readArtifactFacts(artifact)).name;
      process.stderr.write(`ota-mcu deploy: artifact ${artifactName} is already on the server; deploying it\n`);
    } else {
      throw new Error(describeFailure('POST', '/api/management/v1/deployments/artifacts', upload));
    }
    const body = { name: artifactName, artifact_name: artifactName, ...(values.all ? { all_devices: true } : { devices }) };
    const created = await client.json('POST', '/api/management/v1/deployments/deployments', body);
    if (created.status !== 201) throw new Error(describeFailure('POST', '/api/management/v1/deployments/deployments', created));
    const id = String(created.headers.location ?? '').split('/').pop();
    if (!id) throw new Error('POST /api/management/v1/deployments/deployments: 201 without a Location header');
    process.stdout.write(`${id}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`ota-mcu deploy: ${(error as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}
