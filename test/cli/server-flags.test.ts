import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVER_OPTIONS, managementClient, readCa, requireServer } from '../../simulator/cli/server-flags.ts';
import { ManagementClient } from '../../simulator/server/management-client.ts';

describe('server flags', () => {
  it('parses --server and --ca as strings', () => {
    const { values } = parseArgs({ args: ['--server', 'https://h', '--ca', 'ca.pem'], options: SERVER_OPTIONS });
    expect(values).toEqual({ server: 'https://h', ca: 'ca.pem' });
  });

  it('requires --server', () => {
    expect(requireServer({ server: 'https://h' })).toBe('https://h');
    expect(() => requireServer({})).toThrow('--server URL is required');
    expect(() => managementClient({ ca: 'x' })).toThrow('--server URL is required');
  });

  it('reads the --ca file as text, and names a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-mcu-flags-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), 'PEM TEXT');
      expect(readCa({ ca: join(dir, 'ca.pem') })).toBe('PEM TEXT');
      expect(readCa({})).toBeUndefined();
      expect(() => readCa({ ca: join(dir, 'absent.pem') })).toThrow(/absent\.pem/);
      expect(managementClient({ server: 'https://h', ca: join(dir, 'ca.pem') })).toBeInstanceOf(ManagementClient);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
