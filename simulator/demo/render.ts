// What the demo prints: each state as it happens, a live progress bar (redrawn in place on a
// terminal, a line per quarter otherwise), resets, and the closing summary.
import type { ClientEvent } from '../../core/client-config.ts';

type Out = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

const STATE_TEXT: Record<string, string> = {
  download: 'download   stream the artifact into the secondary slot (checksums, signature, MCUboot image check)',
  verify: 'verify     the stored image: hash and signature against the boot key, size',
  install: 'install    mark the new image pending as a test boot',
  reboot: 'reboot     restart into the new image',
  'verify-reboot': 'verify     the new image runs on trial; self-test',
  commit: 'commit     authorize again, check for an abort, confirm the image',
  rollback: 'rollback   give up the new image',
  'rollback-reboot': 'reboot     restart into the previous image',
  'verify-rollback': 'verify     the previous image runs again',
  failure: 'failure    clean up the slot',
  report: 'report     the final status (and the log on failure)',
  'already-installed': 'installed  the deployment carries the running artifact',
};

const INTERESTING_INFO = /resum|verified|committed|rolling back|self-test|restarting|authorizing again|reverted/;

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** "downloading (downloading 10%)" runs shown once, with the range of percentages reported. */
export function compactHistory(history: string[]): string[] {
  const out: string[] = [];
  let percents: string[] = [];
  const flush = () => {
    if (percents.length > 0) out.push(`downloading (${percents[0]}…${percents.at(-1)})`);
    percents = [];
  };
  for (const entry of history) {
    const progress = /^downloading \(downloading (\d+%)\)$/.exec(entry);
    if (progress !== null) {
      percents.push(progress[1]!);
      continue;
    }
    flush();
    out.push(entry);
  }
  flush();
  return out;
}

export interface Summary {
  from: string;
  to: string;
  status: string;
  history: string[];
  downloadedBytes: number;
  artifactBytes: number;
  ranged: string[];
  seconds: number;
  boots: number;
  log: string | undefined;
  ok: boolean;
  expected: { status: string; version: string };
}

export class Renderer {
  quiet = false;
  readonly #out: Out;
  readonly #tty: boolean;
  #barShown = false;
  #lastQuarter = -1;

  constructor(out: Out) {
    this.#out = out;
    this.#tty = out.isTTY === true;
  }

  title(text: string): void {
    this.#line(`\n${text}\n${'─'.repeat(Math.min(text.length, 78))}`);
  }

  note(text: string): void {
    this.#line(text);
  }

  blank(): void {
    this.#line('');
  }

  event(event: ClientEvent): void {
    if (this.quiet) return;
    switch (event.type) {
      case 'state':
        this.#lastQuarter = -1;
        this.#line(`→ ${STATE_TEXT[event.state] ?? event.state}`);
        break;
      case 'progress':
        this.#progress(event.offset, event.total);
        break;
      case 'report':
        if (event.substate === undefined) this.#line(`    server ← ${event.status}`);
        break;
      case 'restart':
        this.#line(event.reason === 'install' ? '⟲ reset: MCUboot swaps the slots and boots the new image as a test' : '⟲ reset: MCUboot reverts to the previous image');
        break;
      case 'error':
        this.#line(`✗ ${event.state}: ${event.message}`);
        break;
      case 'log':
        if (event.level === 'warn' || (event.level === 'info' && INTERESTING_INFO.test(event.message))) this.#line(`    ${event.message}`);
        break;
      case 'deployment-end':
        this.#line(`■ deployment ${event.deploymentId} ended on the device: ${event.status}`);
        break;
    }
  }

  summary(s: Summary): void {
    this.#line('Summary');
    this.#line(`  firmware        ${s.from} → ${s.to}`);
    this.#line(`  server status   ${s.status}`);
    this.#line(`  statuses seen   ${compactHistory(s.history).join(' → ')}`);
    this.#line(`  downloaded      ${kib(s.downloadedBytes)} for a ${kib(s.artifactBytes)} artifact${s.ranged.length > 0 ? ` (resumed with ${s.ranged.join(', ')})` : ''}`);
    this.#line(`  boots           ${s.boots}`);
    this.#line(`  time            ${s.seconds.toFixed(1)} s (virtual time for waits; real time shown)`);
    if (s.status === 'failure' && s.log !== undefined) {
      const lines = s.log.trim().split('\n');
      this.#line(`  deployment log  ${lines.length} lines on the server; the errors:`);
      for (const line of lines.filter((l) => / error: /.test(l)).slice(0, 4)) this.#line(`    ${line}`);
    }
    this.#line(
      s.ok
        ? `  result          as expected (${s.expected.status}, running ${s.expected.version})`
        : `  result          NOT as expected: wanted ${s.expected.status} running ${s.expected.version}, got ${s.status} running ${s.to}`,
    );
  }

  end(): void {
    this.#endBar();
  }

  #progress(offset: number, total: number | undefined): void {
    if (total === undefined || total === 0) return;
    const fraction = Math.min(1, offset / total);
    if (this.#tty) {
      const width = 30;
      const filled = Math.round(fraction * width);
      this.#out.write(`\r    [${'█'.repeat(filled)}${'·'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${kib(offset)} / ${kib(total)}`);
      this.#barShown = true;
      return;
    }
    const quarter = Math.floor(fraction * 4);
    if (quarter <= this.#lastQuarter) return;
    this.#lastQuarter = quarter;
    this.#line(`    download ${String(Math.floor(fraction * 100)).padStart(3)}%  ${kib(offset)} / ${kib(total)}`); // once per quarter reached
  }

  #endBar(): void {
    if (!this.#barShown) return;
    this.#barShown = false;
    this.#out.write('\n');
  }

  #line(text: string): void {
    this.#endBar();
    this.#out.write(`${text}\n`);
  }
}
