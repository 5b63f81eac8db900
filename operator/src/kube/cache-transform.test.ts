import { cacheTransform, internFields } from './cache-transform.js';
import type { KubeObject } from './kube-api.js';

const managedFields = [
  { manager: 'alloy-operator', operation: 'Apply', fieldsV1: { 'f:spec': {} }, time: '2026-01-01T00:00:00Z' },
  { manager: 'alloy-operator', operation: 'Apply', subresource: 'status', fieldsV1: { 'f:status': {} } },
  { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': {} } },
  { manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:metadata': {} } },
];
const annotations = { 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":true}', keep: 'me' };

describe('cacheTransform', () => {
  it('GIVEN an owned object THEN only our own Apply entry and the annotations we read stay, and status goes', () => {
    const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'ns', managedFields, annotations }, spec: { clusterIP: '10.0.0.1' }, status: { loadBalancer: {} } };
    expect(cacheTransform('Service', 'alloy-operator')(svc)).toStrictEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', namespace: 'ns', annotations: { keep: 'me' }, managedFields: [managedFields[0]] },
      spec: { clusterIP: '10.0.0.1' },
    });
    expect(svc.metadata.annotations).toBe(annotations); // input untouched
  });

  it('GIVEN a StatefulSet THEN spec and status stay (drift check and rollout state)', () => {
    const sts: KubeObject = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', managedFields }, spec: { replicas: 2 }, status: { readyReplicas: 1 } };
    const out = cacheTransform('StatefulSet', 'alloy-operator')(sts);
    expect(out['spec']).toStrictEqual({ replicas: 2 });
    expect(out['status']).toStrictEqual({ readyReplicas: 1 });
    expect(out.metadata).toStrictEqual({ name: 's', managedFields: [managedFields[0]] });
  });

  it('GIVEN a pod THEN of its spec only the claim volumes, and only the status fields the reconciler reads; a Collector keeps spec and status but no managedFields', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns', labels: { a: 'b' }, managedFields, annotations: { 'alloy.dev/config-hash': 'h' } },
      spec: { containers: [{ name: 'alloy', image: 'x' }], volumes: [{ name: 'config', configMap: { name: 'c' } }, { name: 'data', persistentVolumeClaim: { claimName: 'data-p' } }] },
      status: {
        phase: 'Running',
        podIP: '10.1.1.1',
        hostIP: '10.0.0.9',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: 't' }],
        containerStatuses: [{ name: 'alloy', ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } }, imageID: 'sha', lastState: {} }],
      },
    };
    expect(cacheTransform('Pod', 'alloy-operator')(pod)).toStrictEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns', labels: { a: 'b' }, annotations: { 'alloy.dev/config-hash': 'h' } },
      spec: { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-p' } }] },
      status: { phase: 'Running', podIP: '10.1.1.1', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'alloy', ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } } }] },
    });
    expect(cacheTransform('Pod', 'alloy-operator')({ ...pod, spec: { containers: [{ name: 'alloy', image: 'x' }] } })['spec']).toBeUndefined();
    const collector: KubeObject = { apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name: 'c', managedFields, generation: 2 }, spec: { replicas: 1 }, status: { observedGeneration: 1 } };
    expect(cacheTransform('Collector', 'alloy-operator')(collector)).toStrictEqual({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name: 'c', generation: 2 }, spec: { replicas: 1 }, status: { observedGeneration: 1 } });
  });
});

describe('internFields', () => {
  const tree = (name: string): Record<string, unknown> => ({
    'f:metadata': { 'f:labels': { 'f:app': {}, '.': {} } },
    'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { [`k:{"name":"${name}"}`]: { '.': {}, 'f:image': {}, 'f:name': {} } } } }, 'f:replicas': {} },
  });

  it('GIVEN equal trees from two objects THEN the cached entries share one frozen instance, deeply equal to the input', () => {
    const t = cacheTransform('StatefulSet', 'alloy-operator');
    const mk = (n: string): KubeObject => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: n, managedFields: [{ manager: 'alloy-operator', operation: 'Apply', fieldsV1: tree('alloy') }] }, spec: {} });
    const a = t(mk('a')).metadata.managedFields as Array<{ fieldsV1: unknown }>;
    const b = t(mk('b')).metadata.managedFields as Array<{ fieldsV1: unknown }>;
    expect(a[0]!.fieldsV1).toStrictEqual(tree('alloy'));
    expect(a[0]!.fieldsV1).toBe(b[0]!.fieldsV1);
    expect(Object.isFrozen(a[0]!.fieldsV1)).toBe(true);
  });

  it('GIVEN trees that differ in one list key THEN they stay distinct and share their equal subtrees', () => {
    const x = internFields(tree('alloy')) as Record<string, Record<string, unknown>>;
    const y = internFields(tree('reloader')) as Record<string, Record<string, unknown>>;
    expect(x).not.toBe(y);
    expect(x).toStrictEqual(tree('alloy'));
    expect(y).toStrictEqual(tree('reloader'));
    expect(x['f:metadata']).toBe(y['f:metadata']);
    // A leaf `{}` and a node with children never collapse into each other.
    expect(internFields({ 'f:a': {} })).not.toBe(internFields({ 'f:a': { 'f:b': {} } }));
    expect(internFields({ 'f:a': {}, 'f:b': {} })).not.toBe(internFields({ 'f:ab': {} }));
  });
});
