import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseFile, reparseFile } from './parser.js';
import { TESTDATA } from '../paths.test-support.js';

const BASE = [
  '// leading comment',
  'prometheus.scrape "a" {',
  '  targets    = [{"__address__" = "127.0.0.1:9090"}]',
  '  forward_to = [prometheus.remote_write.out.receiver]',
  '  scrape_interval = "15s"',
  '}',
  '',
  '/* between */',
  'discovery.relabel "b" {',
  '  targets = []',
  '  rule {',
  '    action = "keep" // trailing',
  '  }',
  '}',
  'prometheus.remote_write "out" {',
  '  endpoint {',
  '    url = "http://127.0.0.1:9009/api/v1/push"',
  '  }',
  '}',
  '',
  'logging {',
  '  level = "info"',
  '}',
  '// final comment',
  '',
].join('\n');

/** Every edit is applied to BASE; reparseFile must equal parseFile exactly. */
const EDITS: Array<[string, (s: string) => string]> = [
  ['same-length value change in the middle', (s) => s.replace('"keep"', '"drop"')],
  ['same-length change in the first statement', (s) => s.replace('"15s"', '"30s"')],
  ['same-length change in the last statement', (s) => s.replace('"info"', '"warn"')],
  ['longer value', (s) => s.replace('"15s"', '"120s"')],
  ['shorter value', (s) => s.replace('"keep"', '"ok"')],
  ['inserted block', (s) => s.replace('prometheus.remote_write "out"', 'local.file "x" {\n  filename = "/tmp/x"\n}\nprometheus.remote_write "out"')],
  ['deleted block', (s) => s.replace(/discovery\.relabel "b" \{[\s\S]*?\n\}\n/, '')],
  ['moved newline, same length and line count', (s) => s.replace('  targets = []\n  rule {', '  targets = [\n] rule {')],
  ['changed comment', (s) => s.replace('/* between */', '/* betweeN */')],
  ['changed leading comment', (s) => s.replace('// leading comment', '// LEADING comment')],
  ['removed leading comment', (s) => s.replace('// leading comment\n', '')],
  ['byte order mark added', (s) => '\ufeff' + s],
  ['text appended', (s) => s + 'local.file "y" {\n  filename = "/y"\n}\n'],
  ['two statements merged on one line (error)', (s) => s.replace('}\nprometheus.remote_write', '} prometheus.remote_write')],
  ['unclosed block (error)', (s) => s.replace('  rule {\n', '  rule {\n  rule {\n')],
  ['illegal character (error)', (s) => s.replace('"keep"', '"ke\u0000p"')],
  ['everything replaced', () => 'logging {\n  level = "debug"\n}\n'],
  ['emptied', () => ''],
];

describe('reparseFile', () => {
  const prev = { src: BASE, parsed: parseFile('main.alloy', BASE) };
  it('starts from a clean parse', () => expect(prev.parsed.diags).toEqual([]));

  it.each(EDITS)('%s: equals a full parse', (_name, edit) => {
    const src = edit(BASE);
    expect(src).not.toBe(BASE);
    expect(reparseFile('main.alloy', prev, src)).toStrictEqual(parseFile('main.alloy', src));
  });

  it('reuses the statements before and after a same-length edit, and only those', () => {
    const src = BASE.replace('"keep"', '"drop"');
    const r = reparseFile('main.alloy', prev, src);
    const [a, b, c, d] = prev.parsed.file.body;
    expect(r.file.body[0]).toBe(a);
    expect(r.file.body[1]).not.toBe(b);
    expect(r.file.body[2]).toBe(c);
    expect(r.file.body[3]).toBe(d);
  });

  it('reuses only the statements before an edit that moves later positions', () => {
    const r = reparseFile('main.alloy', prev, BASE.replace('"keep"', '"keeping"'));
    expect(r.file.body[0]).toBe(prev.parsed.file.body[0]);
    expect(r.file.body[2]).not.toBe(prev.parsed.file.body[2]);
  });

  it('parses everything again when the previous version had diagnostics', () => {
    const bad = BASE.replace('}\nprometheus.remote_write', '} prometheus.remote_write');
    const prevBad = { src: bad, parsed: parseFile('main.alloy', bad) };
    expect(prevBad.parsed.diags.length).toBeGreaterThan(0);
    const r = reparseFile('main.alloy', prevBad, BASE);
    expect(r).toStrictEqual(prev.parsed);
    expect(r.file.body[0]).not.toBe(prev.parsed.file.body[0]);
  });

  it('equals a full parse for single-character edits anywhere in the valid corpus', () => {
    const dir = join(TESTDATA, 'valid');
    let checked = 0;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.alloy'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      const base = { src: text, parsed: parseFile(f, text) };
      if (base.parsed.diags.length > 0 || text.length === 0) continue;
      // A spread of positions, each edited three ways: replaced, inserted, deleted.
      const step = Math.max(1, Math.floor(text.length / 40));
      for (let i = 0; i < text.length; i += step) {
        for (const src of [text.slice(0, i) + 'x' + text.slice(i + 1), text.slice(0, i) + '\n' + text.slice(i), text.slice(0, i) + text.slice(i + 1)]) {
          expect(reparseFile(f, base, src)).toStrictEqual(parseFile(f, src));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});
