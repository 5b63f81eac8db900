import { createHash } from 'node:crypto';
import { labelsFromRecord, labelsToRecord } from '../labels/labels.js';
import { compileRules, goCase, hashmod, parseTemplate, processLabels, validateRelabelConfig, withDefaults, type RelabelConfig } from './relabel.js';
import { relabelRuleSchema } from './schema.js';

type Case = { name: string; input: Record<string, string>; rules: Partial<RelabelConfig>[]; output?: Record<string, string> };

// Ported from prometheus/prometheus model/relabel/relabel_test.go TestRelabel, plus regex-flag cases.
const cases: Case[] = [
  { name: 'replace with ${1}', input: { a: 'foo', b: 'bar', c: 'baz' }, rules: [{ source_labels: ['a'], regex: 'f(.*)', target_label: 'd', replacement: 'ch${1}-ch${1}' }], output: { a: 'foo', b: 'bar', c: 'baz', d: 'choo-choo' } },
  {
    name: 'multi-source replace chain',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: [
      { source_labels: ['a', 'b'], regex: 'f(.*);(.*)r', target_label: 'a', replacement: 'b${1}${2}m' },
      { source_labels: ['c', 'a'], regex: '(b).*b(.*)ba(.*)', target_label: 'd', replacement: '$1$2$2$3' },
    ],
    output: { a: 'boobam', b: 'bar', c: 'baz', d: 'boooom' },
  },
  { name: 'drop stops processing', input: { a: 'foo' }, rules: [{ source_labels: ['a'], regex: '.*o.*', action: 'drop' }, { source_labels: ['a'], regex: 'f(.*)', target_label: 'd', replacement: 'ch$1-ch$1' }] },
  { name: 'drop', input: { a: 'foo', b: 'bar' }, rules: [{ source_labels: ['a'], regex: '.*o.*', action: 'drop' }] },
  { name: 'replace group in middle', input: { a: 'abc' }, rules: [{ source_labels: ['a'], regex: '.*(b).*', target_label: 'd', replacement: '$1' }], output: { a: 'abc', d: 'b' } },
  { name: 'drop no match', input: { a: 'foo' }, rules: [{ source_labels: ['a'], regex: 'no-match', action: 'drop' }], output: { a: 'foo' } },
  { name: 'drop is anchored', input: { a: 'foo' }, rules: [{ source_labels: ['a'], regex: 'f|o', action: 'drop' }], output: { a: 'foo' } },
  { name: 'keep no match', input: { a: 'foo' }, rules: [{ source_labels: ['a'], regex: 'no-match', action: 'keep' }] },
  { name: 'keep match', input: { a: 'foo' }, rules: [{ source_labels: ['a'], regex: 'f.*', action: 'keep' }], output: { a: 'foo' } },
  { name: 'replace without match does nothing', input: { a: 'boo' }, rules: [{ source_labels: ['a'], regex: 'f', target_label: 'b', replacement: 'bar' }], output: { a: 'boo' } },
  { name: 'hashmod (Prometheus value 976)', input: { a: 'foo', b: 'bar', c: 'baz' }, rules: [{ source_labels: ['c'], target_label: 'd', action: 'hashmod', modulus: 1000 }], output: { a: 'foo', b: 'bar', c: 'baz', d: '976' } },
  { name: 'hashmod with newline (Prometheus value 734)', input: { a: 'foo\nbar' }, rules: [{ source_labels: ['a'], target_label: 'b', action: 'hashmod', modulus: 1000 }], output: { a: 'foo\nbar', b: '734' } },
  { name: 'labelmap ${1}', input: { a: 'foo', b1: 'bar', b2: 'baz' }, rules: [{ regex: '(b.*)', replacement: 'bar_${1}', action: 'labelmap' }], output: { a: 'foo', b1: 'bar', b2: 'baz', bar_b1: 'bar', bar_b2: 'baz' } },
  { name: 'labelmap meta', input: { a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc' }, rules: [{ regex: '__meta_(my.*)', replacement: '${1}', action: 'labelmap' }], output: { a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc', my_bar: 'aaa', my_baz: 'bbb' } },
  { name: 'target from group', input: { a: 'some-name-value' }, rules: [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', replacement: '${2}', target_label: '${1}' }], output: { a: 'some-name-value', name: 'value' } },
  { name: 'empty replacement deletes nothing absent', input: { a: 'some-name-value' }, rules: [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', replacement: '${3}', target_label: '${1}' }], output: { a: 'some-name-value' } },
  {
    name: 'invalid target labels after expansion are skipped',
    input: { a: 'some-name-0' },
    rules: [
      { source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '${3}' },
      { source_labels: ['a'], regex: 'some-([^-]+)(-[^,]+)', replacement: '${1}', target_label: '${3}' },
      { source_labels: ['a'], regex: 'some-(.*)', replacement: 'x', target_label: '${1}' },
    ],
    output: { a: 'some-name-0' },
  },
  {
    name: 'real-life tags',
    input: { __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar' },
    rules: [
      { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)path:(/[^,]+).*', replacement: '${1}', target_label: '__metrics_path__' },
      { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)job:([^,]+).*', replacement: '${1}', target_label: 'job' },
      { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)label:([^=]+)=([^,]+).*', replacement: '${2}', target_label: '${1}' },
    ],
    output: { __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar', __metrics_path__: '/secret', job: 'some-job', foo: 'bar' },
  },
  {
    name: 'prometheus#12283',
    input: { __meta_kubernetes_pod_container_port_name: 'foo', __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091' },
    rules: [
      { regex: '^__meta_kubernetes_pod_container_port_name$', action: 'labeldrop' },
      { source_labels: ['__meta_kubernetes_pod_annotation_XXX_metrics_port'], regex: '(.+)', replacement: 'metrics', target_label: '__meta_kubernetes_pod_container_port_name' },
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: '^metrics$', action: 'keep' },
    ],
    output: { __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091', __meta_kubernetes_pod_container_port_name: 'metrics' },
  },
  { name: 'labelkeep', input: { a: 'foo', b1: 'bar', b2: 'baz' }, rules: [{ regex: '(b.*)', action: 'labelkeep' }], output: { b1: 'bar', b2: 'baz' } },
  { name: 'labeldrop', input: { a: 'foo', b1: 'bar', b2: 'baz' }, rules: [{ regex: '(b.*)', action: 'labeldrop' }], output: { a: 'foo' } },
  {
    name: 'upper/lowercase',
    input: { foo: 'bAr123Foo' },
    rules: [{ source_labels: ['foo'], action: 'uppercase', target_label: 'foo_uppercase' }, { source_labels: ['foo'], action: 'lowercase', target_label: 'foo_lowercase' }],
    output: { foo: 'bAr123Foo', foo_lowercase: 'bar123foo', foo_uppercase: 'BAR123FOO' },
  },
  { name: 'keepequal keeps', input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' }, rules: [{ source_labels: ['__tmp_port'], action: 'keepequal', target_label: '__port1' }], output: { __tmp_port: '1234', __port1: '1234', __port2: '5678' } },
  { name: 'dropequal drops', input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' }, rules: [{ source_labels: ['__tmp_port'], action: 'dropequal', target_label: '__port1' }] },
  { name: 'dropequal keeps', input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' }, rules: [{ source_labels: ['__tmp_port'], action: 'dropequal', target_label: '__port2' }], output: { __tmp_port: '1234', __port1: '1234', __port2: '5678' } },
  { name: 'keepequal drops', input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' }, rules: [{ source_labels: ['__tmp_port'], action: 'keepequal', target_label: '__port2' }] },
  // Beyond the Prometheus table.
  { name: '(?i) keep', input: { __name__: 'HTTP_Requests_Total' }, rules: [{ source_labels: ['__name__'], regex: '(?i)http_requests_.*', action: 'keep' }], output: { __name__: 'HTTP_Requests_Total' } },
  { name: 'scoped (?i:) drop', input: { env: 'PROD-eu' }, rules: [{ source_labels: ['env'], regex: '(?i:prod)-EU', action: 'drop' }], output: { env: 'PROD-eu' } },
  { name: 'named group expansion', input: { addr: '10.0.0.1:9100' }, rules: [{ source_labels: ['addr'], regex: '(?P<host>[^:]+):(?P<port>\\d+)', target_label: 'host', replacement: '${host}/$port' }], output: { addr: '10.0.0.1:9100', host: '10.0.0.1/9100' } },
  { name: '$1x is group "1x" (empty), $$ is a dollar', input: { a: 'v' }, rules: [{ source_labels: ['a'], regex: '(.*)', target_label: 'b', replacement: '$1x|$$|${1}x|$' }], output: { a: 'v', b: '|$|vx|$' } },
  { name: 'default replace of empty value sets constant', input: { a: 'x' }, rules: [{ source_labels: ['missing'], target_label: 'c', replacement: 'const' }], output: { a: 'x', c: 'const' } },
  { name: 'replace to empty deletes target', input: { a: 'x', b: 'y' }, rules: [{ source_labels: ['missing'], target_label: 'b' }], output: { a: 'x' } },
  { name: 'default regex does not match newline', input: { a: 'x\ny' }, rules: [{ source_labels: ['a'], target_label: 'b' }], output: { a: 'x\ny' } },
  {
    name: 'kubernetes annotation port rewrite (lazy + optional group)',
    input: { __address__: '10.1.2.3:8080', __meta_kubernetes_pod_annotation_prometheus_io_port: '9102' },
    rules: [{ source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'], regex: '(.+?)(?::\\d+)?;(\\d+)', replacement: '$1:$2', target_label: '__address__' }],
    output: { __address__: '10.1.2.3:9102', __meta_kubernetes_pod_annotation_prometheus_io_port: '9102' },
  },
  {
    name: 'kubernetes keep on annotation with [[:alpha:]] class',
    input: { __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true' },
    rules: [{ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: '[[:alpha:]]+', action: 'keep' }],
    output: { __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true' },
  },
  { name: 'all labels removed means dropped', input: { a: 'x' }, rules: [{ regex: 'a', action: 'labeldrop' }] },
];

describe('relabel: Prometheus relabel_test table', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const rules = compileRules(c.rules.map(withDefaults));
    const res = processLabels(labelsFromRecord(c.input), rules);
    if (c.output === undefined) expect(res).toBeNull();
    else {
      expect(res).not.toBeNull();
      expect(labelsToRecord(res!)).toEqual(c.output);
      const names = res!.map((l) => l.name);
      expect(names).toEqual([...names].sort());
    }
  });

  it('returns the input object itself when nothing changed', () => {
    const ls = labelsFromRecord({ a: 'foo' });
    expect(processLabels(ls, compileRules([withDefaults({ source_labels: ['a'], regex: 'f.*', action: 'keep' })]))).toBe(ls);
  });
});

describe('relabel: lowercase/uppercase follow Go strings.ToLower/ToUpper', () => {
  it('maps rune by rune without expanding characters', () => {
    expect(goCase('Straße', true)).toBe('STRAßE');
    expect(goCase('İSTANBUL', false)).toBe('istanbul');
    expect(goCase('ΣΊΣΥΦΟΣ', false)).toBe('σίσυφοσ');
    expect(goCase('MiXeD_123', false)).toBe('mixed_123');
  });
});

describe('relabel: hashmod', () => {
  it('matches Prometheus for known inputs', () => {
    expect(hashmod('baz', 1000n)).toBe('976');
    expect(hashmod('foo\nbar', 1000n)).toBe('734');
  });

  it('small-modulus arithmetic equals the 64-bit BigInt result', () => {
    for (const m of [1n, 2n, 7n, 1000n, 65_537n, (1n << 20n) - 3n, 1n << 20n]) {
      for (let i = 0; i < 200; i++) {
        const v = `10.0.${i}.${i * 7}:9100`;
        const hex = createHash('md5').update(v).digest('hex');
        expect([v, m, hashmod(v, m)]).toEqual([v, m, (BigInt('0x' + hex.slice(16)) % m).toString()]);
      }
    }
  });
});

describe('relabel: template parsing follows Go Regexp.Expand', () => {
  it('parses refs', () => {
    expect(parseTemplate('a$1b').parts).toEqual(['a', { name: '1b' }]);
    expect(parseTemplate('${1}b').parts).toEqual([1, 'b']);
    expect(parseTemplate('$$').constant).toBe('$');
    expect(parseTemplate('${').constant).toBe('${');
  });
});

describe('relabel: validation (Alloy messages)', () => {
  const v = (p: Partial<RelabelConfig>) => validateRelabelConfig(withDefaults(p));
  it.each([
    [{ action: '' as RelabelConfig['action'] }, 'relabel action cannot be empty'],
    [{ action: 'nope' as RelabelConfig['action'] }, 'unrecognized action type "nope"'],
    [{ action: 'replace' }, "requires 'target_label' value"],
    [{ action: 'lowercase' }, "requires 'target_label' value"],
    [{ action: 'lowercase', target_label: '${3}' }, ''],
    [{ action: 'replace', target_label: '0${3}' }, `"0\${3}" is invalid 'target_label'`],
    [{ action: 'replace', target_label: '-${3}' }, `"-\${3}" is invalid 'target_label' for replace action`],
    [{ action: 'hashmod', target_label: 'x' }, 'requires non-zero modulus'],
    [{ action: 'hashmod', target_label: '${1}', modulus: 2 }, "is invalid 'target_label' for hashmod action"],
    [{ action: 'labeldrop', target_label: 'x' }, "labeldrop action requires only 'regex', and no other fields"],
    [{ action: 'keepequal', target_label: 'x', regex: 'a' }, "keepequal action requires only 'source_labels' and 'target_label'"],
    [{ action: 'uppercase', target_label: 'x', replacement: 'y' }, "'replacement' can not be set for uppercase action"],
    [{ action: 'labelmap', replacement: '-x' }, `"-x" is invalid 'replacement' for labelmap action`],
    [{ action: 'keep', regex: '(a)\\1' }, "invalid 'regex'"],
  ] as Array<[Partial<RelabelConfig>, string]>)('%j → %s', (cfg, msg) => {
    const got = v(cfg);
    if (msg === '') expect(got).toBeUndefined();
    else expect(got).toContain(msg);
  });

  it('schema applies defaults and reports problems with the field path', () => {
    expect(relabelRuleSchema.parse({ target_label: 'x' })).toEqual({ separator: ';', regex: '(.*)', modulus: 0, target_label: 'x', replacement: '$1', action: 'replace' });
    const bad = relabelRuleSchema.safeParse({ action: 'hashmod', target_label: 'x' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.message).toContain('requires non-zero modulus');
    const badRe = relabelRuleSchema.safeParse({ action: 'keep', regex: '(?=x)' });
    expect(badRe.error!.issues[0]!.path).toEqual(['regex']);
    expect(badRe.error!.issues[0]!.message).toContain('lookahead');
    expect(relabelRuleSchema.safeParse({ acton: 'keep' }).success).toBe(false);
  });
});
