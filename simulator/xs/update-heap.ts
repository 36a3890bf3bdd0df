// XS heap during full updates: a simulated MCUboot board, the dev server, and the client core in
// XS updating 1.0.0 → 1.1.0 with an image of N bytes. The guest collects garbage before every
// async I/O, so each crank's meter reading is the live heap at that point of the update.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientConfig } from '../../core/client-config.ts';
import { createZephyrImageModule } from '../../core/modules/zephyr-image.ts';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import { createCborStateCodec } from '../../platform/state-codec-cbor.ts';
import { writeArtifact } from '../artifact-writer.ts';
import { SimDevice, type BootedBoard } from '../board/sim-device.ts';
import { Management } from '../demo/management.ts';
import { buildMcubootImage } from '../mcuboot-imgtool.ts';
import { startServer } from '../server/server.ts';
import { runDeviceInXs, type XsDeviceRun } from './device.ts';
import { firmwareBytes } from './measure.ts';
import { XS_SLOT_BYTES } from './worker.ts';

const DEVICE_TYPE = 'xs-heap-board';
const SECTOR_BYTES = 2048; // the STM32 model's sector

export interface UpdateHeap {
  readonly payloadBytes: number;
  readonly board: string;
  /** Largest live heap at any I/O point of the update, all boots. */
  readonly peakBytes: number;
  /** Live heap at the last I/O before the reset into the new image: the update is written. */
  readonly afterBytes: number;
  readonly cranks: number;
  readonly seconds: number;
  readonly run: XsDeviceRun;
}

/** Runs one full update per size (fresh device each) and measures the XS heap. */
export async function heapDuringUpdates(sizes: readonly number[]): Promise<UpdateHeap[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ota-mcu-xs-heap-'));
  const server = await startServer({ dataDir, autoAccept: true, http: true, port: 0 });
  try {
    const management = new Management(server.url);
    const keys = generateKeyPairSync('ed25519');
    const privateKeyPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const bootKey = parsePublicKeyPem(keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const results: UpdateHeap[] = [];
    for (const [n, payloadBytes] of sizes.entries()) {
      const device = new SimDevice({
        kind: 'mcuboot',
        firstImage: buildMcubootImage({ version: '1.0.0', payload: firmwareBytes(16 * 1024, 1), privateKeyPem }),
        bootKey,
        // The image plus its header/TLVs and MCUboot's trailer, in whole sectors.
        slotBytes: Math.ceil((payloadBytes + 64 * 1024) / SECTOR_BYTES) * SECTOR_BYTES,
        seed: 100 + n,
      });
      try {
        let mac = '';
        const config = (board: BootedBoard): ClientConfig => {
          mac = board.identity.mac ?? '';
          return {
            serverUrl: server.url,
            allowHttp: true,
            deviceType: DEVICE_TYPE,
            artifactName: 'firmware-1.0.0',
            bootKey,
            stateCodec: createCborStateCodec(),
            selfTest: () => board.selfTest(),
            updateModules: [createZephyrImageModule()],
          };
        };
        await runDeviceInXs(device, config, { digest: 'host' }); // first contact: auth + inventory
        const deviceId = (await management.devices()).find((d) => d.identity_data.mac === mac)?.id;
        if (!deviceId) throw new Error(`heap bench: device ${mac} did not show up on the server`);
        const name = `heap-${payloadBytes}-${n}`;
        const image = buildMcubootImage({ version: '1.1.0', payload: firmwareBytes(payloadBytes, 2), privateKeyPem });
        await management.uploadArtifact(
          writeArtifact({
            artifactName: name,
            deviceTypes: [DEVICE_TYPE],
            payloadType: 'zephyr-image',
            compression: 'none',
            files: [{ name: 'zephyr.signed.bin', data: image }],
          }),
          name,
        );
        await management.createDeployment(name, name, [deviceId]);
        const started = performance.now();
        const run = await runDeviceInXs(device, config, { digest: 'host', gcAtEachIo: true });
        const seconds = (performance.now() - started) / 1000;
        if (run.last?.deployment?.end !== 'success' || run.last.runningVersion !== '1.1.0+0') {
          throw new Error(`heap bench: the ${payloadBytes}-byte update ended ${JSON.stringify(run.last)}`);
        }
        const written = run.runs.find((r) => r.ended === 'DeviceRestart');
        if (!written) throw new Error('heap bench: the update never reset into the new image');
        results.push({
          payloadBytes,
          board: 'sim-mcuboot',
          peakBytes: run.peakHeapBytes,
          afterBytes: written.meter.lastHeapCount * XS_SLOT_BYTES,
          cranks: run.runs.reduce((sum, r) => sum + r.meter.cranks, 0),
          seconds,
          run,
        });
      } finally {
        await device.close();
      }
    }
    return results;
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
