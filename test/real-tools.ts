// Real outside tools (Debian's mender-artifact, mender): tests that need one skip loudly when it is
// absent, and fail instead under REQUIRE_REAL_TOOLS=1 (CI).
import { spawnSync } from 'node:child_process';

export const REQUIRE_REAL_TOOLS = process.env.REQUIRE_REAL_TOOLS === '1';

export function hasTool(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * True when `command` can be used. When it cannot: throws under REQUIRE_REAL_TOOLS=1, otherwise
 * prints why the dependent tests are skipped and returns false (use with `describe.skipIf(!...)`).
 */
export function realTool(command: string): boolean {
  if (hasTool(command)) return true;
  const why = `${command} is not installed (apt-get install -y ${command === 'mender' ? 'mender-client' : command})`;
  if (REQUIRE_REAL_TOOLS) throw new Error(`REQUIRE_REAL_TOOLS=1 but ${why}`);
  console.warn(`SKIPPED: tests that need ${why}`);
  return false;
}
