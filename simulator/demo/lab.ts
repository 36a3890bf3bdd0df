// A self-contained update lab: the dev server on loopback with its own data dir, keys, MCUboot
// images and signed artifacts made on the spot, and one simulated board running the client.
// The demo drives it for people; the end-to-end tests drive it for assertions.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type RunOnceResult } from '../../core/client.ts';
import { createEspOtaModule } from '../../core/modules/esp-ota.ts';
import { createZephyrImageModule } from '../../core/modules/zephyr-image.ts';
import type { ClientConfig, ClientEvent } from '../../core/client-config.ts';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import { createCborStateCodec } from '../../platform/state-codec-cbor.ts';
import type { Board } from '../../platform/board.ts';
import type { Http } from '../../platform/http.ts';
import type { PublicKey } from '../../platform/verifier.ts';
import { readBoard, type BoardDescription } from '../../scripts/boards.mjs';
import { writeArtifact, type WriteArtifactOptions } from '../artifact-writer.ts';
import { SimDevice, type BootedBoard, type FirmwareBehaviour } from '../board/sim-device.ts';
import { buildEspAppImage } from '../esp-app-image-builder.ts';
import { buildMcubootImage } from '../mcuboot-imgtool.ts';
import { startServer, type RunningServer } from '../server/server.ts';
import { Management } from './management.ts';

export interface KeyPair {
  readonly privatePem: string;
  readonly publicPem: string;
  readonly publicKey: PublicKey;
}

function keyPair(type: 'ed25519' | 'ec'): KeyPair {
  const { privateKey, publicKey } =
    type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    privatePem: privateKey.export({ type: type === 'ec' ? 'sec1' : 'pkcs8', format: 'pem' }).toString(),
    publicPem,
    publicKey: parsePublicKeyPem(publicPem),
  };
}

/** Deterministic filler for image payloads (a firmware stand-in that compresses like code does not). */
export function firmwareBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export interface LabOptions {
  /**
   * A board of the catalogue (boards/<name>/board.json; default stm32): the lab runs its bootloader
   * model (MCUboot and zephyr-image payloads, or ESP-IDF OTA and esp-ota) on that model's small
   * default flash part (simulator/board/sim-device.ts DEFAULT_FLASH), which keeps the demo and the
   * e2e sweeps fast; test/boards runs each board on its own part.
   */
  readonly board?: string;
  /** Image payload bytes (default 24 KiB). */
  readonly payloadBytes?: number;
  readonly slotBytes?: number;
  readonly behaviours?: Record<string, FirmwareBehaviour>;
  readonly seed?: number;
  /** Extra client settings (the lab sets server, keys, codec, self-test). */
  readonly client?: Partial<ClientConfig>;
  readonly onEvent?: (event: ClientEvent) => void;
  /** Wraps the board's Http (tests: count bytes, act just before a request goes out). */
  readonly wrapHttp?: (http: Http) => Http;
  /** Verify artifact signatures on the device (default true). */
  readonly requireArtifactSignature?: boolean;
  /** Check image signatures against the boot key on the device (default true). */
  readonly checkBootKey?: boolean;
}

export const DEVICE_TYPE = 'ota-mcu-sim-stm32';
export const ESP32_DEVICE_TYPE = 'ota-mcu-sim-esp32';
export const FIRST_VERSION = '1.0.0';

export class Lab {
  readonly dataDir: string;
  readonly server: RunningServer;
  readonly management: Management;
  readonly bootKey: KeyPair;
  readonly artifactKey: KeyPair;
  readonly otherKey: KeyPair; // signs what must be refused
  readonly options: LabOptions;
  readonly board: string;
  /** The board's bootloader model. */
  readonly kind: BoardDescription['kind'];
  readonly #payloadType: string;
  /** The device type the lab's boards report and its artifacts carry. */
  readonly deviceType: string;
  device!: SimDevice;
  deviceId: string | undefined;
  readonly #uploaded = new Set<string>();
  readonly #enrolled = new Set<string>();
  #devices = 0;

