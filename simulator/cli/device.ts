// `ota-mcu device --server URL --state DIR [--board NAME] [--device-type NAME]
// [--image FIRST.bin] [--boot-key PEM] [--artifact-key PEM] [--tenant-token T] [--ca PEM]
// [--allow-http] [--once] [--poll-interval SECONDS]`: one simulated device whose flash and
// key-value store live in DIR, so it survives process restarts. With --once it runs until the
// current deployment has ended (resets included) or there is none, and prints the running version
// as the last line of stdout. --board names a board of the catalogue (boards/<name>/board.json;
// default stm32): the device runs its bootloader model, its flash part and its payload type.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type RunOnceResult } from '../../core/client.ts';
import { listBoards, readBoard, type BoardDescription } from '../../scripts/boards.mjs';
import { createEspOtaModule } from '../../core/modules/esp-ota.ts';
import { createZephyrImageModule } from '../../core/modules/zephyr-image.ts';
import type { ClientConfig } from '../../core/client-config.ts';
import { createCborStateCodec } from '../../platform/state-codec-cbor.ts';
import type { PublicKey } from '../../platform/verifier.ts';
import { SimDevice, type BootedBoard } from '../board/sim-device.ts';
import { shortVersion } from '../demo/lab.ts';
import { Renderer } from '../demo/render.ts';
import { buildEspAppImage } from '../esp-app-image-builder.ts';
import { buildMcubootImage } from '../mcuboot-imgtool.ts';
import { SERVER_OPTIONS, readCa, requireServer } from './server-flags.ts';
import { readPublicKeyFlag } from './key-flag.ts';

const DEFAULT_POLL_SECONDS = 30;

const USAGE = `usage: ota-mcu device --server URL --state DIR [--board ${listBoards().join('|')}] [--device-type NAME]
    [--image FIRST.bin] [--boot-key PEM] [--artifact-key PEM] [--tenant-token T] [--ca PEM]
    [--allow-http] [--once] [--poll-interval SECONDS]
`;

interface DeviceArgs {
  server: string;
  state: string;
  /** A board of the catalogue (boards/<name>/board.json): its bootloader model, flash part and payload type. */
  board: BoardDescription;
  deviceType: string;
  image?: Uint8Array;
  bootKey?: PublicKey;
  artifactKey?: PublicKey;
  tenantToken?: string;
  ca?: string;
  allowHttp: boolean;
  once: boolean;
  pollSeconds: number;
}

function parse(argv: string[]): DeviceArgs | 'help' {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      ...SERVER_OPTIONS,
      state: { type: 'string' },
      board: { type: 'string' },
      'device-type': { type: 'string' },
      image: { type: 'string' },
      'boot-key': { type: 'string' },
      'artifact-key': { type: 'string' },
      'tenant-token': { type: 'string' },
      'allow-http': { type: 'boolean' },
      once: { type: 'boolean' },
      'poll-interval': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const server = requireServer(values);
  if (values.state === undefined) throw new Error('--state DIR is required');
  const name = values.board ?? 'stm32';
  if (!listBoards().includes(name)) throw new Error(`--board expected ${listBoards().join(' or ')}, got "${name}"`);
  const board = readBoard(name);
  const pollSeconds = values['poll-interval'] === undefined ? DEFAULT_POLL_SECONDS : Number(values['poll-interval']);
  if (!Number.isFinite(pollSeconds) || pollSeconds <= 0) throw new Error(`--poll-interval expected seconds > 0, got "${values['poll-interval']}"`);
  return {
    server,
    state: values.state,
    board,
    deviceType: values['device-type'] ?? `ota-mcu-sim-${board.name}`,
    image: values.image === undefined ? undefined : new Uint8Array(readFileSync(values.image)),
    bootKey: values['boot-key'] === undefined ? undefined : readPublicKeyFlag('--boot-key', values['boot-key']),
    artifactKey: values['artifact-key'] === undefined ? undefined : readPublicKeyFlag('--artifact-key', values['artifact-key']),
    tenantToken: values['tenant-token'],
    ca: readCa(values),
    allowHttp: values['allow-http'] === true,
    once: values.once === true,
    pollSeconds,
  };
}

/** The image a new DIR starts with when --image is not given: an unsigned 1.0.0 for the board. */
function defaultImage(args: DeviceArgs): Uint8Array {
  const payload = new Uint8Array(16 * 1024).fill(0x5a);
  return args.board.kind === 'mcuboot' ? buildMcubootImage({ version: '1.0.0', payload }) : buildEspAppImage({ version: '1.0.0', payload });
}

export async function run(argv: string[]): Promise<number> {
  let args: DeviceArgs;
  try {
    const parsed = parse(argv);
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    args = parsed;
    const isNew = !existsSync(join(args.state, 'device.json'));
    if (isNew && args.image === undefined && args.bootKey !== undefined && args.board.kind === 'mcuboot') {
      throw new Error('--image is required for a new --state DIR when --boot-key is given (the bootloader boots only signed images)');
    }
  } catch (error) {
    process.stderr.write(`ota-mcu device: ${(error as Error).message}\n`);
    return 1;
  }
  // A stable seed per DIR: the same directory is the same device (identity, power rail).
  const seed = createHash('sha256').update(args.state).digest().readUInt32LE(0);
  const device = new SimDevice({
    kind: args.board.kind,
    flash: args.board.flash,
    dir: args.state,
    firstImage: args.image ?? defaultImage(args),
    bootKey: args.bootKey,
    ca: args.ca,
    seed,
  });
  const render = new Renderer(process.stdout);
  const config = (board: BootedBoard): ClientConfig => ({
    serverUrl: args.server,
    deviceType: args.deviceType,
    ca: args.ca,
    allowHttp: args.allowHttp,
    tenantToken: args.tenantToken,
    artifactKey: args.artifactKey,
    bootKey: args.bootKey,
    stateCodec: createCborStateCodec(),
    selfTest: () => board.selfTest(),
    onEvent: (event) => render.event(event),
    updateModules: [args.board.kind === 'mcuboot' ? createZephyrImageModule() : createEspOtaModule()],
  });
  let last: RunOnceResult | undefined;
  try {
    for (;;) {
      await device.run(async (board) => {
        last = await createClient(board, config(board)).runOnce();
      });
      if (args.once) break;
      // Real time between checks: the board's clock is virtual, the server's is not.
      await sleep(args.pollSeconds * 1000);
    }
  } catch (error) {
    render.end();
    process.stderr.write(`ota-mcu device: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await device.close();
  }
  render.end();
  process.stdout.write(`${shortVersion(last?.runningVersion ?? '')}\n`);
  return 0;
}
