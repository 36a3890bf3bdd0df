// The whole project type-checks under TypeScript strict (tsconfig.json): core, platform, simulator
// and the tests themselves. The boards have their own check against Moddable's typings
// (test/boards/typecheck.test.ts).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

describe('tsconfig.json', () => {
  it('type-checks with no error', () => {
    let output = '';
    try {
      output = execFileSync(process.execPath, [tsc, '--noEmit', '-p', '.', '--pretty', 'false'], { encoding: 'utf8' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output.trim()).toBe('');
  }, 120_000);
});
