import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_PARSE_ERRORS, parseExpression, parseFile } from './parser.js';
import type * as ast from '../ast/ast.js';
import { MAX_NESTING_DEPTH } from '../ast/ast.js';
import { TESTDATA } from '../paths.test-support.js';
import { garbageBytes } from '../garbage.test-support.js';
import { decodeSource } from '../scanner/scanner.js';

describe('parser: valid corpus', () => {
  const dir = join(TESTDATA, 'valid');
  const files = readdirSync(dir).filter((f) => f.endsWith('.alloy'));
  it('has files', () => expect(files.length).toBeGreaterThan(3));
  it.each(files)('%s parses without diagnostics', (f) => {
    const { diags } = parseFile(f, readFileSync(join(dir, f), 'utf8'));
    expect(diags).toEqual([]);
  });
});

describe('parser: invalid corpus reports every error', () => {
  const dir = join(TESTDATA, 'invalid');
  const files = readdirSync(dir).filter((f) => f.endsWith('.alloy'));
  it.each(files)('%s matches its .diags golden', (f) => {
    const { diags } = parseFile(f, readFileSync(join(dir, f), 'utf8'));
    const got = diags.map((d) => `${d.start.line}:${d.start.column}: ${d.message}`).join('\n') + '\n';
    expect(got).toBe(readFileSync(join(dir, f.replace(/\.alloy$/, '.diags')), 'utf8'));
    expect(diags.length).toBeGreaterThan(1);
    for (const d of diags) {
      expect(d.start.file).toBe(f);
      expect(d.end.offset).toBeGreaterThanOrEqual(d.start.offset);
    }
  });
});

function strip(e: ast.Expr): unknown {
  return JSON.parse(JSON.stringify(e, (k, v: unknown) => (['start', 'end', 'rbrack', 'rcurly', 'lbrack', 'lparen', 'rparen', 'opStart', 'raw'].includes(k) ? undefined : v)));
}

function shape(src: string): string {
  const { expr, diags } = parseExpression(src);
  expect(diags).toEqual([]);
  const show = (e: ast.Expr): string => {
    switch (e.kind) {
      case 'Binary':
        return `(${show(e.left)} ${e.op} ${show(e.right)})`;
      case 'Unary':
        return `(${e.op} ${show(e.value)})`;
      case 'Literal':
        return String(e.value);
      case 'Identifier':
        return e.name;
      case 'Paren':
        return show(e.inner);
      case 'Access':
        return `${show(e.value)}.${e.name.name}`;
      case 'Index':
        return `${show(e.value)}[${show(e.index)}]`;
      case 'Call':
        return `${show(e.value)}(${e.args.map(show).join(',')})`;
      default:
        return e.kind;
    }
  };
  return show(expr);
}

describe('parser: precedence and associativity', () => {
  it.each([
    ['1 + 2 * 3', '(1 ADD (2 MUL 3))'],
    ['1 - 2 - 3', '((1 SUB 2) SUB 3)'],
    ['2 ^ 3 ^ 2', '(2 POW (3 POW 2))'],
    ['-2 ^ 2', '((SUB 2) POW 2)'],
    ['a || b && c', '(a OR (b AND c))'],
    ['a == b || c != d', '((a EQ b) OR (c NEQ d))'],
    ['1 < 2 == true', '((1 LT 2) EQ true)'],
    ['1 + 2 < 3 * 4', '((1 ADD 2) LT (3 MUL 4))'],
    ['8 / 4 % 3 * 2', '(((8 DIV 4) MOD 3) MUL 2)'],
    ['!a && !b', '((NOT a) AND (NOT b))'],
    ['(1 + 2) * 3', '((1 ADD 2) MUL 3)'],
    ['a.b[0].c(1, 2)', 'a.b[0].c(1,2)'],
    ['2 * 3 ^ 2', '(2 MUL (3 POW 2))'],
    ['1 <= 2 && 3 >= 2 && 1 > 0', '(((1 LTE 2) AND (3 GTE 2)) AND (1 GT 0))'],
  ])('%s', (src, want) => expect(shape(src)).toBe(want));
});

