// Issue 16 item 4: with --auto-accept, presenting a known device's identity with a new key must not
// take the device over. Auto-accept is for identities never seen; a new key for a known identity
// waits, pending, for a person (as in Mender), and the device's accepted key keeps working.
import { describe, it, expect } from 'vitest';
import { call } from './http-client.ts';
import { M_DEVICES, TestDevice, testServer } from './harness.ts';

const CONFIG = '/api/devices/v1/deviceconfig/configuration';

describe('identity takeover with auto-accept', () => {
  it('leaves a new key for a known identity pending; the real device keeps its access and configuration', async () => {
    const server = await testServer({ autoAccept: true });
    try {
      const identity = { mac: '02:00:00:00:16:04' };
      const real = new TestDevice(identity);
      expect((await real.authorize(server)).status).toBe(200);
      const realToken = real.token;
      const [listed] = (await call(server, 'GET', M_DEVICES)).json<{ id: string }[]>();
      const deviceId = listed!.id;
      expect((await call(server, 'PUT', `/api/management/v1/deviceconfig/configurations/device/${deviceId}`, { json: { wifi_psk: 'secret' } })).status).toBe(204);

      const intruder = new TestDevice(identity);
      const attempt = await intruder.authorize(server);
      expect(attempt.status).toBe(401);
      expect(attempt.json().error).toMatch(/pending/);
      expect(intruder.token).toBe('');

      // The real device is not locked out: its token still works and it authorizes again.
      expect((await call(server, 'GET', CONFIG, { token: realToken })).json()).toEqual({ wifi_psk: 'secret' });
      expect((await real.authorize(server)).status).toBe(200);
      const device = (await call(server, 'GET', `${M_DEVICES}/${deviceId}`)).json<{ status: string; auth_sets: { id: string; pubkey: string; status: string }[] }>();
      expect(device.status).toBe('accepted');
      expect(device.auth_sets.map((s) => [s.pubkey === real.pubkeyPem, s.status])).toEqual([[true, 'accepted'], [false, 'pending']]);

      // A person can still accept the new key (a device after a reset): then it is the one accepted.
      const pending = device.auth_sets.find((s) => s.status === 'pending')!;
      expect((await call(server, 'PUT', `${M_DEVICES}/${deviceId}/auth/${pending.id}/status`, { json: { status: 'accepted' } })).status).toBe(204);
      expect((await intruder.authorize(server)).status).toBe(200);
      expect((await call(server, 'GET', CONFIG, { token: realToken })).status).toBe(401);

      // An identity never seen is still accepted on first contact.
      expect((await new TestDevice({ mac: '02:00:00:00:16:05' }).authorize(server)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
