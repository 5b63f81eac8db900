import { formatDiagnostics, DiagnosticsError, MAX_SHOWN_DIAGNOSTICS, type Diagnostic, type Position } from './diag.js';

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

describe('formatDiagnostics: bounded output', () => {
  const many = (n: number, file = 'f'): Diagnostic[] => Array.from({ length: n }, (_, i) => err(file, [1, i + 1], [1, i + 2], `bad ${i}`));

  it('spells out the first MAX_SHOWN_DIAGNOSTICS and summarises the rest in one line', () => {
    const out = formatDiagnostics([...many(MAX_SHOWN_DIAGNOSTICS + 7), err('f', [1, 1], [1, 2], 'w', 'warning')], new Map());
    expect(out.match(/^Error: /gm)).toHaveLength(MAX_SHOWN_DIAGNOSTICS);
    expect(out.endsWith('\n... and 7 more errors and 1 more warning not shown (fix the ones above first)\n')).toBe(true);
    expect(out).not.toContain(`bad ${MAX_SHOWN_DIAGNOSTICS}\n`);
  });

  it('prints nothing extra when everything fits, and honours an explicit limit', () => {
    expect(formatDiagnostics(many(2), new Map())).not.toContain('more');
    expect(formatDiagnostics(many(3), new Map(), 1)).toBe('Error: f:1:1: bad 0\n\n... and 2 more errors not shown (fix the ones above first)\n');
  });

  it('shows a window of a long line around the span, with the caret under it', () => {
    const line = 'a'.repeat(5000) + 'XYZ' + 'b'.repeat(5000);
    const out = formatDiagnostics([err('f', [1, 5001], [1, 5004])], new Map([['f', line]]));
    const [code, focus] = out.split('\n\n')[1]!.split('\n') as [string, string];
    expect(code.length).toBeLessThan(200);
    expect(code).toMatch(/^1 \| …a+XYZb+…$/);
    expect(focus.indexOf('^')).toBe(code.indexOf('XYZ'));
    expect(focus.trimEnd().endsWith('^^^')).toBe(true);
  });

  it('shows only the edges of a span over many lines', () => {
    const src = Array.from({ length: 1000 }, (_, i) => `L${i + 1}`).join('\n');
    const out = formatDiagnostics([err('f', [2, 1], [999, 3])], new Map([['f', src]]));
    expect(out.split('\n').length).toBeLessThan(20);
    expect(out).toContain('| | ...');
    expect(out).toContain(' 999 | | L999');
  });

  it('a 1 MB line of garbage with thousands of diagnostics formats into a few tens of KB', () => {
    const line = '\u0007'.repeat(1 << 20);
    const out = formatDiagnostics(many(20_000), new Map([['f', line]]));
    expect(out.length).toBeLessThan(MAX_SHOWN_DIAGNOSTICS * 400 + 200);
  });

  it('DiagnosticsError caps its message too but keeps every diagnostic', () => {
    const e = new DiagnosticsError(many(MAX_SHOWN_DIAGNOSTICS + 1));
    expect(e.diags).toHaveLength(MAX_SHOWN_DIAGNOSTICS + 1);
    expect(e.message.split('\n')).toHaveLength(MAX_SHOWN_DIAGNOSTICS + 1);
    expect(e.message.endsWith('... and 1 more error not shown (fix the ones above first)')).toBe(true);
  });
});
