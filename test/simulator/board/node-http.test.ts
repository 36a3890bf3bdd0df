import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtaError } from '../../../base/errors.ts';
import { HttpFaults, NodeHttp } from '../../../simulator/board/node-http.ts';
import { createTls, type TlsMaterial } from '../../../simulator/server/tls.ts';

const BIG = 32 * 1024 * 1024;
let generated = 0; // bytes the /big handler has produced so far (it produces only on demand)

function pattern(at: number): number {
  return (at * 13 + (at >>> 12)) & 0xff;
}

const handler: http.RequestListener = (req, res) => {
  const url = new URL(req.url!, 'http://x');
  if (url.pathname === '/echo') {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      res.writeHead(201, { 'X-Mixed-Case': 'yes', 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, length: req.headers['content-length'], auth: req.headers['authorization'], body: Buffer.concat(parts).toString() }));
    });
  } else if (url.pathname === '/big') {
    generated = 0;
    res.writeHead(200, { 'Content-Length': String(BIG) });
    const source = new Readable({
      read() {
        if (generated >= BIG) return void this.push(null);
        const chunk = Buffer.alloc(64 * 1024);
        for (let i = 0; i < chunk.length; i++) chunk[i] = pattern(generated + i);
        generated += chunk.length;
        this.push(chunk);
      },
    });
    source.pipe(res);
  } else if (url.pathname === '/silent') {
    // never answers
  } else if (url.pathname === '/stall') {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write(Buffer.alloc(10));
  } else if (url.pathname === '/cut') {
    res.writeHead(200, { 'Content-Length': '1000' });
    res.write(Buffer.alloc(500, 7), () => res.socket?.destroy());
  } else if (url.pathname === '/404') {
    res.writeHead(404);
    res.end('nope');
  } else {
    res.writeHead(200, { 'Content-Length': '5000' });
    res.end(Buffer.alloc(5000, 1));
  }
};

async function readAll(response: { read(): Promise<Uint8Array | undefined> }): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for (let chunk = await response.read(); chunk !== undefined; chunk = await response.read()) chunks.push(chunk);
  return chunks;
}

