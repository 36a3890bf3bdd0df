// Issue 16 item 6 (server part): malformed requests get a clear 400, not a 500 and a stack trace,
// and device-supplied strings stay escaped in the server's human-readable output (the deployment
// log text), so a message with a newline cannot forge lines; JSON answers stay exact.
import { describe, it, expect, afterAll, beforeAll, vi } from 'vitest';
import { connect } from 'node:net';
import { fixture } from '../vectors.ts';
import { call } from './http-client.ts';
import { DEPLOYMENTS, M_ARTIFACTS, M_DEPLOYMENTS, M_DEVICES, TestDevice, createDeployment, testServer, uploadArtifact } from './harness.ts';
import { escapeText } from '../../simulator/server/text-escape.ts';

type Server = Awaited<ReturnType<typeof testServer>>;

/** Sends `target` byte for byte (clients normalise paths) and returns the status line's code. */
function rawStatus(server: Server, target: string): Promise<number> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
  });
}

describe('untrusted input', () => {
  let server: Server;
  beforeAll(async () => {
    server = await testServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers 400 with a clear error for a bad percent escape or an unparsable target, without a stack trace', async () => {
    const stderr = vi.spyOn(process.stderr, 'write');
    try {
      const bad = await call(server, 'GET', `${M_ARTIFACTS}/%zz`);
      expect(bad.status).toBe(400);
      expect(bad.json().error).toMatch(/malformed percent-escape in path segment "%zz"/);
      expect((await call(server, 'GET', `${M_DEVICES}/%E0%A4%A`)).status).toBe(400);
      expect(await rawStatus(server, '//')).toBe(400);
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).not.toMatch(/URIError|Invalid URL/);
    } finally {
      stderr.mockRestore();
    }
  });

  it('keeps device log lines one per message in the management view, escaped; JSON stays exact', async () => {
    expect((await uploadArtifact(server, fixture('rootfs-none-unsigned.mender'))).status).toBe(201);
    const device = new TestDevice({ mac: '02:00:00:00:16:06' });
    expect((await device.authorize(server)).status).toBe(200);
    const deviceId = (await call(server, 'GET', M_DEVICES)).json<{ id: string; identity_data: { mac: string } }[]>().find((d) => d.identity_data.mac === '02:00:00:00:16:06')!.id;
    const id = await createDeployment(server, { artifact_name: 'fx-rootfs-none', devices: [deviceId] });
    expect((await device.next(server, 'r1', 'fx-device')).status).toBe(200);
    const forged = 'install failed\n2030-01-01T00:00:00Z info: update verified by admin\r\x1b[2K\u202eevil';
    const put = await call(server, 'PUT', `${DEPLOYMENTS}/${id}/log`, {
      token: device.token,
      json: { messages: [{ timestamp: '2026-01-01T00:00:00Z', level: 'error\nfake', message: forged }, { timestamp: '2026-01-01T00:00:01Z', level: 'info', message: 'C:\\path' }] },
    });
    expect(put.status).toBe(204);
    const text = (await call(server, 'GET', `${M_DEPLOYMENTS}/${id}/devices/${deviceId}/log`)).text();
    expect(text.split('\n')).toEqual([
      '2026-01-01T00:00:00Z error\\nfake: install failed\\n2030-01-01T00:00:00Z info: update verified by admin\\r\\x1b[2K\\u202eevil',
      '2026-01-01T00:00:01Z info: C:\\\\path',
      '',
    ]);
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f\u202e]/);
    // JSON answers are exact: the error message quoting a device string is JSON-escaped, not altered.
    const status = await call(server, 'PUT', `${DEPLOYMENTS}/${id}/status`, { token: device.token, json: { status: 'bad\nstatus' } });
    expect(status.json().error).toContain('got "bad\\nstatus"');
  });

  it('escapes so that the original can be read back', () => {
    expect(escapeText('a\tb\\c\u0000\u0085\u2028é')).toBe('a\\tb\\\\c\\x00\\x85\\u2028é');
  });
});
