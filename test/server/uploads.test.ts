// Issue 16 item 3: artifact uploads stream to disk (never buffered whole), are checked without
// blocking the event loop for long, are bounded in number (429 + Retry-After) and in inflated
// payload size (413), so a small compression bomb neither stalls nor exhausts the server.
import { describe, it, expect, beforeAll } from 'vitest';
import { request, type ClientRequest } from 'node:http';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeArtifact } from '../../simulator/artifact-writer.ts';
import { M_ARTIFACTS, multipartArtifact, tempDir, testServer, uploadArtifact } from './harness.ts';
import { spawnServer } from './server-process.ts';

const MIB = 1024 * 1024;

/** 64 MiB of zeros, gzipped in a valid artifact: ~80 KiB on the wire. */
function bomb(name: string, payloadBytes = 64 * MIB): Uint8Array {
  const zeros = new Uint8Array(MIB);
  return writeArtifact({
    artifactName: name,
    deviceTypes: ['fx-device'],
    payloadType: 'rootfs-image',
    files: [{ name: 'zeros.img', size: payloadBytes, chunks: function* () { for (let at = 0; at < payloadBytes; at += MIB) yield zeros; } }],
  });
}

/** Starts a POST /artifacts whose body is `head` so far; resolves the status once `finish` is called and the answer comes. */
function startUpload(url: string, contentType: string, length: number): { req: ClientRequest; status: Promise<number> } {
  let req!: ClientRequest;
  const status = new Promise<number>((resolve, reject) => {
    req = request(new URL(M_ARTIFACTS, url), { method: 'POST', agent: false, headers: { 'Content-Type': contentType, 'Content-Length': String(length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  return { req, status };
}

async function writeAll(req: ClientRequest, bytes: Uint8Array): Promise<void> {
  if (!req.write(bytes)) await new Promise((resolve) => req.once('drain', resolve));
}

describe('artifact uploads', () => {
  let artifact: Uint8Array;
  beforeAll(() => {
    artifact = bomb('bomb-64m');
  });

  it('refuses a payload that inflates past the per-artifact limit with 413, leaving nothing behind', async () => {
    const server = await testServer({ maxArtifactPayloadBytes: 16 * MIB });
    try {
      const res = await uploadArtifact(server, artifact);
      expect(res.status).toBe(413);
      expect(res.json().error).toMatch(/inflates past 16777216 bytes/);
      expect(readdirSync(join(server.dataDir, 'artifacts'))).toEqual([]);
      expect(server.store.list('artifact')).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('keeps the event loop turning while it inflates and checks an upload', async () => {
    const server = await testServer();
    // The longest gap between ticks of a 5 ms timer while the upload is received and checked.
    let last = performance.now();
    let worstMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      worstMs = Math.max(worstMs, now - last);
      last = now;
    }, 5);
    try {
      const res = await uploadArtifact(server, artifact);
      clearInterval(ticker);
      expect(res.status).toBe(201);
      console.log(`upload of ${artifact.length} B inflating to 64 MiB: worst event-loop delay ${worstMs.toFixed(0)} ms`);
      // The old server inflated and hashed it all in one turn (~0.5 s here, ~5 s per GiB).
      expect(worstMs).toBeLessThan(250);
      expect(readdirSync(join(server.dataDir, 'artifacts'))).toEqual([`${server.store.list('artifact')[0]!.id}.mender`]);
    } finally {
      clearInterval(ticker);
      await server.stop();
    }
  });

  it('answers 429 with Retry-After past the concurrent upload limit, and 413 past the body limit', async () => {
    const server = await testServer({ maxConcurrentUploads: 2, maxUploadBytes: 4 * MIB });
    try {
      const bodies = ['a', 'b'].map((n) => multipartArtifact(bomb(`slow-${n}`, MIB), { size: '' }));
      // Two uploads send half their body and stall: both are in progress.
      const slow = bodies.map(({ body, contentType }) => ({ body, ...startUpload(server.url, contentType, body.length) }));
      for (const s of slow) await writeAll(s.req, s.body.subarray(0, s.body.length >> 1));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const third = await uploadArtifact(server, bomb('third', MIB));
      expect(third.status).toBe(429);
      expect(third.headers['retry-after']).toBe('1');
      expect(third.json().error).toMatch(/too many artifact uploads at once \(at most 2\)/);
      for (const s of slow) s.req.end(s.body.subarray(s.body.length >> 1));
      expect(await Promise.all(slow.map((s) => s.status))).toEqual([400, 400]); // the empty "size" field disagrees
      expect((await uploadArtifact(server, bomb('third', MIB))).status).toBe(201); // slots free again
      const big = await uploadArtifact(server, new Uint8Array(5 * MIB));
      expect(big.status).toBe(413);
      expect(readdirSync(join(server.dataDir, 'artifacts'))).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });

  it('streams uploads to disk: two concurrent 96 MiB uploads barely move the server process RSS', async () => {
    const dir = tempDir();
    const server = await spawnServer(dir.path);
    try {
      const size = 96 * MIB;
      const chunk = Buffer.alloc(MIB, 0x5a); // not an artifact: refused with 400 once received
      const send = async () => {
        const boundary = 'ota-mcu-memory-test';
        const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="a.mender"\r\n\r\n`);
        const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
        const upload = startUpload(server.url, `multipart/form-data; boundary=${boundary}`, head.length + size + tail.length);
        await writeAll(upload.req, head);
        for (let at = 0; at < size; at += chunk.length) await writeAll(upload.req, chunk);
        upload.req.end(tail);
        return upload.status;
      };
      const before = server.rss();
      expect(await Promise.all([send(), send()])).toEqual([400, 400]);
      const grown = server.rss() - before;
      console.log(`server RSS ${(before / MIB).toFixed(0)} MiB, +${(grown / MIB).toFixed(1)} MiB after 2 x 96 MiB concurrent uploads`);
      // The old server held each body twice (chunks, then one Buffer): 384 MiB here.
      expect(grown).toBeLessThan(80 * MIB);
      expect(readdirSync(join(dir.path, 'artifacts'))).toEqual([]);
    } finally {
      await server.stop();
      dir.remove();
    }
  }, 30_000);
});