describe('NodeHttp', () => {
  let server: http.Server;
  let secure: https.Server;
  let base: string;
  let secureBase: string;
  let tls: TlsMaterial;
  let otherCa: string;

  beforeAll(async () => {
    tls = createTls();
    otherCa = createTls().caPem;
    server = http.createServer(handler);
    secure = https.createServer({ cert: tls.certPem, key: tls.keyPem }, handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    secureBase = `https://localhost:${(secure.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    secure.closeAllConnections();
    server.close();
    secure.close();
  });

  it('sends method, headers and body with Content-Length; gives status and lower-case headers', async () => {
    const response = await new NodeHttp().request({
      method: 'POST', url: `${base}/echo`, headers: { Authorization: 'Bearer t' }, body: new TextEncoder().encode('hello'),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-mixed-case')).toBe('yes');
    expect(response.headers.get('content-type')).toBe('application/json');
    const text = Buffer.concat(await readAll(response)).toString();
    expect(JSON.parse(text)).toEqual({ method: 'POST', length: '5', auth: 'Bearer t', body: 'hello' });
  });

  it('resolves HTTP error statuses normally', async () => {
    const response = await new NodeHttp().request({ method: 'GET', url: `${base}/404` });
    expect(response.status).toBe(404);
    await response.close();
    await response.close();
  });

  it('pulls the body with backpressure: the server produces little until read() is called', async () => {
    const response = await new NodeHttp().request({ method: 'GET', url: `${base}/big` });
    await new Promise((r) => setTimeout(r, 300));
    expect(generated).toBeLessThan(BIG / 2); // socket buffers hold a few MiB at most
    let total = 0;
    let ok = true;
    let largest = 0;
    for (let chunk = await response.read(); chunk !== undefined; chunk = await response.read()) {
      largest = Math.max(largest, chunk.length);
      if (chunk[0] !== pattern(total) || chunk[chunk.length - 1] !== pattern(total + chunk.length - 1)) ok = false;
      total += chunk.length;
    }
    expect(total).toBe(BIG);
    expect(ok).toBe(true);
    expect(largest).toBeLessThanOrEqual(16 * 1024);
  });

  it('times out waiting for the response with OtaError network', async () => {
    const started = Date.now();
    await expect(new NodeHttp().request({ method: 'GET', url: `${base}/silent`, timeoutMs: 150 })).rejects.toMatchObject({
      code: 'network', message: expect.stringMatching(/no response within 150 ms/),
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out when the body stalls', async () => {
    const response = await new NodeHttp().request({ method: 'GET', url: `${base}/stall`, timeoutMs: 150 });
    await expect(readAll(response)).rejects.toMatchObject({ code: 'network', message: expect.stringMatching(/no body byte for 150 ms after 10 bytes/) });
  });

  it('rejects read() with OtaError network when the connection is lost before the end', async () => {
    const response = await new NodeHttp().request({ method: 'GET', url: `${base}/cut` });
    await expect(readAll(response)).rejects.toMatchObject({ code: 'network' });
  });

  it('reports a refused connection as OtaError network', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(new NodeHttp().request({ method: 'GET', url: `http://127.0.0.1:${port}/` })).rejects.toMatchObject({ code: 'network' });
  });

  it('drops the connection after N body bytes when a fault is injected (once)', async () => {
    const faults = new HttpFaults();
    const client = new NodeHttp({ faults });
    faults.dropNextAfter(1234);
    const response = await client.request({ method: 'GET', url: `${base}/` });
    let delivered = 0;
    let error: unknown;
    try {
      for (let chunk = await response.read(); chunk !== undefined; chunk = await response.read()) delivered += chunk.length;
    } catch (e) {
      error = e;
    }
    expect(delivered).toBe(1234);
    expect(error).toBeInstanceOf(OtaError);
    expect((error as OtaError).message).toMatch(/connection lost after 1234 body bytes/);
    const next = await client.request({ method: 'GET', url: `${base}/` });
    expect((await readAll(next)).reduce((n, c) => n + c.length, 0)).toBe(5000);
  });

  it('https: trusts the given CA, and rejects an untrusted certificate as OtaError network "TLS: …"', async () => {
    const trusted = await new NodeHttp({ ca: tls.caPem }).request({ method: 'GET', url: `${secureBase}/` });
    expect(trusted.status).toBe(200);
    expect((await readAll(trusted)).reduce((n, c) => n + c.length, 0)).toBe(5000);
    for (const client of [new NodeHttp(), new NodeHttp({ ca: otherCa })]) {
      const error = await client.request({ method: 'GET', url: `${secureBase}/` }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OtaError);
      expect((error as OtaError).code).toBe('network');
      expect((error as OtaError).message).toMatch(/^TLS: /);
    }
    // The request's own tls.ca wins over the board's store.
    const perRequest = await new NodeHttp({ ca: otherCa }).request({ method: 'GET', url: `${secureBase}/`, tls: { ca: tls.caPem } });
    expect(perRequest.status).toBe(200);
    await perRequest.close();
  });

  it('https: checks the certificate against serverName', async () => {
    const port = (secure.address() as AddressInfo).port;
    const error = await new NodeHttp({ ca: tls.caPem })
      .request({ method: 'GET', url: `https://127.0.0.1:${port}/`, tls: { serverName: 'example.com' } })
      .catch((e: unknown) => e);
    expect((error as OtaError).message).toMatch(/^TLS: /);
  });

  it('after close() (board reset) open requests fail and new ones are refused', async () => {
    const client = new NodeHttp();
    const pending = client.request({ method: 'GET', url: `${base}/silent` });
    await new Promise((r) => setTimeout(r, 50));
    client.close();
    await expect(pending).rejects.toMatchObject({ code: 'network' });
    await expect(client.request({ method: 'GET', url: `${base}/` })).rejects.toMatchObject({ code: 'network' });
  });
});
