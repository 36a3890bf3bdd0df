// The boards type-check against Moddable's typings (@moddable/typings) and ours (types/moddable):
// `npx tsc -p boards`, the same check a port author runs.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

describe('boards/tsconfig.json', () => {
  it('type-checks every board and the shared bindings with no error', () => {
    let output = '';
    try {
      output = execFileSync(process.execPath, [tsc, '-p', 'boards', '--pretty', 'false'], { encoding: 'utf8' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output.trim()).toBe('');
  }, 60_000);

  it('lists the families and our ambient typings (a file left out would not be checked)', () => {
    const files = execFileSync(process.execPath, [tsc, '-p', 'boards', '--listFilesOnly'], { encoding: 'utf8' }).split('\n');
    for (const expected of ['boards/_esp-idf/board.ts', 'boards/_zephyr-mcuboot/board.ts', 'boards/_esp-idf/main.ts', 'boards/_zephyr-mcuboot/main.ts', 'boards/_moddable/http.ts', 'types/moddable/update.d.ts', 'types/board-description.d.ts']) {
      expect(files.some((f) => f.endsWith(expected)), expected).toBe(true);
    }
  }, 60_000);
});
