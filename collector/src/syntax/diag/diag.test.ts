import { formatDiagnostics, DiagnosticsError, type Diagnostic, type Position } from './diag.js';

const at = (file: string, line: number, column: number): Position => ({ file, line, column, offset: 0 });
const err = (file: string, s: [number, number], e: [number, number], message = 'synthetic error', severity: Diagnostic['severity'] = 'error'): Diagnostic => ({
  severity,
  message,
  start: at(file, s[0], s[1]),
  end: at(file, e[0], e[1]),
});

describe('formatDiagnostics', () => {
  it('underlines a span on one line with a line of context either side', () => {
    const src = 'logging {\n\tlevel  = 1\n\tformat = 2\n}';
    // "level" spans columns 2..6; our end positions are exclusive.
    expect(formatDiagnostics([err('cfg', [2, 2], [2, 7])], new Map([['cfg', src]]))).toBe(
      'Error: cfg:2:2: synthetic error\n\n1 | logging {\n2 |     level  = 1\n  |     ^^^^^\n3 |     format = 2\n',
    );
  });

  it('marks a single column when the end equals the start', () => {
    expect(formatDiagnostics([err('f', [1, 4], [1, 4])], new Map([['f', 'foo,bar']]))).toBe('Error: f:1:4: synthetic error\n\n1 | foo,bar\n  |    ^\n');
  });

  it('pads line numbers to the widest one shown', () => {
    const src = Array.from({ length: 11 }, (_, i) => `LINE_${i + 1}`).join('\n');
    expect(formatDiagnostics([err('f', [9, 1], [9, 7])], new Map([['f', src]]))).toBe(
      'Error: f:9:1: synthetic error\n\n 8 | LINE_8\n 9 | LINE_9\n   | ^^^^^^\n10 | LINE_10\n',
    );
  });

  it('draws rails for spans across lines', () => {
    const src = 'BEGIN\nbefore START\nTEXT\n\tDONE after\nEND';
    expect(formatDiagnostics([err('f', [2, 8], [4, 6])], new Map([['f', src]]))).toBe(
      'Error: f:2:8: synthetic error\n\n' +
        '1 |   BEGIN\n2 |   before START\n  |  ________^^^^^\n3 | | TEXT\n4 | |     DONE after\n  | |_____^^^^\n5 |   END\n',
    );
  });

  it('separates diagnostics with a blank line, labels warnings and skips context for unknown files', () => {
    const out = formatDiagnostics(
      [err('a', [1, 1], [1, 4], 'old', 'warning'), err('zzz', [3, 2], [3, 3], 'no source')],
      new Map([['a', 'abc = 1']]),
    );
    expect(out).toBe('Warning: a:1:1: old\n\n1 | abc = 1\n  | ^^^\n\nError: zzz:3:2: no source\n');
  });

  it('DiagnosticsError lists every diagnostic as file:line:col: message', () => {
    const e = new DiagnosticsError([err('a', [1, 2], [1, 3], 'one'), err('b', [4, 5], [4, 6], 'two')]);
    expect(e.message).toBe('a:1:2: one\nb:4:5: two');
    expect(e.diags).toHaveLength(2);
    expect(e).toBeInstanceOf(Error);
  });
});