  private constructor(dataDir: string, server: RunningServer, options: LabOptions) {
    this.dataDir = dataDir;
    this.server = server;
    this.options = options;
    const description = readBoard(options.board ?? 'stm32');
    this.board = description.name;
    this.kind = description.kind;
    this.#payloadType = description.payloadType;
    this.deviceType = this.kind === 'mcuboot' ? DEVICE_TYPE : ESP32_DEVICE_TYPE;
    this.management = new Management(server.url, server.caPem);
    this.bootKey = keyPair('ed25519');
    this.artifactKey = keyPair('ec');
    this.otherKey = keyPair('ec');
    this.newDevice();
  }

  /** A fresh board on firmware 1.0.0 (new flash, new identity); the previous one is closed by close(). */
  newDevice(): SimDevice {
    const n = this.#devices++;
    this.device = new SimDevice({
      kind: this.kind,
      dir: join(this.dataDir, `device-${n}`),
      firstImage: this.image(FIRST_VERSION),
      bootKey: this.kind === 'mcuboot' ? this.bootKey.publicKey : undefined,
      slotBytes: this.options.slotBytes ?? 128 * 1024,
      ca: this.server.caPem,
      behaviours: this.kind === 'mcuboot' ? mcubootVersions(this.options.behaviours) : this.options.behaviours,
      seed: (this.options.seed ?? 1) + n,
    });
    this.deviceId = undefined;
    return this.device;
  }

  static async start(options: LabOptions = {}): Promise<Lab> {
    const dataDir = mkdtempSync(join(tmpdir(), 'ota-mcu-lab-'));
    const server = await startServer({ dataDir: join(dataDir, 'server'), autoAccept: true, port: 0 });
    return new Lab(dataDir, server, options);
  }

  /** An image of `version` for the lab's board: MCUboot, signed with the boot key unless told otherwise; or an ESP-IDF app. */
  image(version: string, options: { signer?: 'boot' | 'other' | 'none'; payloadBytes?: number } = {}): Uint8Array {
    const signer = options.signer ?? 'boot';
    const payload = firmwareBytes(options.payloadBytes ?? this.options.payloadBytes ?? 24 * 1024, versionSeed(version));
    if (this.kind === 'esp-idf') return buildEspAppImage({ version, payload });
    const privateKeyPem = signer === 'boot' ? this.bootKey.privatePem : signer === 'other' ? keyPair('ed25519').privatePem : undefined;
    return buildMcubootImage({ version, payload, privateKeyPem });
  }

  /** A zephyr-image (esp-ota on ESP32) artifact carrying `image`, signed with the artifact key unless told otherwise. */
  artifact(
    name: string,
    image: Uint8Array,
    options: { signer?: 'artifact' | 'other' | 'none' } & Partial<WriteArtifactOptions> = {},
  ): Uint8Array {
    const signer = options.signer ?? 'artifact';
    return writeArtifact({
      artifactName: name,
      deviceTypes: [this.deviceType],
      payloadType: this.#payloadType,
      files: [{ name: this.kind === 'mcuboot' ? 'zephyr.signed.bin' : 'app.bin', data: image }],
      compression: 'none',
      ...options,
      signingKey: signer === 'artifact' ? this.artifactKey.privatePem : signer === 'other' ? this.otherKey.privatePem : undefined,
    });
  }

  config(board: BootedBoard): ClientConfig {
    return {
      serverUrl: this.server.url,
      ca: this.server.caPem,
      deviceType: this.deviceType,
      artifactName: `firmware-${FIRST_VERSION}`,
      artifactKey: this.options.requireArtifactSignature === false ? undefined : this.artifactKey.publicKey,
      bootKey: this.options.checkBootKey === false || this.kind !== 'mcuboot' ? undefined : this.bootKey.publicKey,
      stateCodec: createCborStateCodec(),
      selfTest: () => board.selfTest(),
      progressMinIntervalMs: 0,
      onEvent: this.options.onEvent,
      ...this.options.client,
      // The board's own update module, then any the lab's options add.
      updateModules: [this.kind === 'mcuboot' ? createZephyrImageModule() : createEspOtaModule(), ...(this.options.client?.updateModules ?? [])],
    };
  }

