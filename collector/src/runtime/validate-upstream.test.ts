// Upstream's validator snapshots (grafana/alloy internal/validator/testdata, see PROVENANCE.md
// there): each `X.txtar` holds config files, `X.diags` the report `alloy validate` prints for them.
// Compared as sets of diagnostic headers (`Error: file:line:col: message`): upstream's report
// order follows its graph walk and repeats some diagnostics, ours is sorted by position and
// deduplicated; excerpts are covered by the formatter's own tests. Our message may extend
// upstream's text with a hint after it (`, e.g. ...`, ` (use "sys.env")`), never change it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Stability } from './component.js';
import { defaultRegistry } from '../component/registry.js';
import { validateConfig } from './validate.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata', 'upstream', 'validator');

/** golang.org/x/tools/txtar: a comment, then `-- name --` lines starting each file. */
function parseTxtar(text: string): { comment: string; files: Map<string, string> } {
  const files = new Map<string, string>();
  const parts = text.split(/^-- (.+?) --$\n?/m);
  for (let i = 1; i + 1 < parts.length; i += 2) files.set(parts[i]!, parts[i + 1]!);
  return { comment: parts[0]!.trim(), files };
}

function headers(report: string): string[] {
  return [...new Set(report.split('\n').filter((l) => /^(Error|Warning): /.test(l)))].sort();
}

function matches(ours: string, theirs: string): boolean {
  return ours === theirs || ours.startsWith(`${theirs}, `) || ours.startsWith(`${theirs} (`) || ours.startsWith(`${theirs}; `);
}

/**
 * Where this collector still differs, pinned (the test fails when a difference changes, e.g. once
 * a missing component exists: then drop its entry). Every entry comes from component coverage,
 * not from the language.
 */
const KNOWN_DIFFERENCES: Record<string, { reason: string; unmatched: string[]; extra: string[] }> = {
  'default/duplicates': {
    reason: 'arguments of the first of two duplicate blocks are still checked here; Alloy reports only the duplicate',
    unmatched: [],
    extra: ['Error: main.alloy:1:1: missing required attribute "path_targets"'],
  },
  'default/invalid_types': {
    reason: 'a discovery target is an object here where Alloy types it as a capsule; an enum value (header action) is checked at validate time here, at build time in Alloy',
    unmatched: ['Error: main.alloy:3:13: "targets" should be capsule, got number'],
    extra: ['Error: main.alloy:10:12: header[0].action: Invalid option: expected one of "insert"|"update"|"upsert"|"delete"', 'Error: main.alloy:3:13: "targets" should be object, got number'],
  },
  'default/stdlib': {
    reason: 'a custom component named like a stdlib namespace (declare "sys") is resolved as the stdlib by the static check of a reference through it',
    unmatched: [],
    extra: ['Error: main.alloy:11:21: field "env" does not exist'],
  },
};

const cases = (['default', 'ga'] as const).flatMap((dir) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.txtar'))
    .map((f) => ({ dir, name: f.slice(0, -'.txtar'.length) })),
);

describe('upstream validator snapshots', () => {
  it('has the vendored cases', () => expect(cases.length).toBeGreaterThanOrEqual(10));
  it.each(cases.map((c) => [`${c.dir}/${c.name}`, c] as const))('%s', async (_n, c) => {
    const { files } = parseTxtar(readFileSync(join(root, c.dir, `${c.name}.txtar`), 'utf8'));
    let want: string[] = [];
    try {
      want = headers(readFileSync(join(root, c.dir, `${c.name}.diags`), 'utf8'));
    } catch {
      // No .diags: upstream reports nothing.
    }
    // `default` runs at upstream's default stability level for its validator tests; `ga` too.
    const level: Stability = 'generally-available';
    const diags = (await validateConfig(files, { registry: defaultRegistry(), stabilityLevel: level }));
    const got = [...new Set(diags.map((d) => `${d.severity === 'error' ? 'Error' : 'Warning'}: ${d.start.file}:${d.start.line}:${d.start.column}: ${d.message}`))].sort();
    const unmatched = want.filter((w) => !got.some((g) => matches(g, w)));
    const extra = got.filter((g) => !want.some((w) => matches(g, w)));
    if (process.env['DUMP_UPSTREAM_DIFFS']) process.stdout.write(`${c.dir}/${c.name} ${JSON.stringify({ unmatched, extra })}\n`);
    const known = KNOWN_DIFFERENCES[`${c.dir}/${c.name}`];
    expect({ unmatched, extra }).toEqual(known ? { unmatched: known.unmatched, extra: known.extra } : { unmatched: [], extra: [] });
  });
});