describe('parser: literals', () => {
  it.each([
    ['"a\\nb\\t\\"q\\"\\\\"', 'a\nb\t"q"\\'],
    ['"\\u00e9\\U0001F600"', 'é😀'],
    ['"\\x41\\101"', 'AA'],
    ['"\\xc3\\xa9"', 'é'],
    ['`raw \\n`', 'raw \\n'],
    ['42', 42],
    ['3.5', 3.5],
    ['.5', 0.5],
    ['1e3', 1000],
    ['2.5E-1', 0.25],
    ['true', true],
    ['null', null],
  ])('%s', (src, want) => {
    const { expr, diags } = parseExpression(src);
    expect(diags).toEqual([]);
    expect(expr.kind).toBe('Literal');
    expect((expr as ast.LiteralExpr).value).toEqual(want);
  });

  it('parses arrays and objects with quoted keys and trailing commas', () => {
    const { expr, diags } = parseExpression('{ a = [1, 2,], "b c" = {}, }');
    expect(diags).toEqual([]);
    expect(strip(expr)).toEqual({
      kind: 'Object',
      fields: [
        { name: { name: 'a' }, quoted: false, value: { kind: 'Array', elements: [{ kind: 'Literal', literal: 'NUMBER', value: 1 }, { kind: 'Literal', literal: 'NUMBER', value: 2 }] } },
        { name: { name: 'b c' }, quoted: true, value: { kind: 'Object', fields: [] } },
      ],
    });
  });
});

describe('parser: positions', () => {
  it('gives blocks, attributes and expressions 1-based start/end positions', () => {
    const src = 'prometheus.scrape "node" {\n  forward_to = [x.receiver]\n}\n';
    const { file, diags } = parseFile('f.alloy', src);
    expect(diags).toEqual([]);
    const b = file.body[0] as ast.BlockStmt;
    expect(b.name).toEqual(['prometheus', 'scrape']);
    expect(b.label).toBe('node');
    expect(b.start).toEqual({ file: 'f.alloy', line: 1, column: 1, offset: 0 });
    expect(b.end.line).toBe(3);
    const a = b.body[0] as ast.AttributeStmt;
    expect(a.name.name).toBe('forward_to');
    expect([a.start.line, a.start.column]).toEqual([2, 3]);
    expect([a.value.start.column, a.value.end.column]).toEqual([16, 28]);
  });

  it('records comments with positions', () => {
    const { file } = parseFile('c', '// one\na = 1 /* two */\n');
    expect(file.comments.map((c) => [c.text, c.start.line, c.start.column])).toEqual([
      ['// one', 1, 1],
      ['/* two */', 2, 7],
    ]);
  });

  it('reports an error with a start and end position', () => {
    const { diags } = parseFile('e', 'a = [1 2]\n');
    expect(diags).toHaveLength(1);
    expect(diags[0]).toMatchObject({ severity: 'error', message: "missing ',' in expression list", start: { line: 1, column: 8 } });
  });
});

