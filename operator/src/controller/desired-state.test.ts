import { APPLIED_HASH_ANNOTATION, appliedRecord, applyReason, sameFieldSet, unchangedSinceApplied, withAppliedHash } from './desired-state.js';

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
