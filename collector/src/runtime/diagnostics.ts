/**
 * Diagnostic helpers used by the runtime. The `Diagnostic` shape is the one published by
 * `collector/src/syntax` (severity, message, start/end positions); runtime-made diagnostics
 * (unknown components, cycles, update failures) point at the block they are about.
 */
import type { Diagnostic, Position } from '../syntax/index.js';

export type { Diagnostic, Position };

export interface SourceRange {
  readonly start: Position;
  readonly end: Position;
}

export function errorAt(range: SourceRange, message: string): Diagnostic {
  return { severity: 'error', message, start: range.start, end: range.end };
}

/** A range for problems that belong to no block (e.g. "no config files found in DIR"). */
export function fileRange(file: string): SourceRange {
  const p: Position = { file, line: 1, column: 1, offset: 0 };
  return { start: p, end: p };
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}
