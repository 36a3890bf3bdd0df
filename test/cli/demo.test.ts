// `ota-mcu demo` (npm start) and each scenario, as CI runs them: the exit code says whether the run
// ended as it should, and the output tells the story (states, reset, summary).
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { runScenario } from '../../simulator/demo/scenario.ts';
import { spawnCli } from './cli-harness.ts';

const demo = (args: string[]) => spawnCli('demo', args, 120_000);

describe('ota-mcu demo', () => {
  it('runs the update with no arguments: states live, the reset, the confirm, a summary; exit 0', async () => {
    const { status, stdout, stderr } = await demo([]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    for (const text of ['→ download', '→ install', '⟲ reset', '→ commit', 'server ← success', 'firmware        1.0.0 → 1.1.0', 'result          as expected']) {
      expect(stdout).toContain(text);
    }
    expect(stdout).toMatch(/statuses seen   downloading → .*installing → rebooting → installing → success/);
  }, 120_000);

  const scenarios: [string, RegExp][] = [
    ['bad-signature', /server status   failure[\s\S]*firmware        1\.0\.0 → 1\.0\.0|firmware        1\.0\.0 → 1\.0\.0[\s\S]*server status   failure/],
    ['selftest-fails', /self-test failed on image 1\.1\.0[\s\S]*⟲ reset: MCUboot reverts/],
    ['power-cut', /⚡ power cut[\s\S]*resuming "zephyr\.signed\.bin" at byte \d+[\s\S]*server status   success/],
    ['network-cut', /resuming with Range[\s\S]*server status   success[\s\S]*resumed with bytes=\d+-/],
  ];
  for (const [scenario, story] of scenarios) {
    it(`--scenario ${scenario} ends as it should (exit 0)`, async () => {
      const { status, stdout } = await demo(['--scenario', scenario]);
      expect(status).toBe(0);
      expect(stdout).toMatch(story);
      expect(stdout).toContain('result          as expected');
    }, 120_000);
  }

  it('refuses an unknown scenario with one line and exit 1', async () => {
    const { status, stderr } = await demo(['--scenario', 'meteor-strike']);
    expect(status).toBe(1);
    expect(stderr).toMatch(/^ota-mcu demo: --scenario expected one of update, bad-signature, selftest-fails, power-cut, network-cut, got "meteor-strike"\n$/);
  }, 60_000);

  it('judges the run by what the server and the bootloader say (the result feeds the exit code)', async () => {
    const sink = new Writable({ write: (_chunk, _encoding, next) => next() });
    const result = await runScenario('bad-signature', { out: sink, payloadBytes: 16 * 1024 });
    expect(result.serverStatus).toBe('failure');
    expect(result.runningVersion).toBe('1.0.0');
    expect(result.ok).toBe(result.serverStatus === result.expected.status && result.runningVersion === result.expected.version);
    expect(result.expected).toEqual({ status: 'failure', version: '1.0.0' });
  }, 60_000);
});
