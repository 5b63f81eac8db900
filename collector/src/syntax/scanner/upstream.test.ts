// Upstream's own scanner tables (grafana/alloy syntax/scanner/scanner_test.go), vendored as data in
// testdata/upstream/scanner_test.json (see PROVENANCE.md there), run against our scanner.
// Upstream positions are byte offsets; ours are UTF-16 offsets, converted with `byteOffset`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSource, Scanner } from './scanner.js';
import type { Token } from './token.js';
import { byteOffset, upstreamDir } from '../upstream.test-support.js';

interface Tables {
  whitespace: string;
  tokens: Array<{ tok: Token; lit: string }>;
  errorTests: Array<{ inputHex: string; tok: Token; pos: number; litHex: string; err: string }>;
}
const tables = JSON.parse(readFileSync(join(upstreamDir('scanner'), 'scanner_test.json'), 'utf8')) as Tables;

/** Upstream's stripCR (carriage returns dropped from comments except `*\r/` in block comments). */
function stripCR(s: string, block: boolean): string {
  let out = '';
  for (let j = 0; j < s.length; j++) {
    const ch = s[j]!;
    if (ch !== '\r' || (block && out.length > 2 && out.endsWith('*') && s[j + 1] === '/')) out += ch;
  }
  return out;
}

describe('upstream scanner_test.go: TestScanner_Scan (tokens table)', () => {
  const source = tables.tokens.map((t) => t.lit + tables.whitespace).join('');
  const errors: string[] = [];
  const s = new Scanner(source, (_o, _l, _c, msg) => errors.push(msg));
  const seen: Array<{ tok: Token; lit: string; byte: number; line: number; col: number }> = [];
  for (let t = s.scan(); t !== 'EOF'; t = s.scan()) {
    if (t === 'TERMINATOR') continue; // upstream scans with dontInsertTerms
    seen.push({ tok: t, lit: s.lit, byte: byteOffset(source, s.start), line: s.startLine, col: s.startCol });
  }
  let byte = 0;
  let line = 1;
  const nl = (x: string): number => x.split('\n').length - 1;
  const expected = tables.tokens.map((e) => {
    let lit = '';
    if (e.tok === 'COMMENT') {
      lit = stripCR(e.lit, e.lit[1] === '*');
      if (lit[1] === '/') lit = lit.slice(0, -1);
    } else if (['IDENT', 'NUMBER', 'FLOAT', 'STRING', 'NULL', 'BOOL'].includes(e.tok)) lit = e.lit;
    const r = { tok: e.tok, lit, byte, line, col: 1 };
    byte += Buffer.byteLength(e.lit) + tables.whitespace.length;
    line += nl(e.lit) + nl(tables.whitespace);
    return r;
  });
  it.each(expected.map((e, i) => [i, JSON.stringify(tables.tokens[i]!.lit), e] as const))('token %i %s', (i, _lit, e) => {
    expect(seen[i]).toEqual(e);
  });
  it('reaches EOF after exactly the listed tokens with no errors', () => {
    expect(seen).toHaveLength(tables.tokens.length);
    expect(errors).toEqual([]);
  });
});

describe('upstream scanner_test.go: TestScanner_Scan_Errors', () => {
  it.each(tables.errorTests.map((e) => [JSON.stringify(Buffer.from(e.inputHex, 'hex').toString('latin1')), e] as const))('%s', (_name, e) => {
    const src = decodeSource(Buffer.from(e.inputHex, 'hex'));
    const errs: Array<{ msg: string; byte: number }> = [];
    const s = new Scanner(src, (off, _l, _c, msg) => errs.push({ msg, byte: byteOffset(src, off) }));
    const tok = s.scan();
    expect(tok).toBe(e.tok);
    if (tok !== 'ILLEGAL') expect(s.lit).toBe(decodeSource(Buffer.from(e.litHex, 'hex')));
    expect(errs.length).toBe(e.err === '' ? 0 : 1);
    expect(errs.at(-1)?.msg ?? '').toBe(e.err);
    expect(errs.at(-1)?.byte ?? 0).toBe(e.pos);
  });
});

describe('decodeSource', () => {
  it('decodes valid UTF-8 as toString does, and keeps each invalid byte as a lone surrogate', () => {
    expect(decodeSource(Buffer.from('añ€😀', 'utf8'))).toBe('añ€😀');
    expect(decodeSource(Buffer.from([0x61, 0x80, 0xe2, 0x82, 0x62, 0xf0, 0x9f, 0x98, 0x80]))).toBe('a\udc80\udce2\udc82b😀');
    expect(decodeSource(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\udced\udca0\udc80'); // encoded surrogate: invalid
    expect(decodeSource(Buffer.from([0xc0, 0xaf]))).toBe('\udcc0\udcaf'); // overlong
  });
});
