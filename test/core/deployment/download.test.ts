// The download state's shared failure: a payload type no registered module installs.
import { describe, expect, it } from 'vitest';
import type { Board } from '../../../platform/board.ts';
import { sha256Noble } from '../../../platform/digest-noble.ts';
import { inflateFflate } from '../../../platform/inflate-fflate.ts';
import { verifierNoble } from '../../../platform/verifier-noble.ts';
import { downloadArtifact, noUpdateModule, type DownloadContext } from '../../../core/deployment/download.ts';
import type { DeploymentRecord } from '../../../core/deployment/record.ts';
import type { UpdateModuleContext } from '../../../core/modules/update-module.ts';
import { createDeviceApi } from '../../../core/mender/device-api.ts';
import { memoryKeyValue, nodeHttp, testSystem, virtualScheduler } from '../mender/harness.ts';
import { isOtaError } from '../../../base/errors.ts';
import { createUpdateModuleRegistry } from '../../../core/modules/update-module.ts';
import { createZephyrImageModule } from '../../../core/modules/zephyr-image.ts';

describe('noUpdateModule', () => {
  it('names the payload type and the types that are registered', () => {
    const error = noUpdateModule('esp-ota', createUpdateModuleRegistry([createZephyrImageModule()]));
    expect(isOtaError(error, 'artifact-unsupported')).toBe(true);
    expect(error.message).toBe('payload type "esp-ota": no update module (have zephyr-image)');
    expect(noUpdateModule(undefined, createUpdateModuleRegistry()).message).toBe('payload type undefined: no update module (have none)');
  });
});

function downloadContext(api: DownloadContext['api'], scheduler: ReturnType<typeof virtualScheduler>, uri: string, maxDownloadAttempts = 12) {
  let record = { deploymentId: 'd1', artifactName: 'fw-2', uri, attempts: 0 } as unknown as DeploymentRecord;
  const logs: string[] = [];
  const context = {
    board: { scheduler, sha256: sha256Noble, inflate: inflateFflate, verifier: verifierNoble } as unknown as Board,
    api,
    modules: createUpdateModuleRegistry([createZephyrImageModule()]),
    settings: { deviceType: 'x', maxDownloadAttempts, checkpointBytes: 4096, progressStepPercent: 10, progressMinIntervalMs: 0, retryMaxIntervalMs: 60_000 },
    moduleContext: {} as UpdateModuleContext,
    provides: {},
    update: async (patch: Partial<DeploymentRecord>) => (record = { ...record, ...patch }),
    record: () => record,
    report: async () => {},
    progress: () => {},
    log: (_level: string, message: string) => void logs.push(message),
  } satisfies DownloadContext;
  return { context, logs, record: () => record };
}

describe('downloadArtifact: deadlines', () => {
  it('a body that trickles (one byte every 2 s) fails each attempt at its deadline; the download gives up, not never', async () => {
    const scheduler = virtualScheduler();
    const SIZE = 1_000_000;
    let reads = 0;
    const ranges: number[] = [];
    const api = {
      async download(_uri: string, range: { start?: number } = {}) {
        const start = range.start ?? 0;
        ranges.push(start);
        return {
          status: start > 0 ? 206 : 200,
          headers: new Map([['content-length', String(SIZE - start)]]),
          async read() {
            if (++reads > 100_000) throw new Error('test: still reading after 100000 trickled bytes');
            await scheduler.sleep(2000);
            return new Uint8Array(1);
          },
          close() {},
        };
      },
    } as unknown as DownloadContext['api'];
    const { context, logs } = downloadContext(api, scheduler, 'https://s3.example/a', 3);
    let error: unknown;
    try {
      await downloadArtifact(context);
    } catch (e) {
      error = e;
    }
    expect(isOtaError(error, 'network')).toBe(true);
    expect((error as Error).message).toMatch(/^download: gave up after 3 attempts: download from byte \d+: deadline passed \(\d+ bytes in \d+ s; \d+ s allowed for \d+ bytes expected\)$/);
    expect(logs[0]).toMatch(/^download: download from byte 0: deadline passed/);
    expect(ranges.length).toBe(3); // the first response, then two resumes with Range
    expect(reads).toBeLessThan(5000);
  });
});

describe('downloadArtifact: failures retrying cannot heal', () => {
  it('an http:// link on an https server fails the attempt at once: no backoff, no second attempt', async () => {
    const scheduler = virtualScheduler();
    const api = createDeviceApi({
      http: nodeHttp(), scheduler, system: testSystem(), keyValue: memoryKeyValue(),
      serverUrl: 'https://127.0.0.1:9', identity: { serial: 'SN1' },
    });
    let record = { deploymentId: 'd1', artifactName: 'fw-2', uri: 'http://127.0.0.1:9/a?sig=1', attempts: 0 } as unknown as DeploymentRecord;
    const logs: string[] = [];
    const context = {
      board: { scheduler, sha256: sha256Noble, inflate: inflateFflate, verifier: verifierNoble } as unknown as Board,
      api,
      modules: createUpdateModuleRegistry([createZephyrImageModule()]),
      settings: { deviceType: 'x', maxDownloadAttempts: 12, checkpointBytes: 4096, progressStepPercent: 10, progressMinIntervalMs: 0, retryMaxIntervalMs: 60_000 },
      moduleContext: {} as UpdateModuleContext,
      provides: {},
      update: async (patch: Partial<DeploymentRecord>) => (record = { ...record, ...patch }),
      record: () => record,
      report: async () => {},
      progress: () => {},
      log: (_level: string, message: string) => void logs.push(message),
    } satisfies DownloadContext;
    let error: unknown;
    try {
      await downloadArtifact(context);
    } catch (e) {
      error = e;
    }
    expect(isOtaError(error, 'insecure-transport')).toBe(true);
    expect((error as Error).message).toBe('GET http://127.0.0.1:9/a: plain http:// refused (not encrypted); set allowHttp to allow it');
    expect(record.attempts).toBe(1);
    expect(scheduler.sleeps).toEqual([]);
  });
});