describe('parser: nesting limit', () => {
  const N = MAX_NESTING_DEPTH;
  // Each case builds `d` nested levels of one construct; the error points at the (N+1)th opener.
  const constructs: Array<[string, (d: number) => string, (d: number) => number]> = [
    ['arrays', (d) => 'a = ' + '['.repeat(d) + ']'.repeat(d), (d) => 5 + d - 1],
    ['parentheses', (d) => 'a = ' + '('.repeat(d) + '1' + ')'.repeat(d), (d) => 5 + d - 1],
    ['objects', (d) => 'a = ' + '{x='.repeat(d) + '1' + '}'.repeat(d), (d) => 5 + 3 * (d - 1)],
    ['unary minus', (d) => 'a = ' + '-'.repeat(d) + '1', (d) => 5 + d - 1],
    ['unary not', (d) => 'a = ' + '!'.repeat(d) + 'true', (d) => 5 + d - 1],
    ['power chains', (d) => 'a = 2' + '^2'.repeat(d), (d) => 6 + 2 * (d - 1)],
    ['binary chains', (d) => 'a = 2' + '+2'.repeat(d), (d) => 6 + 2 * (d - 1)],
    ['field access', (d) => 'a = b' + '.c'.repeat(d), (d) => 6 + 2 * (d - 1)],
    ['indexing', (d) => 'a = b' + '[0]'.repeat(d), (d) => 6 + 3 * (d - 1)],
    ['calls', (d) => 'a = f' + '()'.repeat(d), (d) => 6 + 2 * (d - 1)],
  ];

  it.each(constructs)('%s: the maximum depth parses, one more is a diagnostic with its position', (_name, build, col) => {
    expect(parseFile('ok.alloy', build(N)).diags).toEqual([]);
    const { diags } = parseFile('deep.alloy', build(N + 1));
    expect(diags).toHaveLength(1);
    expect(diags[0]!.message).toMatch(new RegExp(`^nesting too deep \\(max ${N} `));
    expect(diags[0]!.start).toEqual(expect.objectContaining({ file: 'deep.alloy', line: 1, column: col(N + 1) }));
  });

  it.each(constructs)('%s 3000 levels deep: one diagnostic, not a RangeError', (_name, build) => {
    const { diags } = parseFile('deep.alloy', build(3000));
    expect(diags.map((d) => d.message.slice(0, 19))).toEqual(['nesting too deep (m']);
  });

  it('blocks: the limit counts block bodies, reported at the offending line', () => {
    const blocks = (d: number): string => 'b {\n'.repeat(d) + '}\n'.repeat(d);
    expect(parseFile('ok.alloy', blocks(N)).diags).toEqual([]);
    const { diags } = parseFile('deep.alloy', blocks(3000));
    expect(diags).toHaveLength(1);
    expect(diags[0]!.start).toEqual(expect.objectContaining({ line: N + 1, column: 3 }));
    expect(diags[0]!.message).toContain('nesting too deep');
  });

  it('keeps diagnostics found before the limit and parseExpression reports it too', () => {
    const { diags } = parseFile('deep.alloy', 'x = = 1\ny = ' + '['.repeat(3000));
    expect(diags.map((d) => d.start.line)).toEqual([1, 2]);
    expect(parseExpression('('.repeat(3000) + '1').diags[0]!.message).toContain('nesting too deep');
  });

  it('mixed constructs count together', () => {
    const half = N / 2;
    const src = 'a = ' + '[('.repeat(half) + '1' + ')]'.repeat(half);
    expect(parseFile('ok.alloy', src).diags).toEqual([]);
    expect(parseFile('deep.alloy', 'a = [' + src.slice(4) + ']').diags[0]!.message).toContain('nesting too deep');
  });
});

describe('parser: garbage input is bounded', () => {
  // A deterministic 64 KiB of "random bytes", decoded the way a config file is read.
  const garbage = (size: number, seed: number): string => decodeSource(garbageBytes(size, seed));

  it.each([1, 2, 3])('64 KiB of random bytes (seed %i) stops after MAX_PARSE_ERRORS with a closing diagnostic', (seed) => {
    const { diags } = parseFile('g.alloy', garbage(65536, seed));
    expect(diags.length).toBe(MAX_PARSE_ERRORS + 1);
    expect(diags.at(-1)!.message).toMatch(/^too many errors \(100\): the rest of the file was not parsed/);
  });

  it('one line of 64 KiB of punctuation and control characters: same bound', () => {
    const alphabet = '{}[](),=."\u0007a1 ';
    let s = '';
    for (let i = 0; i < 65536; i++) s += alphabet[(i * 7919) % alphabet.length];
    expect(parseFile('g.alloy', s).diags.length).toBeLessThanOrEqual(MAX_PARSE_ERRORS + 1);
  });

  it('a file with fewer errors than the bound reports them all', () => {
    const src = Array.from({ length: MAX_PARSE_ERRORS - 1 }, (_, i) => `a${i} = ]`).join('\n') + '\n';
    const { diags } = parseFile('f.alloy', src);
    expect(diags).toHaveLength(MAX_PARSE_ERRORS - 1);
    expect(diags.every((d) => d.message.startsWith('expected expression'))).toBe(true);
  });
});
