import { decodeCollector, type Collector } from '../api/v1alpha1/collector-types.js';
import { renderCollector } from '../render/collector-chart.js';
import { APPLIED_HASH_ANNOTATION, appliedRecord, applyReason, sameFieldSet, stableJson, unchangedSinceApplied, withAppliedHash } from './desired-state.js';

function decoded(spec: Record<string, unknown>): Collector {
  const d = decodeCollector({ metadata: { name: 'm', namespace: 'obs', uid: 'u-1', generation: 1 }, spec });
  if (!d.ok) throw new Error(d.message);
  return d.collector;
}

/** FieldsV1 as kube-apiserver writes it for a StatefulSet applied with a keyed container list. */
const SERVER_FIELDS = {
  'f:metadata': { 'f:labels': { 'f:app': {} }, 'f:annotations': { [`f:${APPLIED_HASH_ANNOTATION}`]: {} } },
  'f:spec': {
    'f:template': {
      'f:spec': {
        'f:containers': {
          'k:{"name":"alloy"}': { '.': {}, 'f:name': {}, 'f:args': {}, 'f:ports': { 'k:{"containerPort":12345,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:name': {} } } },
        },
        'f:tolerations': {},
        'f:emptyDirs': {},
      },
    },
    'f:finalizers': { 'v:"a"': {} },
  },
};

function desired(extra: Record<string, unknown> = {}, container: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'x', namespace: 'ns', labels: { app: 'a' }, annotations: { [APPLIED_HASH_ANNOTATION]: 'h' } },
    spec: {
      template: { spec: { containers: [{ name: 'alloy', args: ['run'], ports: [{ containerPort: 12345, name: 'http' }], ...container }], tolerations: [{ key: 'a' }], emptyDirs: {}, ...extra } },
      finalizers: ['a'],
    },
  };
}

describe('sameFieldSet', () => {
  it('GIVEN the fields the server recorded for the same object THEN they match (keys learned from k:/v:, defaulted key fields)', () => {
    expect(sameFieldSet(desired(), SERVER_FIELDS)).toBe(true);
  });
  it('GIVEN an added or a removed field THEN they differ', () => {
    expect(sameFieldSet(desired({ nodeSelector: { a: 'b' } }), SERVER_FIELDS)).toBe(false);
    expect(sameFieldSet(desired({}, { resources: { limits: { cpu: '1' } } }), SERVER_FIELDS)).toBe(false);
    const d = desired();
    delete (d.spec.template.spec as Record<string, unknown>)['tolerations'];
    expect(sameFieldSet(d, SERVER_FIELDS)).toBe(false);
  });
  it('GIVEN a keyed list item more or less THEN they differ', () => {
    const d = desired();
    d.spec.template.spec.containers.push({ name: 'sidecar' } as never);
    expect(sameFieldSet(d, SERVER_FIELDS)).toBe(false);
    expect(sameFieldSet({ ...desired(), spec: { ...desired().spec, finalizers: ['b'] } }, SERVER_FIELDS)).toBe(false);
  });
});

describe('applyReason', () => {
  const stamped = withAppliedHash(desired());
  const live = { ...stamped, metadata: { ...stamped.metadata, managedFields: [{ manager: 'alloy-operator', operation: 'Apply', fieldsV1: SERVER_FIELDS }] } };
  it('GIVEN the live object holds what was applied THEN no apply is needed', () => {
    expect(applyReason(stamped, live, 'alloy-operator')).toBeUndefined();
  });
  it('GIVEN no Apply entry of the manager THEN it applies', () => {
    expect(applyReason(stamped, { metadata: { ...live.metadata, managedFields: [] } }, 'alloy-operator')).toMatch(/no fields owned/);
  });
  it('GIVEN a value removed inside an atomic list THEN the applied hash differs', () => {
    const next = withAppliedHash(desired({ tolerations: [{}] }));
    expect(next.metadata.annotations[APPLIED_HASH_ANNOTATION]).not.toBe(stamped.metadata.annotations[APPLIED_HASH_ANNOTATION]);
    expect(applyReason(next, live, 'alloy-operator')).toBe('desired object changed');
  });
});

