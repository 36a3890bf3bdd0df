// `ota-mcu demo [--scenario update|bad-signature|selftest-fails|power-cut|network-cut]` (also
// `npm start`): the whole update on a simulated board, live. Exit 0 when the run ended as the
// scenario should (the server's final status and the image the board boots), 1 otherwise.
import { parseArgs } from 'node:util';
import { SCENARIOS, runScenario, type ScenarioName } from '../demo/scenario.ts';

export async function run(argv: string[]): Promise<number> {
  let scenario: ScenarioName = 'update';
  let json = false;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { scenario: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(`usage: ota-mcu demo [--scenario ${SCENARIOS.join('|')}] [--json]\n`);
      return 0;
    }
    if (values.scenario !== undefined) {
      if (!(SCENARIOS as readonly string[]).includes(values.scenario)) {
        throw new Error(`--scenario expected one of ${SCENARIOS.join(', ')}, got "${values.scenario}"`);
      }
      scenario = values.scenario as ScenarioName;
    }
    json = values.json === true;
  } catch (error) {
    process.stderr.write(`ota-mcu demo: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    const result = await runScenario(scenario, { out: json ? process.stderr : process.stdout });
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`ota-mcu demo: ${(error as Error).message}\n`);
    return 1;
  }
}
