/**
 * Row printer for the pipeline fault tests (remote-write stall, file rotation): one markdown row
 * per case with tried / survived / lost / duplicated / RSS growth, the same columns as the rest of
 * the fault suite, so the rows of a run form one table. With `FAULTS_REPORT=<file>` rows are also
 * appended to that file. No jest globals.
 */
import { appendFileSync, readFileSync } from 'node:fs';

export interface PipelineFaultRow {
  readonly fault: string;
  /** What was done; names the unit counted (samples, lines). */
  readonly case: string;
  readonly tried: number;
  readonly survived: number;
  readonly lost: number;
  readonly duplicated: number;
  /** Peak RSS growth of the process under test, bytes; undefined when not measured. */
  readonly rssGrowthBytes?: number;
  readonly note?: string;
}

const COLUMNS = ['fault', 'case', 'tried', 'survived', 'lost', 'duplicated', 'RSS growth', 'note'] as const;

export function pipelineRow(r: PipelineFaultRow): string {
  const rss = r.rssGrowthBytes === undefined ? '-' : `${(r.rssGrowthBytes / (1024 * 1024)).toFixed(1)} MiB`;
  const cells = [r.fault, r.case, String(r.tried), String(r.survived), String(r.lost), String(r.duplicated), rss, r.note ?? ''];
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

/** Prints the row under the table header; appends it to `$FAULTS_REPORT` when set. */
export function reportPipelineFault(r: PipelineFaultRow): void {
  const row = pipelineRow(r);
  const header = `| ${COLUMNS.join(' | ')} |\n|${COLUMNS.map(() => '---').join('|')}|`;
  process.stdout.write(`\nfault suite:\n${header}\n${row}\n`);
  const file = process.env['FAULTS_REPORT'];
  if (file) appendFileSync(file, `${row}\n`);
}

/** Resident set size of a process in bytes (Linux `/proc`), or undefined when unreadable. */
export function rssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
