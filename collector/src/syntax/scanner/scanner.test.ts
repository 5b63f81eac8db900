import { Scanner, isValidIdentifier, quoteString, unquoteString } from './scanner.js';
import type { Token } from './token.js';

function tokens(src: string): string[] {
  const errors: string[] = [];
  const s = new Scanner(src, (_o, line, col, msg) => errors.push(`${line}:${col}: ${msg}`));
  const out: string[] = [];
  for (let t: Token = s.scan(); t !== 'EOF'; t = s.scan()) {
    out.push(t === 'TERMINATOR' ? ';' : ['IDENT', 'STRING', 'NUMBER', 'FLOAT', 'COMMENT', 'BOOL', 'NULL', 'ILLEGAL'].includes(t) ? `${t}(${s.lit})` : t);
  }
  return [...out, ...errors.map((e) => `ERR ${e}`)];
}

describe('scanner', () => {
  it('inserts terminators after tokens that can end a statement, at newlines and EOF', () => {
    expect(tokens('a = 1\nb = [\n  2,\n]\nc = f(\n)\nd = true')).toEqual([
      'IDENT(a)', 'ASSIGN', 'NUMBER(1)', ';',
      'IDENT(b)', 'ASSIGN', 'LBRACK', 'NUMBER(2)', 'COMMA', 'RBRACK', ';',
      'IDENT(c)', 'ASSIGN', 'IDENT(f)', 'LPAREN', 'RPAREN', ';',
      'IDENT(d)', 'ASSIGN', 'BOOL(true)', ';',
    ]);
  });

  it('puts the terminator before a comment that ends the line', () => {
    expect(tokens('a = 1 // c\nb = 2 /* x */ + 3\n')).toEqual([
      'IDENT(a)', 'ASSIGN', 'NUMBER(1)', ';', 'COMMENT(// c)',
      'IDENT(b)', 'ASSIGN', 'NUMBER(2)', 'COMMENT(/* x */)', 'ADD', 'NUMBER(3)', ';',
    ]);
  });

  it('scans every operator', () => {
    expect(tokens('|| && ! != = == < <= > >= + - * / % ^ { } ( ) [ ] , .').filter((t) => t !== ';')).toEqual([
      'OR', 'AND', 'NOT', 'NEQ', 'ASSIGN', 'EQ', 'LT', 'LTE', 'GT', 'GTE', 'ADD', 'SUB', 'MUL', 'DIV', 'MOD', 'POW',
      'LCURLY', 'RCURLY', 'LPAREN', 'RPAREN', 'LBRACK', 'RBRACK', 'COMMA', 'DOT',
    ]);
  });

  it('scans numbers, floats, strings, raw strings, keywords and unicode identifiers', () => {
    expect(tokens('12 1.5 .5 1e9 2E-3 "a\\"b" `r\naw` null false héllo _x9')).toEqual([
      'NUMBER(12)', 'FLOAT(1.5)', 'FLOAT(.5)', 'FLOAT(1e9)', 'FLOAT(2E-3)', 'STRING("a\\"b")', 'STRING(`r\naw`)',
      'NULL(null)', 'BOOL(false)', 'IDENT(héllo)', 'IDENT(_x9)', ';',
    ]);
  });

  it('reports lexical errors with positions and keeps scanning', () => {
    const t = tokens('a = \'x\'\nb = "\\q"\nc = 1 | 2\nd = #\ne = "open\n');
    expect(t.filter((x) => x.startsWith('ERR'))).toEqual([
      "ERR 1:5: illegal single-quoted string; use double quotes",
      'ERR 2:6: unknown escape sequence',
      'ERR 3:8: missing second | in ||',
      "ERR 4:5: illegal character U+0023 '#'",
      'ERR 5:5: string literal not terminated',
    ]);
  });

  it('tracks line and column across multi-line tokens', () => {
    const s = new Scanner('/* a\nb */ x `1\n2` y', () => undefined);
    expect(s.scan()).toBe('COMMENT');
    expect([s.startLine, s.startCol, s.endLine, s.endCol]).toEqual([1, 1, 2, 5]);
    expect(s.scan()).toBe('IDENT');
    expect([s.startLine, s.startCol]).toEqual([2, 6]);
    expect(s.scan()).toBe('STRING');
    expect([s.endLine, s.endCol]).toEqual([3, 3]);
    expect(s.scan()).toBe('IDENT');
    expect([s.startLine, s.startCol]).toEqual([3, 4]);
  });

  it('validates identifiers and round-trips quoting', () => {
    expect(isValidIdentifier('node_1')).toBe(true);
    expect(isValidIdentifier('1node')).toBe(false);
    expect(isValidIdentifier('not valid')).toBe(false);
    expect(isValidIdentifier('')).toBe(false);
    for (const s of ['plain', 'q"uote', 'back\\slash', 'nl\nTab\t', 'ctl\x01', 'üñí😀']) expect(unquoteString(quoteString(s))).toBe(s);
  });
});
