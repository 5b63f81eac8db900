import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { addMissingCommas, format } from './printer.js';
import { parseFile } from '../parser/parser.js';
import { parse as parseYAML } from 'yaml';
import { DOCS, SHARED_DOCS, TESTDATA } from '../paths.test-support.js';

const printerDir = join(TESTDATA, 'printer');
const goldens = readdirSync(printerDir).filter((f) => f.endsWith('.in'));

describe('printer: golden pairs', () => {
  it('has pairs', () => expect(goldens.length).toBeGreaterThan(3));
  it.each(goldens)('%s formats to its .expect', (f) => {
    const r = format(readFileSync(join(printerDir, f), 'utf8'), f);
    expect(r.diags).toEqual([]);
    expect(r.text).toBe(readFileSync(join(printerDir, f.replace(/\.in$/, '.expect')), 'utf8'));
  });
});

describe('printer: idempotence', () => {
  const validDir = join(TESTDATA, 'valid');
  const inputs = [
    ...goldens.map((f) => join(printerDir, f)),
    ...readdirSync(validDir)
      .filter((f) => f.endsWith('.alloy'))
      .map((f) => join(validDir, f)),
  ];
  it.each(inputs)('%s', (path) => {
    const once = format(readFileSync(path, 'utf8'), path);
    expect(once.diags).toEqual([]);
    const twice = format(once.text!, path);
    expect(twice.text).toBe(once.text);
  });
});

describe('printer: rules', () => {
  const fmt = (s: string): string => {
    const r = format(s);
    expect(r.diags).toEqual([]);
    return r.text!;
  };

  it('indents with tabs and aligns = in a run of attributes', () => {
    expect(fmt('b {\n  a = 1\n  long = 2\n}\n')).toBe('b {\n\ta    = 1\n\tlong = 2\n}\n');
  });

  it('a blank line ends an alignment run and at most one blank line is kept', () => {
    expect(fmt('a = 1\n\n\n\nlong = 2\n')).toBe('a = 1\n\nlong = 2\n');
  });

  it('separates a block from the statement before it by a blank line', () => {
    expect(fmt('a = 1\nb {}\nc {}\n')).toBe('a = 1\n\nb { }\n\nc { }\n');
  });

  it('refuses a multi-line list without the comma before its closer, as Alloy does', () => {
    expect(format('x = [\n1,\n2\n]\n').diags.map((d) => `${d.start.line}:${d.start.column}: ${d.message}`)).toEqual(["3:2: missing ',' in expression list"]);
    expect(format('x = {\na = 1\n}\n').diags.map((d) => `${d.start.line}:${d.start.column}: ${d.message}`)).toEqual(["2:6: missing ',' in field list"]);
    expect(fmt('x = [\n1,\n2,\n]\n')).toBe('x = [\n\t1,\n\t2,\n]\n');
  });

  it('keeps single-line arrays and objects on one line', () => {
    expect(fmt('x = [ 1 ,2 ]\ny = { a = 1 , b = 2 }\n')).toBe('x = [1, 2]\ny = {a = 1, b = 2}\n');
  });

  it('keeps line and block comments, leading and trailing', () => {
    const src = '// head\nb {\n  // lead\n  a = 1 // trail\n  /* blk */ c = 2\n}\n';
    expect(fmt(src)).toBe('// head\nb {\n\t// lead\n\ta = 1 // trail\n\t/* blk */ c = 2\n}\n');
  });

  it('does not touch raw string contents', () => {
    const src = 'x = `a  \n\tb  `\n';
    expect(fmt(src)).toBe(src);
  });

  it('refuses to format invalid input and returns the diagnostics', () => {
    const r = format('a = [1 2]\n', 'bad.alloy');
    expect(r.text).toBeUndefined();
    expect(r.diags[0]!.message).toBe("missing ',' in expression list");
  });
});

/** Fenced blocks of the reference docs that are Alloy (have `{` and `=`, not YAML/nginx/shell). */
function alloySnippets(md: string): string[] {
  const out: string[] = [];
  const re = /```[^\n]*\n([\s\S]*?)```/g;
  for (let m = re.exec(md); m; m = re.exec(md)) {
    const body = m[1]!;
    if (!body.includes('{') || !body.includes('=')) continue;
    if (/^\s*(upstream|server|location)\b/m.test(body) || /;\s*$/m.test(body)) continue; // nginx
    const firstLine = body.split('\n').find((l) => l.trim() !== '') ?? '';
    if (/^\s*[\w.-]+:(\s|$)/.test(firstLine)) continue; // YAML
    if (/^\s*(\$|kubectl|helm|sudo|export|brew)\b/m.test(body)) continue; // shell
    out.push(body);
  }
  return out;
}

