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

/**
 * How many diagnostics `formatDiagnostics` and `DiagnosticsError` spell out; the rest are
 * summarised in one closing "and N more" line, so a file of garbage (one diagnostic per bad
 * character) still yields a short report.
 */
export const MAX_SHOWN_DIAGNOSTICS = 50;

/** Source lines longer than this are shown as a window around the offending column. */
const MAX_EXCERPT_WIDTH = 160;
/** A multi-line span shows at most this many lines at its start and at its end. */
const MAX_SPAN_EDGE_LINES = 3;

/** The closing line for diagnostics past the shown ones: "... and 3 more errors and 1 more warning". */
export function moreDiagnosticsLine(hidden: readonly Diagnostic[]): string {
  const errors = hidden.filter((d) => d.severity === 'error').length;
  const warnings = hidden.length - errors;
  const parts: string[] = [];
  if (errors > 0) parts.push(`${errors} more error${errors === 1 ? '' : 's'}`);
  if (warnings > 0) parts.push(`${warnings} more warning${warnings === 1 ? '' : 's'}`);
  return `... and ${parts.join(' and ')} not shown (fix the ones above first)`;
}

/**
 * An error carrying one or more diagnostics; `message` lists them as `file:line:col: message`
 * (the first `MAX_SHOWN_DIAGNOSTICS`, then an "and N more" line); `diags` holds them all.
 */
export class DiagnosticsError extends Error {
  readonly diags: Diagnostic[];

  constructor(diags: Diagnostic[]) {
    const shown = diags.slice(0, MAX_SHOWN_DIAGNOSTICS).map((d) => `${formatPosition(d.start)}: ${d.message}`);
    if (diags.length > MAX_SHOWN_DIAGNOSTICS) shown.push(moreDiagnosticsLine(diags.slice(MAX_SHOWN_DIAGNOSTICS)));
    super(shown.join('\n') || 'no diagnostics');
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
 *
 * Bounded output whatever the input: at most `max` diagnostics (default `MAX_SHOWN_DIAGNOSTICS`)
 * are spelled out, followed by an "... and N more errors" line; lines longer than 160 characters
 * are shown as a window around the span (`…` marks the cut), and a span over many lines shows
 * only its first and last few lines. So the size is linear in the number shown, not in the input.
 */
export function formatDiagnostics(diags: readonly Diagnostic[], sources: ReadonlyMap<string, string>, max = MAX_SHOWN_DIAGNOSTICS): string {
  const out: string[] = [];
  const lineCache = new Map<string, string[]>();
  const shown = diags.slice(0, Math.max(0, max));
  shown.forEach((d, i) => {
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
    if (i + 1 < shown.length) out.push('\n');
  });
  if (diags.length > shown.length) out.push(`${shown.length > 0 ? '\n' : ''}${moreDiagnosticsLine(diags.slice(shown.length))}\n`);
  return out.join('');
}

/** The part of a source line shown in an excerpt: `chars` start at UTF-16 index `from`. */
interface Window {
  readonly chars: string[];
  readonly from: number;
  readonly cutLeft: boolean;
  readonly cutRight: boolean;
}

/** At most `MAX_EXCERPT_WIDTH` UTF-16 units of `line` around `focusColumn`, never splitting a surrogate pair. */
function excerpt(line: string, focusColumn: number): Window {
  if (line.length <= MAX_EXCERPT_WIDTH) return { chars: [...line], from: 0, cutLeft: false, cutRight: false };
  let from = Math.max(0, Math.min(focusColumn - 1 - MAX_EXCERPT_WIDTH / 4, line.length - MAX_EXCERPT_WIDTH));
  if (isLowSurrogate(line.charCodeAt(from))) from++;
  let to = from + MAX_EXCERPT_WIDTH;
  if (isLowSurrogate(line.charCodeAt(to))) to++;
  return { chars: [...line.slice(from, to)], from, cutLeft: from > 0, cutRight: to < line.length };
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c < 0xe000;
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
    if (multiline && n === start.line + MAX_SPAN_EDGE_LINES && n < end.line - MAX_SPAN_EDGE_LINES) {
      out.push(' '.repeat(width) + ' | | ...\n');
      n = end.line - MAX_SPAN_EDGE_LINES;
    }
    const w = excerpt(lines[n - 1] ?? '', n <= start.line ? start.column : end.column);
    let text = String(n).padStart(width) + ' | ';
    if (multiline) text += inRange(n, 0, start, end) ? '| ' : '  ';
    if (w.cutLeft) text += '…';
    for (const ch of w.chars) {
      if (ch === '\r') continue;
      text += ch === '\t' || ch === '\v' ? ' '.repeat(TAB_WIDTH) : ch;
    }
    if (w.cutRight) text += '…';
    out.push(text + '\n');
    if (n === start.line || (multiline && n === end.line)) {
      let focus = ' '.repeat(width);
      if (multiline && n === start.line) focus += ' |  _';
      else if (multiline && n === end.line) focus += ' | |_';
      else focus += ' | ';
      const blank = multiline ? '_' : ' ';
      if (w.cutLeft) focus += blank;
      let column = w.from;
      for (const ch of w.chars) {
        column += ch.length;
        if (n === end.line && column > end.column) break;
        if (ch === '\t' || ch === '\v') focus += blank.repeat(TAB_WIDTH);
        else if (inRange(n, column, start, end)) focus += '^';
        else focus += blank;
      }
      out.push(focus + '\n');
    }
  }
}
