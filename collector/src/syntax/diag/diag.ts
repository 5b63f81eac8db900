/**
 * Diagnostics: positioned messages produced by every syntax stage. A list of diagnostics is
 * itself an error (`DiagnosticsError`) when it contains at least one error-severity entry.
 * Depends on nothing.
 */

/** A point in a source file. `line` and `column` are 1-based; `offset` is a 0-based UTF-16 index. */
export interface Position {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

export type Severity = 'error' | 'warning';

/** `end` is exclusive: it is the position just after the last character of the offending text. */
export interface Diagnostic {
  readonly severity: Severity;
  readonly message: string;
  readonly start: Position;
  readonly end: Position;
}

export function formatPosition(p: Position): string {
  return p.file ? `${p.file}:${p.line}:${p.column}` : `${p.line}:${p.column}`;
}

/** An error carrying one or more diagnostics; `message` lists them as `file:line:col: message`. */
export class DiagnosticsError extends Error {
  readonly diags: Diagnostic[];

  constructor(diags: Diagnostic[]) {
    super(diags.map((d) => `${formatPosition(d.start)}: ${d.message}`).join('\n') || 'no diagnostics');
    this.name = 'DiagnosticsError';
    this.diags = diags;
  }
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** Builds a diagnostic; `end` defaults to `start`. */
export function diagnostic(message: string, start: Position, end: Position = start, severity: Severity = 'error'): Diagnostic {
  return { severity, message, start, end };
}

const TAB_WIDTH = 4;

/** Inclusive last column of a diagnostic (our `end` is exclusive); never before `start` on one line. */
function inclusiveEnd(d: Diagnostic): { line: number; column: number } {
  const e = d.end;
  if (e.line < d.start.line || (e.line === d.start.line && e.column <= d.start.column)) return { line: d.start.line, column: d.start.column };
  return { line: e.line, column: Math.max(1, e.column - 1) };
}

function inRange(line: number, col: number, start: { line: number; column: number }, end: { line: number; column: number }): boolean {
  if (line < start.line || line > end.line) return false;
  if (line === start.line) return col >= start.column && (line !== end.line || col <= end.column);
  if (line === end.line) return col <= end.column;
  return true;
}

/**
 * Renders diagnostics as Alloy does: an `Error: file:line:col: message` (or `Warning: ...`)
 * header; then, when the file's source is in `sources`, the offending lines with one line of
 * context either side, padded line numbers, and `^` under the offending span (multi-line spans
 * are drawn with `_` and `|` rails). Tabs are shown as four spaces. Diagnostics are separated by
 * a blank line.
 */
export function formatDiagnostics(diags: readonly Diagnostic[], sources: ReadonlyMap<string, string>): string {
  const out: string[] = [];
  const lineCache = new Map<string, string[]>();
  diags.forEach((d, i) => {
    out.push(`${d.severity === 'error' ? 'Error' : 'Warning'}: ${formatPosition(d.start)}: ${d.message}\n`);
    const src = sources.get(d.start.file);
    if (src !== undefined && d.end.file === d.start.file) {
      let lines = lineCache.get(d.start.file);
      if (!lines) {
        lines = src.split('\n');
        lineCache.set(d.start.file, lines);
      }
      printRange(out, lines, d);
    }
    if (i + 1 < diags.length) out.push('\n');
  });
  return out.join('');
}

function printRange(out: string[], lines: string[], d: Diagnostic): void {
  const start = { line: d.start.line, column: d.start.column };
  const end = inclusiveEnd(d);
  out.push('\n');
  const first = Math.max(start.line - 1, 1);
  const last = Math.min(end.line + 1, lines.length);
  const multiline = end.line > start.line;
  const width = String(last).length;
  for (let n = first; n <= last; n++) {
    const line = lines[n - 1] ?? '';
    let text = String(n).padStart(width) + ' | ';
    if (multiline) text += inRange(n, 0, start, end) ? '| ' : '  ';
    for (const ch of line) {
      if (ch === '\r') continue;
      text += ch === '\t' || ch === '\v' ? ' '.repeat(TAB_WIDTH) : ch;
    }
    out.push(text + '\n');
    if (n === start.line || (multiline && n === end.line)) {
      let focus = ' '.repeat(width);
      if (multiline && n === start.line) focus += ' |  _';
      else if (multiline && n === end.line) focus += ' | |_';
      else focus += ' | ';
      const blank = multiline ? '_' : ' ';
      let column = 0;
      for (const ch of line) {
        column++;
        if (n === end.line && column > end.column) break;
        if (ch === '\t' || ch === '\v') focus += blank.repeat(TAB_WIDTH);
        else if (inRange(n, column, start, end)) focus += '^';
        else focus += blank;
      }
      out.push(focus + '\n');
    }
  }
}