describe('unchangedSinceApplied (metadata-only decisions)', () => {
  const hash = { 'alloy.dev/applied-hash': 'h1' };
  const answer = (kind: string, extra: Record<string, unknown> = {}) => ({ kind, metadata: { uid: 'u', resourceVersion: '10', generation: 2, labels: { a: 'b' }, annotations: hash, ...extra } });
  it.each([
    ['the resourceVersion the apply answered with', 'ConfigMap', {}, true],
    ['the resourceVersion the apply replaced (the cache has not seen the apply yet)', 'ConfigMap', { resourceVersion: '9' }, true],
    ['any other resourceVersion (someone wrote it)', 'ConfigMap', { resourceVersion: '11' }, false],
    ['another object of the same name (deleted and re-created)', 'ConfigMap', { uid: 'v' }, false],
    ['another applied hash', 'ConfigMap', { annotations: { 'alloy.dev/applied-hash': 'h2' } }, false],
    ['a StatefulSet whose status moved the resourceVersion', 'StatefulSet', { resourceVersion: '12' }, true],
    ['a StatefulSet whose spec someone changed (generation)', 'StatefulSet', { resourceVersion: '12', generation: 3 }, false],
    ['a StatefulSet whose labels someone changed', 'StatefulSet', { resourceVersion: '12', labels: { a: 'c' } }, false],
    ['a ServiceAccount whose token Secret the controller added', 'ServiceAccount', { resourceVersion: '12' }, true],
    ['a ServiceAccount whose annotations someone changed', 'ServiceAccount', { resourceVersion: '12', annotations: { ...hash, 'alloy.dev/granted-access': 'x' } }, false],
  ])('%s', (_what, kind, live, unchanged) => {
    const record = appliedRecord(answer(kind), '9')!;
    expect(unchangedSinceApplied(kind, answer(kind, live), record)).toBe(unchanged);
  });
});

/** The definition applied hashes were computed with: every plain object rebuilt from its entries sorted by code unit. */
function stableJsonReference(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );
}

describe('stableJson', () => {
  /** Deterministic pseudo-random values covering what JSON.stringify treats specially. */
  function randomValue(seed: { n: number }, depth: number): unknown {
    const next = (): number => ((seed.n = (seed.n * 1103515245 + 12345) % 2 ** 31), seed.n / 2 ** 31);
    const keys = ['a', 'B', 'b', '_', 'z', 'é', '😀', 'ﬀ', '0', '1', '2', '10', '01', '-1', '4294967294', '4294967295', '1e3', '', 'toJSON2', '__proto__x'];
    const leaves: unknown[] = [0, -0, 1.5, NaN, Infinity, 'x', 'line\nbreak', '\ud800', true, false, null, undefined, () => 1, Symbol('s'), new Date(0)];
    const r = next();
    if (depth <= 0 || r < 0.35) return leaves[Math.floor(next() * leaves.length)];
    if (r < 0.6) return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(seed, depth - 1));
    if (r < 0.63) return { toJSON: (k: string) => ({ key: k, v: 1 }) };
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(next() * 6); i > 0; i--) o[keys[Math.floor(next() * keys.length)]!] = randomValue(seed, depth - 1);
    return o;
  }

  it('is character for character the sorted-replacer JSON.stringify that applied hashes were defined with', () => {
    const seed = { n: 42 };
    for (let i = 0; i < 3000; i++) {
      const v = randomValue(seed, 5);
      expect(stableJson(v)).toBe(stableJsonReference(v));
    }
  });

  it('orders integer-like keys numerically first, then the others by code unit, and drops undefined members', () => {
    expect(stableJson({ b: 1, 10: 2, a: undefined, 2: [undefined, 3], é: 4, B: 5 })).toBe('{"2":[null,3],"10":2,"B":5,"b":1,"é":4}');
  });

  it('gives rendered objects the applied hash the reference gives them', () => {
    const objects = renderCollector({ collector: decoded({ config: 'logging {}\n', replicas: 2, podDisruptionBudget: { minAvailable: 1 }, ports: [{ name: 'otlp', port: 4317 }] }), defaultImage: 'img:1', config: 'logging {}\n' });
    for (const o of objects) expect(stableJson(o)).toBe(stableJsonReference(o));
  });
});
