/**
 * The fault suite's figures: every test in `e2e/faults/` prints one row per case with what it
 * tried and what held, so a run closes with one comparable table. No jest globals (benches may
 * import it). Rows go to stdout; with `FAULTS_REPORT=<file>` they are also appended to that file
 * (one markdown row per line; `faultTableHeader()` gives the header) so a CI run can collect them.
 */
import { appendFileSync, readFileSync } from 'node:fs';

export interface FaultRow {
  /** The issue item or area, e.g. `restart-503`. */
  readonly fault: string;
  /** What was done, e.g. `20 proxy restarts, Prometheus agent`. */
  readonly case: string;
  /** Units attempted (samples, lines, requests, bombs…): the unit is part of `case`. */
  readonly tried: number;
  /** Units that came through (delivered, or for attacks: requests the server survived). */
  readonly survived: number;
  readonly lost: number;
  readonly duplicated: number;
  /** Peak RSS growth of the process under test in bytes; undefined when not measured. */
  readonly rssGrowthBytes?: number;
  /** Anything else worth reading next to the figures. */
  readonly note?: string;
}

const COLUMNS = ['fault', 'case', 'tried', 'survived', 'lost', 'duplicated', 'RSS growth', 'note'] as const;

export function faultTableHeader(): string {
  return `| ${COLUMNS.join(' | ')} |\n|${COLUMNS.map(() => '---').join('|')}|`;
}

export function formatFaultRow(r: FaultRow): string {
  const rss = r.rssGrowthBytes === undefined ? '-' : `${(r.rssGrowthBytes / (1024 * 1024)).toFixed(1)} MiB`;
  const cells = [r.fault, r.case, String(r.tried), String(r.survived), String(r.lost), String(r.duplicated), rss, r.note ?? ''];
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

/** Prints the row (with the header, so a single test's output reads on its own). */
export function reportFault(r: FaultRow): void {
  const row = formatFaultRow(r);
  process.stdout.write(`\nfault suite:\n${faultTableHeader()}\n${row}\n`);
  const file = process.env['FAULTS_REPORT'];
  if (file) appendFileSync(file, `${row}\n`);
}

/** Resident set size of a process in bytes (Linux `/proc`), or undefined when unreadable. */
export function rssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
