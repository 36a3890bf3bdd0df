// The demo's story: a board on firmware 1.0.0, a signed 1.1.0 artifact deployed through the
// management API, the update shown live, and a summary. Each scenario ends on a working image with
// the status the server should have; `expected` says which, and the exit code compares.
import type { ClientEvent } from '../../core/client-config.ts';
import { HttpMeter } from './http-meter.ts';
import { FIRST_VERSION, Lab } from './lab.ts';
import { Renderer } from './render.ts';

export const SCENARIOS = ['update', 'bad-signature', 'selftest-fails', 'power-cut', 'network-cut'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioResult {
  readonly scenario: ScenarioName;
  readonly ok: boolean;
  readonly serverStatus: string;
  readonly runningVersion: string;
  readonly expected: { readonly status: string; readonly version: string };
  readonly history: string[];
  readonly downloadedBytes: number;
  readonly artifactBytes: number;
  readonly seconds: number;
  readonly boots: number;
}

const NEW_VERSION = '1.1.0';

const EXPECTED: Record<ScenarioName, { status: string; version: string; story: string }> = {
  update: { status: 'success', version: NEW_VERSION, story: 'a signed update, start to finish' },
  'bad-signature': { status: 'failure', version: FIRST_VERSION, story: 'the artifact is signed by a key the device does not trust' },
  'selftest-fails': { status: 'failure', version: FIRST_VERSION, story: 'the new firmware fails its self-test after the reset' },
  'power-cut': { status: 'success', version: NEW_VERSION, story: 'the power fails halfway through the download' },
  'network-cut': { status: 'success', version: NEW_VERSION, story: 'the connection drops at 45% of the download' },
};

export interface ScenarioOptions {
  readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Image payload bytes (default 96 KiB). */
  readonly payloadBytes?: number;
}

export async function runScenario(scenario: ScenarioName, options: ScenarioOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const expected = EXPECTED[scenario];
  const meter = new HttpMeter();
  const render = new Renderer(options.out);
  let lab: Lab | undefined;
  let powerCutArmed = scenario === 'power-cut';
  const onEvent = (event: ClientEvent): void => {
    render.event(event);
    if (powerCutArmed && event.type === 'progress' && event.total !== undefined && event.offset >= event.total / 2) {
      powerCutArmed = false;
      render.note('⚡ power cut (the next flash operation is torn)');
      lab!.device.power.cutAfter(0);
    }
  };
  lab = await Lab.start({
    payloadBytes: options.payloadBytes ?? 96 * 1024,
    slotBytes: 256 * 1024,
    behaviours: scenario === 'selftest-fails' ? { [NEW_VERSION]: 'fails-self-test' } : undefined,
    onEvent,
    wrapHttp: (http) => meter.wrap(http),
    client: { pollIntervals: { RetryPollIntervalSeconds: 60 } },
  });
  try {
    render.title(`ota-mcu demo — ${scenario}: ${expected.story}`);
    render.note(`server   ${lab.server.url} (dev server, its own CA, data in a temp dir)`);
    render.note(`board    simulated STM32 with MCUboot (swap mode, 2 KiB sectors), firmware ${FIRST_VERSION}`);
    render.quiet = true;
    const deviceId = await lab.enroll();
    render.quiet = false;
    render.note(`device   ${deviceId} authorized (auto-accept), inventory sent`);

    const image = lab.image(NEW_VERSION);
    const artifactName = `firmware-${NEW_VERSION}`;
    const artifact = lab.artifact(artifactName, image, { signer: scenario === 'bad-signature' ? 'other' : 'artifact' });
    render.note(`artifact ${artifactName}: MCUboot image ${NEW_VERSION} (${image.length} bytes, ed25519), artifact ${artifact.length} bytes, ECDSA P-256 signature${scenario === 'bad-signature' ? ' by an untrusted key' : ''}`);
    if (scenario === 'network-cut') lab.server.faults.cutDownload({ afterBytes: Math.floor(artifact.length * 0.45) });
    const deploymentId = await lab.deploy(artifact, artifactName);
    render.note(`deploy   deployment ${deploymentId} created through the management API`);
    render.blank();

    meter.downloadedBytes = 0;
    const { boots } = await lab.runDevice();
    render.blank();

    const view = await lab.view(deploymentId);
    const runningVersion = await lab.runningVersion();
    const ok = view.status === expected.status && runningVersion === expected.version;
    const seconds = (performance.now() - started) / 1000;
    render.summary({
      from: FIRST_VERSION,
      to: runningVersion,
      status: view.status,
      history: view.history,
      downloadedBytes: meter.downloadedBytes,
      artifactBytes: artifact.length,
      ranged: meter.requests.filter((r) => r.range !== undefined).map((r) => r.range!),
      seconds,
      boots,
      log: view.log,
      ok,
      expected,
    });
    return {
      scenario,
      ok,
      serverStatus: view.status,
      runningVersion,
      expected: { status: expected.status, version: expected.version },
      history: view.history,
      downloadedBytes: meter.downloadedBytes,
      artifactBytes: artifact.length,
      seconds,
      boots,
    };
  } finally {
    render.end();
    await lab.close();
  }
}