  /** Runs the device until its current deployment has ended (resets included), or there is none. */
  async runDevice(maxBoots = 12): Promise<{ boots: number; last: RunOnceResult | undefined }> {
    let last: RunOnceResult | undefined;
    const { boots } = await this.device.run(
      async (board) => {
        last = await createClient(this.boardFor(board), this.config(board)).runOnce();
      },
      { maxBoots },
    );
    return { boots, last };
  }

  /** The board the client sees: the simulated one, with the test's Http wrapper if any. */
  boardFor(board: BootedBoard): Board {
    const wrap = this.options.wrapHttp;
    if (wrap === undefined) return board;
    return {
      name: board.name,
      identity: board.identity,
      inventory: board.inventory,
      http: wrap(board.http),
      scheduler: board.scheduler,
      bootControl: board.bootControl,
      keyValue: board.keyValue,
      sha256: board.sha256,
      verifier: board.verifier,
      inflate: board.inflate,
      system: board.system,
      flash: board.flash,
    };
  }

  /** First contact: the device authorizes (auto-accepted) and sends its inventory; returns its id. */
  async enroll(): Promise<string> {
    await this.runDevice();
    const fresh = (await this.management.devices()).filter((d) => !this.#enrolled.has(d.id));
    if (fresh.length !== 1) throw new Error(`expected one new device on the server, found ${fresh.length}`);
    this.deviceId = fresh[0]!.id;
    this.#enrolled.add(this.deviceId);
    return this.deviceId;
  }

  /** Uploads the artifact and deploys it to the device; returns the deployment id. */
  async deploy(artifact: Uint8Array, artifactName: string): Promise<string> {
    const deviceId = this.deviceId ?? (await this.enroll());
    if (!this.#uploaded.has(artifactName)) await this.management.uploadArtifact(artifact, artifactName);
    this.#uploaded.add(artifactName);
    return this.management.createDeployment(`deploy ${artifactName}`, artifactName, [deviceId]);
  }

  /** What the server knows about the device in a deployment: status, the history of statuses, the log. */
  async view(deploymentId: string): Promise<{ status: string; history: string[]; log: string | undefined }> {
    const deviceId = this.deviceId!;
    const record = this.server.store.get('device-deployment', `${deploymentId}/${deviceId}`);
    const history = record?.history.map((h) => (h.substate ? `${h.status} (${h.substate})` : h.status)) ?? [];
    return { status: record?.status ?? 'pending', history, log: await this.management.deviceLog(deploymentId, deviceId) };
  }

  /** The image the bootloader boots now (the device's truth, not the client's belief). */
  async runningVersion(): Promise<string> {
    const board = await this.device.boot();
    return shortVersion((await board.bootControl.state()).runningVersion);
  }

  async close(): Promise<void> {
    await this.device.close();
    await this.server.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** MCUboot reports versions as "1.1.0+0": key behaviours the way the bootloader names images. */
function mcubootVersions(behaviours: Record<string, FirmwareBehaviour> | undefined): Record<string, FirmwareBehaviour> | undefined {
  if (behaviours === undefined) return undefined;
  return Object.fromEntries(Object.entries(behaviours).map(([version, behaviour]) => [version.includes('+') ? version : `${version}+0`, behaviour]));
}

/** A version as people write it: "1.1.0" for MCUboot's "1.1.0+0". */
export function shortVersion(version: string): string {
  return version.endsWith('+0') ? version.slice(0, -2) : version;
}

function versionSeed(version: string): number {
  let seed = 7;
  for (const ch of version) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  return seed;
}