describe('reference docs: the vendored copy', () => {
  it('is byte-identical to ../shared/reference when that exists', () => {
    if (!existsSync(SHARED_DOCS)) {
      // Under CI the original must be there: a silent pass would hide a stale vendored copy.
      if (process.env['CI'] === 'true') throw new Error(`${SHARED_DOCS} is missing (CI=true): the vendored copy ${DOCS} cannot be compared with the original`);
      console.log(`no ${SHARED_DOCS} beside this checkout: the vendored copy cannot be compared`);
      return;
    }
    const same = readFileSync(SHARED_DOCS).equals(readFileSync(DOCS));
    if (!same) throw new Error(`${DOCS} differs from ${SHARED_DOCS}: refresh the vendored copy: cp ${SHARED_DOCS} ${DOCS}`);
  });
});

/**
 * Snippets of the reference docs that Alloy itself rejects (`missing ',' in field list`: a target
 * object's last field has no comma before the `}` on its own line), identified by their text.
 * Reported to the lead as docs defects; everything else must parse as printed.
 */
const DOCS_MISSING_COMMA = ['__address__ = "localhost:9100"\n  }]', '__path__ = "/var/log/*.log"\n  }]'];

describe('reference docs: every Alloy snippet parses and formats idempotently', () => {
  const md = readFileSync(DOCS, 'utf8');
  const snippets = alloySnippets(md);
  it('finds the Alloy snippets', () => expect(snippets.length).toBeGreaterThanOrEqual(5));
  it('the known defects are still in the docs (drop them from DOCS_MISSING_COMMA once fixed)', () => {
    for (const k of DOCS_MISSING_COMMA) expect(snippets.filter((s) => s.includes(k))).toHaveLength(1);
  });
  it.each(snippets.map((s, i) => [i, s] as const))('snippet %i', (_i, snippet) => {
    if (DOCS_MISSING_COMMA.some((k) => snippet.includes(k))) {
      // Alloy rejects these exactly so; with the commas added they are valid.
      const diags = parseFile('snippet.alloy', snippet).diags;
      expect(diags.map((d) => d.message)).toEqual(["missing ',' in field list"]);
      const at = diags[0]!.start.offset;
      snippet = snippet.slice(0, at) + ',' + snippet.slice(at);
    }
    const parsed = parseFile('snippet.alloy', snippet);
    expect(parsed.diags).toEqual([]);
    const once = format(snippet);
    expect(once.text).toBeDefined();
    expect(format(once.text!).text).toBe(once.text);
  });
});

describe('reference docs: Alloy configs embedded in values.yaml snippets', () => {
  const md = readFileSync(DOCS, 'utf8');
  const embedded: string[] = [];
  for (const m of md.matchAll(/```[^\n]*\n([\s\S]*?)```/g)) {
    if (!/configMap:\s*\n\s*content:/.test(m[1]!)) continue;
    const doc = parseYAML(m[1]!) as { alloy?: { configMap?: { content?: unknown } } };
    const content = doc.alloy?.configMap?.content;
    if (typeof content === 'string') embedded.push(content);
  }
  it('finds the embedded config', () => expect(embedded.length).toBeGreaterThanOrEqual(1));
  it.each(embedded.map((c, i) => [i, c] as const))('embedded config %i parses and formats idempotently', (_i, content) => {
    expect(parseFile('values.yaml', content).diags).toEqual([]);
    const once = format(content);
    expect(format(once.text!).text).toBe(once.text);
  });
});

describe('addMissingCommas', () => {
  it('adds the commas Alloy requires before closers on their own line, then the file formats', () => {
    const src = 'a = [\n  1,\n  2\n]\nb = {\n  x = [{\n    y = 1\n  }]\n}\nc = f(\n  1\n)\n';
    const fixed = addMissingCommas(src)!;
    expect(parseFile('f', fixed).diags).toEqual([]);
    expect(format(fixed).text).toBe('a = [\n\t1,\n\t2,\n]\nb = {\n\tx = [{\n\t\ty = 1,\n\t}],\n}\nc = f(\n\t1,\n)\n');
  });

  it('returns undefined for valid sources and for sources with other errors', () => {
    expect(addMissingCommas('a = [1, 2]\n')).toBeUndefined();
    expect(addMissingCommas('a = [\n  1\n]\nb = \n')).toBeUndefined();
  });
});
