// Runs inside XS (bundled as a script): DeviceApi against a scripted in-engine server, then sends
// what the server saw to the host with issueCommand. Checks that core/mender runs on XS.
import { createDeviceApi } from '../../../../core/mender/device-api.ts';
import { fromUtf8, toBase64, utf8 } from '../../../../base/bytes.ts';
import type { Http, HttpRequest, HttpResponse } from '../../../../platform/http.ts';

declare const issueCommand: (message: ArrayBuffer) => ArrayBuffer;

interface Seen { method: string; url: string; headers: Record<string, string>; body: string }

function answer(status: number, body: string, headers: Record<string, string> = {}): HttpResponse {
  let sent = false;
  return {
    status,
    headers: new Map(Object.entries(headers)),
    read: async () => {
      if (sent || body === '') return undefined;
      sent = true;
      return utf8(body);
    },
    close: () => undefined,
  };
}

const seen: Seen[] = [];
let throttled = false;
const http: Http = {
  async request(request: HttpRequest) {
    const body = request.body === undefined ? '' : fromUtf8(request.body);
    seen.push({ method: request.method, url: request.url, headers: { ...request.headers }, body });
    const path = request.url.replace(/^https:\/\/[^/]+/, '');
    if (path === '/api/devices/v1/authentication/auth_requests') return answer(200, 'jwt-xs');
    if (path.startsWith('/api/devices/v2/')) return answer(404, '{"error":"no v2"}');
    if (path === '/api/devices/v1/deployments/device/deployments/next') {
      return answer(200, JSON.stringify({ id: 'dep-xs', artifact: { artifact_name: 'fw-2', source: { uri: 'https://s3.example/a?sig=1' }, device_types_compatible: ['esp32'] } }));
    }
    if (path.endsWith('/status')) {
      if (!throttled) {
        throttled = true;
        return answer(429, '', { 'retry-after': '4' });
      }
      return answer(204, '');
    }
    if (path === '/a?sig=1') return answer(206, 'rest', { 'content-range': 'bytes 100-103/104' });
    return answer(404, '');
  },
};

let now = 0;
const sleeps: number[] = [];
const records = new Map<string, Uint8Array>();
let seed = 1;

async function main(): Promise<unknown> {
  const api = createDeviceApi({
    http,
    scheduler: {
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
      enqueue: (job) => job(),
    },
    system: {
      restart: () => {
        throw new Error('no restart');
      },
      resetReason: () => 'power-on',
      wallClockMs: () => NaN,
      log: () => undefined,
      // Deterministic bytes: this checks the engine, not randomness.
      randomBytes: (n) => Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 255),
    },
    keyValue: { maxValueBytes: 4000, get: (k) => records.get(k), set: (k, v) => void records.set(k, v.slice()), delete: (k) => void records.delete(k) },
    serverUrl: 'https://ota.example',
    ca: '-----BEGIN CERTIFICATE-----\nxs\n-----END CERTIFICATE-----\n',
    identity: { mac: '02:00:00:00:00:0a' },
    identityKeyType: (globalThis as { keyType?: 'ed25519' | 'ecdsa-p256' }).keyType ?? 'ed25519',
  });
  const instructions = await api.checkUpdate({ artifactName: 'fw-1', deviceType: 'esp32', provides: {} });
  await api.reportStatus('dep-xs', 'downloading', 'downloading 50%');
  const rest = await api.download('https://s3.example/a?sig=1', { start: 100, total: 104 });
  const restText = fromUtf8((await rest.read())!);
  let refused = '';
  try {
    await api.download('https://s3.example/a?sig=1', { start: 99 });
  } catch (error) {
    refused = `${(error as { code: string }).code}: ${(error as Error).message}`;
  }
  return { instructions, sleeps, restText, refused, seen, keyRecord: toBase64(records.get('id-key')!), authorized: api.isAuthorized };
}

main().then(
  (result) => issueCommand(utf8(JSON.stringify({ ok: true, result })).buffer as ArrayBuffer),
  (error: unknown) => issueCommand(utf8(JSON.stringify({ ok: false, error: `${(error as Error).name}: ${(error as Error).message}\n${(error as Error).stack ?? ''}` })).buffer as ArrayBuffer),
);
