// What every Moddable board's main shares (boards/_moddable): board options from the settings,
// and the client run for good, restarting the device when run() gives up.
import { describe, expect, it, vi } from 'vitest';
import { runClient } from '../../boards/_moddable/run-client.ts';
import { boardConfigFrom } from '../../boards/_moddable/settings.ts';
import type { Board } from '../../platform/board.ts';

describe('boardConfigFrom', () => {
  it('takes keyValuePath, dnsServers, the server CA and identity; leaves absent ones out', () => {
    const settings = { serverUrl: 'https://m', deviceType: 'd', keyValuePath: 'kv', dnsServers: ['9.9.9.9'], serverCaPem: 'PEM', identity: { mac: 'aa' } };
    expect(boardConfigFrom(settings)).toEqual({ keyValuePath: 'kv', dnsServers: ['9.9.9.9'], ca: 'PEM', identity: { mac: 'aa' } });
    expect(boardConfigFrom({ serverUrl: 'https://m', deviceType: 'd' })).toEqual({});
  });
});

describe('runClient', () => {
  it('logs why run() stopped and restarts the board', async () => {
    const log = vi.fn();
    const restarted = new Promise<void>((done) => {
      const board = {
        name: 'test',
        identity: { mac: 'aa' },
        inventory: {},
        scheduler: { now: () => 0, enqueue: () => Promise.reject(new Error('key-value store unreadable')) },
        system: { log, restart: () => done() },
      } as unknown as Board;
      runClient(board, { serverUrl: 'https://m', deviceType: 'd' });
    });
    await restarted;
    expect(log).toHaveBeenCalledWith('error', 'update client stopped: key-value store unreadable; restarting');
  });
});
