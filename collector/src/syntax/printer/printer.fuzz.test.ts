/**
 * Property test over deterministic mutations of the golden corpus: the parser never throws, and
 * for every mutated input that parses, formatting is idempotent and preserves the syntax tree
 * (positions aside) and every comment.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseFile } from '../parser/parser.js';
import { format } from './printer.js';
import type * as ast from '../ast/ast.js';
import { TESTDATA } from '../paths.test-support.js';

const POSITION_KEYS = /^(start|end|rbrack|rcurly|lbrack|lparen|rparen|opStart|lcurly|nameStart|nameEnd|labelStart|labelEnd)$/;

function shape(file: ast.File): string {
  // An empty label prints as no label (as Alloy's printer does); both mean "no label".
  return JSON.stringify(file.body, (k, v: unknown) => (POSITION_KEYS.test(k) ? undefined : k === 'label' && v === '' ? undefined : v));
}

describe('printer: mutated-corpus properties', () => {
  const seeds: string[] = [];
  for (const sub of ['valid', 'printer']) {
    for (const f of readdirSync(join(TESTDATA, sub))) if (/\.(alloy|in)$/.test(f)) seeds.push(readFileSync(join(TESTDATA, sub, f), 'utf8'));
  }
  const pieces = ['{', '}', '[', ']', '(', ')', ',', '=', '"', '`', '//', '/*', '*/', '\n', ' ', '.', 'x', '1', '1.5', '\\', '\t', '"s"', 'null', '!', '-', '^', 'é', '\r\n'];

  it('never throws; formatting is idempotent and keeps the tree and comments', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let parsed = 0;
    const problems: string[] = [];
    for (let i = 0; i < 1500 && problems.length < 3; i++) {
      let src = seeds[rnd(seeds.length)]!;
      for (let m = 1 + rnd(4); m > 0; m--) {
        const at = rnd(src.length + 1);
        const op = rnd(3);
        if (op === 0) src = src.slice(0, at) + pieces[rnd(pieces.length)]! + src.slice(at);
        else if (op === 1) src = src.slice(0, at) + src.slice(at + 1 + rnd(5));
        else {
          const b = rnd(src.length + 1);
          src = src.slice(0, at) + src.slice(b, b + rnd(20)) + src.slice(at);
        }
      }
      const r = parseFile('f', src);
      if (r.diags.length > 0) continue;
      parsed++;
      const once = format(src);
      const twice = format(once.text!);
      const again = parseFile('f', once.text!);
      if (twice.text !== once.text) problems.push(`not idempotent: ${JSON.stringify(src)}`);
      else if (shape(again.file) !== shape(r.file)) problems.push(`tree changed: ${JSON.stringify(src)}`);
      else if (again.file.comments.map((c) => c.text).join('\n') !== r.file.comments.map((c) => c.text).join('\n')) {
        problems.push(`comments changed: ${JSON.stringify(src)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(parsed).toBeGreaterThan(300);
  });
});
