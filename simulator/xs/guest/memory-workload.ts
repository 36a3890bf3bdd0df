// A memory workload that needs no platform natives (no bridge, no xsnap globals, no Moddable
// modules besides TextEncoder/TextDecoder), so the same JS runs on any XS: xsnap-32 (the memory
// harness) and a build of the Moddable SDK's own XS where xsl preloads it. It is how the harness's
// rule "what preloading moves to flash is the live heap right after import + gc" was checked
// against the real preloader once (issue 12; docs/xs-memory-check.md).
//
// Bundled as an IIFE with globalName OtaMemoryWorkload (scripts: simulator/xs/memory-workload.ts);
// the SDK side takes the same text as a module by appending `export default OtaMemoryWorkload;`.
// The inputs (artifacts as hex, the verification key) are constants of the bundle, from the virtual
// module below: part of the code, so preloaded with it on a device, and in the baseline on xsnap.
//
// run(checkpoint) calls checkpoint(label) at fixed points. The harness's checkpoint collects
// garbage and reads XS's counters (live slots and chunk bytes, and the peaks since the previous
// checkpoint), so both engines are read at exactly the same points of the same code.
import { createArtifactReader } from '../../../core/artifact/artifact-reader.ts';
import type { PayloadSink } from '../../../core/artifact/types.ts';
import { createDeviceApi } from '../../../core/mender/device-api.ts';
import { sha256Noble } from '../../../platform/digest-noble.ts';
import type { HttpRequest, HttpResponse } from '../../../platform/http.ts';
import { inflateFflate } from '../../../platform/inflate-fflate.ts';
import type { KeyValue } from '../../../platform/key-value.ts';
import { parsePublicKeyPem } from '../../../platform/public-key.ts';
import { verifierNoble } from '../../../platform/verifier-noble.ts';
// @ts-expect-error: a virtual module the builder provides (simulator/xs/memory-workload.ts)
import { ARTIFACTS, CHUNK_BYTES, KEY_PEM } from 'ota-mcu:memory-workload-input';

export type Checkpoint = (label: string) => void;

interface WorkloadArtifact {
  readonly name: string;
  readonly hex: string;
}

function nibble(code: number): number {
  return code <= 57 ? code - 48 : code - 87; // 0-9, a-f
}

/** Bytes [at, at + into.length) of the hex text, as a network chunk would arrive. */
function hexInto(hex: string, at: number, into: Uint8Array): void {
  for (let i = 0, c = 2 * at; i < into.length; i++, c += 2) into[i] = (nibble(hex.charCodeAt(c)) << 4) | nibble(hex.charCodeAt(c + 1));
}

/** The artifact reader over one artifact, fed CHUNK_BYTES at a time; a checkpoint after each chunk. */
async function readArtifact(artifact: WorkloadArtifact, checkpoint: Checkpoint): Promise<string> {
  const prefix = `read ${artifact.name}`;
  const key = parsePublicKeyPem(KEY_PEM as string);
  let sinkBytes = 0;
  const sink: PayloadSink = {
    open(): void {},
    write(bytes: Uint8Array): void {
      sinkBytes += bytes.length;
    },
    close(): void {},
    discard(): void {},
  };
  const reader = createArtifactReader({ sha256: sha256Noble, inflate: inflateFflate, verifier: verifierNoble, sink, key });
  checkpoint(`${prefix}: reader created`);
  const total = artifact.hex.length / 2;
  for (let at = 0; at < total; at += CHUNK_BYTES as number) {
    const chunk = new Uint8Array(Math.min(CHUNK_BYTES as number, total - at));
    hexInto(artifact.hex, at, chunk);
    await reader.write(chunk);
    checkpoint(`${prefix}: chunk`);
  }
  const summary = await reader.end();
  checkpoint(`${prefix}: ended`);
  return `${artifact.name}: ${summary.artifactName} ${summary.signature} ${sinkBytes} B`;
}

const encoder = new TextEncoder();

/** A fake server answering the device API over an in-memory Http: one auth, one next, one status. */
function fakeResponse(status: number, body: string): HttpResponse {
  let bytes: Uint8Array | undefined = body === '' ? undefined : encoder.encode(body);
  return {
    status,
    headers: new Map([['content-type', 'application/json']]),
    async read() {
      const out = bytes;
      bytes = undefined;
      return out;
    },
    close() {},
  };
}

const NEXT_ANSWER = JSON.stringify({
  id: 'w0rk-10ad-0000-0000-000000000001',
  artifact: {
    artifact_name: 'firmware-1.1.0',
    source: { uri: 'https://s3.example.com/artifacts/firmware-1.1.0?X-Amz-Signature=0123456789abcdef', expire: '2030-01-01T00:00:00Z' },
    device_types_compatible: ['memory-workload'],
  },
});

async function deviceApi(checkpoint: Checkpoint): Promise<string> {
  const store = new Map<string, Uint8Array>();
  const keyValue: KeyValue = {
    maxValueBytes: 4000,
    get: async (name) => store.get(name),
    set: async (name, value) => void store.set(name, value.slice()),
    delete: async (name) => void store.delete(name),
  };
  let seed = 1;
  const api = createDeviceApi({
    http: {
      async request(request: HttpRequest) {
        if (request.url.endsWith('/auth_requests')) return fakeResponse(200, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZCJ9.c2lnbmF0dXJl');
        if (request.url.includes('/deployments/next')) return fakeResponse(200, NEXT_ANSWER);
        return fakeResponse(204, '');
      },
    },
    scheduler: { now: () => 0, sleep: async () => {}, enqueue: (job) => job() },
    system: {
      restart(): never {
        throw new Error('restart');
      },
      resetReason: () => 'power-on',
      wallClockMs: () => 1_700_000_000_000,
      log() {},
      randomBytes(length) {
        const out = new Uint8Array(length);
        for (let i = 0; i < length; i++) out[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
        return out;
      },
    },
    keyValue,
    serverUrl: 'https://mender.example.com',
    identity: { mac: '02:00:00:aa:bb:cc' },
  });
  checkpoint('device api: created');
  await api.authorize();
  checkpoint('device api: authorized');
  const next = await api.checkUpdate({ artifactName: 'firmware-1.0.0', deviceType: 'memory-workload', provides: { 'rootfs-image.version': '1.0.0' } });
  checkpoint('device api: next parsed');
  await api.reportStatus(next?.id ?? '', 'downloading');
  checkpoint('device api: status sent');
  return `next ${next?.artifactName}`;
}

/** The whole workload: each artifact read once, then the device API; checkpoints in between. */
export async function run(checkpoint: Checkpoint): Promise<string> {
  checkpoint('start');
  const results: string[] = [];
  for (const artifact of ARTIFACTS as WorkloadArtifact[]) {
    results.push(await readArtifact(artifact, checkpoint));
    checkpoint(`read ${artifact.name}: dropped`);
  }
  results.push(await deviceApi(checkpoint));
  checkpoint('device api: dropped');
  return results.join('; ');
}
