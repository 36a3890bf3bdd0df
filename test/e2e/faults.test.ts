// The server changes its mind and the network fails: an abort (409) at every status the client
// sends, an expired token in the middle, and the download connection cut at random offsets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpMeter } from '../../simulator/demo/http-meter.ts';
import { Lab } from '../../simulator/demo/lab.ts';
import { prng } from '../../simulator/prng.ts';
import { statuses } from './history.ts';

const FINAL = new Set(['success', 'failure', 'already-installed']);

describe('server abort (409) at each status report', () => {
  const meter = new HttpMeter();
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.start({ wrapHttp: (http) => meter.wrap(http) });
  });
  afterAll(async () => {
    meter.before = undefined;
    await lab?.close();
  });

  // Which status report the server answers 409 to (the n-th of that status), and the boots it takes.
  const steps: { name: string; status: string; nth: number; boots: number }[] = [
    { name: 'the first downloading', status: 'downloading', nth: 1, boots: 1 },
    { name: 'a download progress report', status: 'downloading', nth: 2, boots: 1 },
    { name: 'installing', status: 'installing', nth: 1, boots: 1 },
    { name: 'rebooting', status: 'rebooting', nth: 1, boots: 1 },
    { name: 'installing before the commit (new image on trial)', status: 'installing', nth: 2, boots: 3 },
  ];

  for (const step of steps) {
    it(`aborts cleanly at ${step.name}: old image, no further reports`, async () => {
      lab.newDevice();
      await lab.enroll();
      const id = await lab.deploy(lab.artifact('firmware-1.1.0', lab.image('1.1.0')), 'firmware-1.1.0');
      let seen = 0;
      let aborted = false;
      meter.before = async (request) => {
        if (request.status !== step.status || aborted) return;
        if (++seen === step.nth) {
          aborted = true;
          await lab.management.abortDeployment(id);
        }
      };
      try {
        const { last, boots } = await lab.runDevice();
        expect(aborted).toBe(true);
        expect(last?.deployment).toEqual({ id, end: 'aborted' });
        expect(boots).toBe(step.boots);
      } finally {
        meter.before = undefined;
      }
      const view = await lab.view(id);
      expect(view.status).toBe('aborted');
      expect(statuses(view.history).filter((s) => FINAL.has(s))).toEqual([]);
      expect(await lab.runningVersion()).toBe('1.0.0');
      // The next check finds nothing to do and the device stays on 1.0.0.
      const again = await lab.runDevice();
      expect(again.last?.deployment).toBeUndefined();
    });
  }
});

