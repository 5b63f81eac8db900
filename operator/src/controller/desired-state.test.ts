import { APPLIED_HASH_ANNOTATION, applyReason, sameFieldSet, withAppliedHash } from './desired-state.js';

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
