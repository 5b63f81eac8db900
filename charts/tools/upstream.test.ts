/**
 * The upstream grafana/alloy chart's own test cases (charts/tools/testdata/upstream, vendored with
 * their provenance in sources.json; values are upstream's ci file, grafana-agent's file of the case
 * adapted as `adapted` says, or read back from an output as `reconstructed` says): each case's values
 * render through bin/helm-template and every
 * object upstream rendered for it is compared field for field with ours, after normalising only
 * version labels, image tags and checksum annotations. A difference fails unless an entry of
 * UPSTREAM_DIFFERENCES (listed with its reason in charts/alloy/README.md) explains it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { helmTemplate, helmTemplateOk, parseManifests, REPO_ROOT, rendererAvailable } from '../../tools/helm-template/helm-template.js';
import { compareObjects, diff, grants, imageWithoutTag, normalise } from './upstream-compare.js';
import { UPSTREAM_DIFFERENCES, UPSTREAM_INVALID_VALUES, UPSTREAM_REFUSALS } from './upstream-differences.js';
import { validateObject } from './openapi.js';

type Json = Record<string, unknown>;
interface Source {
  readonly repo: string;
  readonly path: string;
  readonly commit: string;
}
/** Values vendored from the grafana-agent chart (which the alloy chart forked with its ci values) say how they were adapted. */
interface ValuesSource extends Source {
  readonly adapted?: string;
}
interface CaseSources {
  readonly values: ValuesSource | null;
  /** Set where upstream's values file is not stored: the values were read back from this rendered file. */
  readonly reconstructed?: { readonly from: string; readonly how: string };
  readonly rendered: Record<string, Source>;
}

const DATA = path.join(REPO_ROOT, 'charts/tools/testdata/upstream');
const SOURCES = JSON.parse(fs.readFileSync(path.join(DATA, 'sources.json'), 'utf8')) as Record<string, CaseSources>;
const REFUSED = new Set(UPSTREAM_REFUSALS.map((r) => r.case));
const CASES = Object.keys(SOURCES).filter((c) => !REFUSED.has(c)).sort();

const run = rendererAvailable('upstream comparison') ? describe : describe.skip;

function upstreamObjects(name: string): Json[] {
  const dir = path.join(DATA, name, 'rendered');
  return Object.keys(SOURCES[name]!.rendered)
    .sort()
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJSON() as Json | null))
    .filter((o): o is Json => o !== null);
}

function unexplained(name: string, differences: readonly string[]): string[] {
  return differences.filter((d) => !UPSTREAM_DIFFERENCES.some((e) => (!e.cases || e.cases.includes(name)) && e.match.test(d)));
}