describe('tokens and connections', () => {
  const meter = new HttpMeter();
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.start({ payloadBytes: 64 * 1024, wrapHttp: (http) => meter.wrap(http), client: { checkpointBytes: 16 * 1024 } });
  });
  afterAll(async () => {
    meter.before = undefined;
    await lab?.close();
  });

  it('a 401 in the middle (tokens expired during the download): authorizes again and goes on', async () => {
    lab.newDevice();
    await lab.enroll();
    const id = await lab.deploy(lab.artifact('firmware-1.1.0', lab.image('1.1.0')), 'firmware-1.1.0');
    let downloading = 0;
    meter.before = (request) => {
      if (request.status === 'downloading' && ++downloading === 2) lab.server.faults.expireTokens();
    };
    const authBefore = meter.requests.filter((r) => r.url.endsWith('/auth_requests')).length;
    try {
      const { last } = await lab.runDevice();
      expect(last?.deployment).toEqual({ id, end: 'success' });
    } finally {
      meter.before = undefined;
    }
    // One auth at start, one after the 401, one before the commit.
    expect(meter.requests.filter((r) => r.url.endsWith('/auth_requests')).length - authBefore).toBe(3);
    const view = await lab.view(id);
    expect(view.status).toBe('success');
    const unauthorized = lab.server.exchanges.filter((e) => e.status === 401 && e.url.includes('/status'));
    expect(unauthorized.length).toBeGreaterThanOrEqual(1);
    expect(await lab.runningVersion()).toBe('1.1.0');
  });

  for (const compression of ['none', 'gzip'] as const) {
    it(`the connection cut at 10 random offsets (${compression}): resumed with Range each time, byte bound holds`, async () => {
      lab.newDevice();
      await lab.enroll();
      const name = `firmware-1.1.0-${compression}`;
      const artifact = lab.artifact(name, lab.image('1.1.0'), { compression });
      const random = prng(compression === 'none' ? 42 : 7);
      const offsets = [...new Set(Array.from({ length: 10 }, () => 1 + Math.floor(random() * (artifact.length - 2))))].sort((a, b) => a - b);
      expect(offsets).toHaveLength(10);
      offsets.forEach((offset, i) => lab.server.faults.cutDownload({ afterBytes: offset - (i === 0 ? 0 : offsets[i - 1]!) }));
      const id = await lab.deploy(artifact, name);
      meter.downloadedBytes = 0;
      meter.maxChunkBytes = 0;
      const before = meter.requests.length;
      try {
        const { last, boots } = await lab.runDevice();
        expect(last?.deployment).toEqual({ id, end: 'success' });
        expect(boots).toBe(2);
      } finally {
        lab.server.faults.clear();
      }
      const ranges = meter.requests.slice(before).filter((r) => r.range !== undefined).map((r) => r.range);
      // A cut connection may lose what the server had written but not yet sent: each resume starts
      // at or before its planned offset, exactly where the bytes stopped (none arrive twice, below).
      expect(ranges).toHaveLength(offsets.length);
      ranges.forEach((range, i) => {
        const start = Number(/^bytes=(\d+)-$/.exec(range!)![1]);
        expect(start).toBeLessThanOrEqual(offsets[i]!);
        expect(start).toBeGreaterThan(i === 0 ? 0 : offsets[i - 1]! - 64 * 1024);
      });
      expect(meter.downloadedBytes).toBeLessThanOrEqual(artifact.length + offsets.length * (64 * 1024 + meter.maxChunkBytes));
      // In-process resumes lose nothing: each byte arrives once.
      expect(meter.downloadedBytes).toBe(artifact.length);
      expect((await lab.view(id)).status).toBe('success');
      expect(await lab.runningVersion()).toBe('1.1.0');
    });
  }

  it('a refused download link (403, e.g. expired) is renewed with the same next request, once', async () => {
    lab.newDevice();
    await lab.enroll();
    const id = await lab.deploy(lab.artifact('firmware-1.1.0-link', lab.image('1.1.0')), 'firmware-1.1.0-link');
    lab.server.faults.failRequests({ path: '/download/', status: 403, count: 1 });
    const before = lab.server.exchanges.length;
    try {
      const { last } = await lab.runDevice();
      expect(last?.deployment).toEqual({ id, end: 'success' });
    } finally {
      lab.server.faults.clear();
    }
    const seen = lab.server.exchanges.slice(before).map((e) => `${e.method} ${e.url.replace(/\?.*$/, '')} ${e.status}`);
    const refused = seen.findIndex((line) => line.includes('/download/') && line.endsWith(' 403'));
    expect(refused).toBeGreaterThan(0);
    expect(seen[refused + 1]).toMatch(/POST \/api\/devices\/v1\/deployments\/device\/deployments\/next 200/);
    expect(seen[refused + 2]).toMatch(/GET \/download\/.* 200/);
    expect((await lab.view(id)).status).toBe('success');
  });

  it('gives up after the bounded number of attempts and reports failure', async () => {
    lab.newDevice();
    await lab.enroll();
    const artifact = lab.artifact('firmware-1.1.0-cut', lab.image('1.1.0'));
    lab.server.faults.cutDownload({ afterBytes: 2000, count: 100 });
    const id = await lab.deploy(artifact, 'firmware-1.1.0-cut');
    try {
      const { last } = await lab.runDevice();
      expect(last?.deployment).toEqual({ id, end: 'failure' });
    } finally {
      lab.server.faults.clear();
    }
    const view = await lab.view(id);
    expect(view.status).toBe('failure');
    expect(view.log).toMatch(/download: gave up after 12 attempts/);
    expect(await lab.runningVersion()).toBe('1.0.0');
  });
});

describe('a hostile download server', () => {
  // After the artifact's last byte the server keeps streaming (no Content-Length), without end.
  let endless = false;
  let extra = 0;
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.start({
      wrapHttp: (http) => ({
        request: async (request) => {
          const response = await http.request(request);
          if (!endless || !request.url.includes('/download/')) return response;
          const headers = new Map(response.headers);
          headers.delete('content-length');
          let done = false;
          return {
            status: response.status,
            headers,
            read: async () => {
              const chunk = done ? undefined : await response.read();
              if (chunk !== undefined) return chunk;
              done = true;
              if (++extra > 64 * 1024) throw new Error('test: the client is still reading after 256 MiB');
              return new Uint8Array(4096);
            },
            close: () => response.close(),
          };
        },
      }),
    });
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('streaming on after a complete artifact: the client stops a tar record past its end and fails the deployment', async () => {
    lab.newDevice();
    await lab.enroll();
    const id = await lab.deploy(lab.artifact('firmware-1.1.0-endless', lab.image('1.1.0')), 'firmware-1.1.0-endless');
    endless = true;
    try {
      const { last } = await lab.runDevice();
      expect(last?.deployment).toEqual({ id, end: 'failure' });
    } finally {
      endless = false;
    }
    expect(extra).toBeLessThanOrEqual(4); // ≤ 16 KiB past the end, then refused
    const view = await lab.view(id);
    expect(view.log).toMatch(/artifact: \d+ bytes after the end-of-archive marker, over 10240/);
    expect(await lab.runningVersion()).toBe('1.0.0');
  });
});
