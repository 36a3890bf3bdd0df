// `ota-mcu bench` (= `npm run bench`): runs the bench sections, prints one table per section and
// writes bench/results.json. A section is a module in simulator/bench/ exporting `run()`; adding one
// is one line in SECTIONS. A section may also return summary values, each a top-level key of
// results.json (e.g. "cli": cliVsMenderArtifact, readerVsRawSha256).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchResult, BenchRow, BenchSection } from '../bench/bench-row.ts';

const SECTIONS: Record<string, () => Promise<BenchSection>> = {
  reader: () => import('../bench/reader.ts'),
  cli: () => import('../bench/cli.ts'),
  xs: () => import('../bench/xs.ts'),
  deviceMemory: () => import('../bench/device-memory.ts'),
};

const DEFAULT_OUT = 'bench/results.json';

export async function run(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { only: { type: 'string', multiple: true }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(`usage: ota-mcu bench [--only SECTION]… [--out FILE]   (sections: ${Object.keys(SECTIONS).join(', ')}; default out ${DEFAULT_OUT})\n`);
      return 0;
    }
    const names = values.only ?? Object.keys(SECTIONS);
    for (const name of names) if (!(name in SECTIONS)) throw new Error(`unknown section "${name}" (have: ${Object.keys(SECTIONS).join(', ')})`);
    const results: Record<string, BenchRow[]> = {};
    const summaries: Record<string, unknown> = {};
    for (const name of names) {
      process.stderr.write(`bench: ${name}…\n`);
      const result = await (await SECTIONS[name]!()).run();
      const rows = Array.isArray(result) ? result : result.rows;
      if (!Array.isArray(result)) Object.assign(summaries, result.summary);
      results[name] = rows;
      process.stdout.write(`\n${name}\n${formatTable(rows)}\n`);
      for (const note of new Set(rows.flatMap((row) => (row.note === undefined ? [] : [row.note])))) process.stdout.write(`note: ${note}\n`);
    }
    const out = resolve(values.out ?? DEFAULT_OUT);
    mkdirSync(dirname(out), { recursive: true });
    const machine = { node: process.version, platform: `${process.platform}-${process.arch}`, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length };
    // bench/results.json is the committed record: sections not run this time keep their last results.
    const previous = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as { sections?: Record<string, BenchRow[]> } & Record<string, unknown>) : {};
    const merged = { ...previous, date: new Date().toISOString(), machine, ...summaries, sections: { ...previous.sections, ...results } };
    writeFileSync(out, `${JSON.stringify(merged, null, 2)}\n`);
    for (const [key, value] of Object.entries(summaries)) {
      const text = JSON.stringify(value);
      process.stdout.write(`\n${key}: ${text.length <= 400 ? text : `(${text.length} characters: see ${values.out ?? DEFAULT_OUT})`}`);
    }
    process.stdout.write(`\nwrote ${out}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`ota-mcu bench: ${(error as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}

/** A plain-text table: the case name, then every column any row has, numbers right-aligned. */
export function formatTable(rows: readonly BenchRow[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row.values)))];
  const cell = (value: number | string | null | undefined) =>
    value === null || value === undefined ? '—' : typeof value === 'number' ? formatNumber(value) : value;
  const table = [['case', ...columns], ...rows.map((row) => [row.name, ...columns.map((c) => cell(row.values[c]))])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((line) => line[i]!.length)));
  return table
    .map((line, r) =>
      line.map((text, i) => (i === 0 || r === 0 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))).join('  ').trimEnd(),
    )
    .join('\n');
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
}