describe('upstream comparison helpers', () => {
  test('normalise drops only version labels, image tags and checksum annotations', () => {
    const object = {
      metadata: { labels: { 'helm.sh/chart': 'alloy-1.0.0', 'app.kubernetes.io/version': 'v1', a: 'b' }, annotations: { 'checksum/config': 'x', keep: 'y' } },
      spec: { image: 'quay.io/org/reloader:v0.91.0@sha256:7d9e', other: 'registry:5000/x:1' },
    };
    expect(normalise(object)).toStrictEqual({ metadata: { labels: { a: 'b' }, annotations: { keep: 'y' } }, spec: { image: 'quay.io/org/reloader', other: 'registry:5000/x:1' } });
    expect(imageWithoutTag('registry:5000/org/alloy')).toBe('registry:5000/org/alloy');
    expect(imageWithoutTag('registry:5000/org/alloy:v1')).toBe('registry:5000/org/alloy');
  });

  test('diff matches named list items by name and reports values, extras and order', () => {
    expect(diff({ env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }, { env: [{ name: 'B', value: '2' }, { name: 'A', value: '3' }, { name: 'C' }] })).toStrictEqual([
      'env[A].value: upstream "1", ours "3"',
      'env[C]: only in ours {"name":"C"}',
    ]);
    expect(diff({ l: [{ name: 'A' }, { name: 'B' }] }, { l: [{ name: 'B' }, { name: 'A' }] })).toStrictEqual(['l: order upstream ["A","B"], ours ["B","A"]']);
    expect(diff({ a: 1 }, { b: 1 })).toStrictEqual(['a: only in upstream 1', 'b: only in ours 1']);
  });

  test('RBAC rules compare by what they grant, not by how they are grouped', () => {
    expect(grants([{ apiGroups: ['', 'apps'], resources: ['pods'], verbs: ['get'] }, { nonResourceURLs: ['/metrics'], verbs: ['get'] }])).toStrictEqual(['/metrics:get', 'apps/pods:get', 'core/pods:get']);
    const role = (rules: unknown[]): Record<string, unknown> => ({ kind: 'ClusterRole', metadata: { name: 'a' }, rules });
    expect(compareObjects([role([{ apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get'] }])], [role([{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }, { apiGroups: [''], resources: ['pods'], verbs: ['get'] }])])).toStrictEqual([]);
    expect(compareObjects([role([{ apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] }])], [role([])])).toStrictEqual(['ClusterRole/a:rules: grant only in upstream core/nodes/proxy:get']);
  });

  test('an object upstream renders and this chart does not is a difference', () => {
    expect(compareObjects([{ kind: 'Gateway', metadata: { name: 'alloy' } }], [])).toStrictEqual(['Gateway/alloy: not rendered by this chart']);
  });

  test('every documented difference is in the chart README with its reason', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'charts/alloy/README.md'), 'utf8');
    for (const d of UPSTREAM_DIFFERENCES) expect(readme).toContain(d.reason);
    for (const r of UPSTREAM_REFUSALS) expect(readme).toContain(r.reason);
    for (const r of UPSTREAM_INVALID_VALUES) expect(readme).toContain(r.reason);
  });
});

run('the upstream chart test cases (charts/tools/testdata/upstream)', () => {
  const results = new Map<string, { compared: boolean; identical: boolean; unexplained: string[] }>();

  afterAll(() => {
    const compared = [...results.values()].filter((r) => r.compared);
    const identical = compared.filter((r) => r.identical).length;
    const explained = compared.filter((r) => r.unexplained.length === 0).length;
    console.log(
      `upstream cases: ${compared.length} compared; ${identical} equal object for object; ${explained} equal apart from documented differences; ${compared.length - explained} with undocumented differences; ` +
        `${results.size - compared.length} rendered and schema-checked only (no upstream output in the index was rendered from their values)`,
    );
  });

  test.each(UPSTREAM_REFUSALS.map((r) => [r.case, r] as const))('%s is refused with its documented message', (name, r) => {
    expect(SOURCES[name]).toBeDefined();
    const res = helmTemplate(['alloy', 'charts/alloy', '-f', path.join(DATA, name, 'values.yaml')]);
    expect(res.status).not.toBe(0);
    expect(res.stderr).toMatch(r.message);
  });

  test('every vendored case names the upstream commit of each file it holds', () => {
    for (const name of Object.keys(SOURCES)) {
      const s = SOURCES[name]!;
      const dir = path.join(DATA, name, 'rendered');
      const files = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
      expect(Object.keys(s.rendered).sort()).toStrictEqual(files);
      // A case whose rendered outputs are not in the index is rendered and schema-checked only.
      expect(files.length > 0 || s.values !== null).toBe(true);
      expect(fs.existsSync(path.join(DATA, name, 'values.yaml'))).toBe(true);
      // Values come from upstream's ci file, from grafana-agent's (the chart alloy forked), or are read back from an output.
      if (s.reconstructed) {
        expect(s.values).toBeNull();
        expect(Object.keys(s.rendered)).toContain(s.reconstructed.from);
        expect(s.reconstructed.how.length).toBeGreaterThan(0);
      }
      if (s.values?.repo === 'grafana/agent') {
        expect(s.values.path).toBe(`operations/helm/charts/grafana-agent/ci/${name}-values.yaml`);
      } else if (s.values) {
        expect(s.values.adapted).toBeUndefined();
        expect(s.values.repo).toBe('grafana/alloy');
        expect(s.values.path).toBe(`operations/helm/charts/alloy/ci/${name}-values.yaml`);
      }
      for (const src of [...(s.values ? [s.values] : []), ...Object.values(s.rendered)]) expect(src.commit).toMatch(/^[0-9a-f]{40}$/);
      for (const src of Object.values(s.rendered)) {
        expect(src.repo).toBe('grafana/alloy');
        expect(src.path).toMatch(new RegExp(`^operations/helm/tests/${name}/alloy/templates/.+\\.yaml$`));
      }
    }
  });

  test.each(CASES)('%s renders what upstream renders, apart from documented differences', async (name) => {
    const out = helmTemplateOk(['alloy', 'charts/alloy', '-f', path.join(DATA, name, 'values.yaml')]);
    const ours = parseManifests(out).map((m) => m.object);
    const differences = compareObjects(upstreamObjects(name), ours);
    const left = unexplained(name, differences);
    results.set(name, { compared: Object.keys(SOURCES[name]!.rendered).length > 0, identical: differences.length === 0, unexplained: left });
    expect(left).toStrictEqual([]);
    for (const object of ours) {
      const result = await validateObject(object);
      if (result.checked) expect({ kind: object['kind'], errors: result.errors }).toStrictEqual({ kind: object['kind'], errors: [] });
    }
  });

  test('every documented difference still occurs in some case (no stale entries)', () => {
    const all = CASES.flatMap((name) => {
      const ours = parseManifests(helmTemplateOk(['alloy', 'charts/alloy', '-f', path.join(DATA, name, 'values.yaml')])).map((m) => m.object);
      return compareObjects(upstreamObjects(name), ours).map((d) => ({ name, d }));
    });
    for (const e of UPSTREAM_DIFFERENCES) expect({ id: e.id, used: all.some(({ name, d }) => (!e.cases || e.cases.includes(name)) && e.match.test(d)) }).toStrictEqual({ id: e.id, used: true });
  });
});
