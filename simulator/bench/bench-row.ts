// What a bench section returns (simulator/bench/*.ts, run by `ota-mcu bench`): its own file, so
// the sections and the command that loads them do not import each other.

/** One measured case. Column names carry their unit ("MiB/s", "s"); null = not measured (see note). */
export interface BenchRow {
  readonly section: string;
  readonly name: string;
  readonly values: Readonly<Record<string, number | string | null>>;
  readonly note?: string;
}

/** A section's rows, alone or with named summary values merged at the top level of results.json. */
export type BenchResult = BenchRow[] | { rows: BenchRow[]; summary: Record<string, unknown> };

export interface BenchSection {
  run(): Promise<BenchResult>;
}
