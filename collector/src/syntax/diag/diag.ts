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

/**
 * Renders diagnostics like Alloy does: a `severity: file:line:col: message` header, then the
 * source line with a caret underline below the offending span (when the source is known).
 */
export function formatDiagnostics(diags: readonly Diagnostic[], sources: ReadonlyMap<string, string>): string {
  const out: string[] = [];
  const lineCache = new Map<string, string[]>();
  for (const d of diags) {
    out.push(`${d.severity}: ${formatPosition(d.start)}: ${d.message}`);
    const src = sources.get(d.start.file);
    if (src === undefined) continue;
    let lines = lineCache.get(d.start.file);
    if (!lines) {
      lines = src.split('\n');
      lineCache.set(d.start.file, lines);
    }
    const text = (lines[d.start.line - 1] ?? '').replace(/\r$/, '');
    const gutter = String(d.start.line);
    const pad = ' '.repeat(gutter.length);
    out.push(`${pad} |`);
    out.push(`${gutter} | ${text.replace(/\t/g, '    ')}`);
    // Tabs are widened to four spaces above, so the caret column is computed the same way.
    const before = text.slice(0, Math.max(0, d.start.column - 1)).replace(/\t/g, '    ');
    let width = 1;
    if (d.end.line === d.start.line && d.end.column > d.start.column) {
      width = text.slice(d.start.column - 1, d.end.column - 1).replace(/\t/g, '    ').length;
    } else if (d.end.line > d.start.line) {
      width = Math.max(1, text.length - (d.start.column - 1));
    }
    out.push(`${pad} | ${' '.repeat(before.length)}${'^'.repeat(Math.max(1, width))}`);
    out.push('');
  }
  return out.join('\n');
}
