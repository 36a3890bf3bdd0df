// The import graph of base/, core/, platform/, boards/ and simulator/ has no cycle, type-only imports
// included: each folder is a floor a reader can walk from the bottom up. The test walks every
// relative import of every .ts file and names the first cycle it finds, file by file.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const FOLDERS = ['base', 'core', 'platform', 'boards', 'simulator'];

/** The floors: a folder may import only from itself and the floors listed for it. */
const FLOORS: Readonly<Record<string, readonly string[]>> = { base: [], platform: ['base'], core: ['base', 'platform'] };

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports and re-exports of `file` (static, dynamic and type-only), as absolute paths. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const found = new Set<string>();
  const patterns = [/(?:^|[\s;])(?:import|export)\s+(?:type\s+)?[^'";]*?\sfrom\s*['"](\.{1,2}\/[^'"]+)['"]/g, /(?:^|[\s;])import\s*['"](\.{1,2}\/[^'"]+)['"]/g, /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) if (match[1]!.endsWith('.ts')) found.add(resolve(dirname(file), match[1]!));
  return [...found];
}

/** The first cycle in `graph` (file → imports), as a list of files ending where it started; undefined if none. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...path.slice(path.indexOf(file)), file];
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of [...graph.keys()].sort()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('import graph', () => {
  it('has no cycle in base/, core/, platform/, boards/ and simulator/ (type-only imports included)', () => {
    const files = FOLDERS.flatMap((folder) => tsFiles(join(ROOT, folder)));
    const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => files.includes(target))]));
    const cycle = findCycle(graph);
    expect(cycle?.map((file) => relative(ROOT, file)).join(' -> ')).toBeUndefined();
  });

  it('keeps its floors: base/ imports nothing outside it, platform/ only base/, core/ only base/ and platform/', () => {
    const crossings: string[] = [];
    for (const [floor, below] of Object.entries(FLOORS)) {
      for (const file of tsFiles(join(ROOT, floor))) {
        for (const target of importsOf(file)) {
          const top = relative(ROOT, target).split('/')[0]!;
          if (top !== floor && !below.includes(top)) crossings.push(`${relative(ROOT, file)} -> ${relative(ROOT, target)}`);
        }
      }
    }
    expect(crossings).toEqual([]);
  });

  it('the walk sees static, type-only and dynamic imports and finds a cycle when there is one', () => {
    const a = join(ROOT, 'x/a.ts');
    expect(importsOf(a, "import { b } from './b.ts';\nimport type { C } from '../x/c.ts';\nconst d = await import('./d.ts');\nexport * from './e.ts';")).toEqual(
      ['b', 'c', 'e', 'd'].map((n) => join(ROOT, `x/${n}.ts`)),
    );
    const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', []]]);
    expect(findCycle(graph)).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(new Map([['a', ['b']], ['b', []]]))).toBeUndefined();
  });
});
