import { cacheTransform, intern } from './cache-transform.js';
import type { KubeObject } from './kube-api.js';

const managedFields = [
  { manager: 'alloy-operator', operation: 'Apply', fieldsV1: { 'f:spec': {} }, time: '2026-01-01T00:00:00Z' },
  { manager: 'alloy-operator', operation: 'Apply', subresource: 'status', fieldsV1: { 'f:status': {} } },
  { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': {} } },
  { manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:metadata': {} } },
];
const annotations = { 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":true}', keep: 'me' };

describe('cacheTransform', () => {
  const ownEntry = { manager: 'alloy-operator', operation: 'Apply', time: '2026-01-01T00:00:00Z' };

  it('GIVEN an owned object of a metadata-only kind THEN only its metadata stays: our own Apply entry without fieldsV1, no last-applied copy', () => {
    const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'ns', uid: 'u', resourceVersion: '7', managedFields, annotations }, spec: { clusterIP: '10.0.0.1' }, status: { loadBalancer: {} } };
    expect(cacheTransform('Service', 'alloy-operator', true)(svc)).toStrictEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', namespace: 'ns', uid: 'u', resourceVersion: '7', annotations: { keep: 'me' }, managedFields: [ownEntry] },
    });
    expect(svc.metadata.annotations).toBe(annotations); // input untouched
    // What a PartialObjectMetadata watch delivers comes out the same.
    const partial: KubeObject = { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: svc.metadata };
    expect(cacheTransform('Service', 'alloy-operator', true)({ ...partial, apiVersion: 'v1', kind: 'Service' })).toStrictEqual(cacheTransform('Service', 'alloy-operator', true)(svc));
  });

  it('GIVEN a StatefulSet THEN its status stays (rollout state) and its spec goes', () => {
    const sts: KubeObject = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', managedFields }, spec: { replicas: 2 }, status: { readyReplicas: 1 } };
    const out = cacheTransform('StatefulSet', 'alloy-operator')(sts);
    expect(out).toStrictEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', managedFields: [ownEntry] }, status: { readyReplicas: 1 } });
  });

  it('GIVEN a ConfigMap a Collector references (not metadata-only) THEN its data stays and managedFields go', () => {
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', managedFields, annotations }, data: { 'config.alloy': 'x' } };
    expect(cacheTransform('ConfigMap', 'alloy-operator')(cm)).toStrictEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', annotations: { keep: 'me' } }, data: { 'config.alloy': 'x' } });
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


describe('intern', () => {
  // Sharing itself is not observable from JavaScript (strings compare by value); the heap snapshot
  // of bench/operator-scale.ts shows it. These check that interning changes no value.
  it('GIVEN label values, namespaces and owner kinds parsed from two objects THEN the cached values are unchanged', () => {
    const parse = () => JSON.parse('{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"team-1","labels":{"app.kubernetes.io/managed-by":"alloy-operator"},"ownerReferences":[{"apiVersion":"alloy.dev/v1alpha1","kind":"Collector","name":"c","uid":"u"}]}}') as KubeObject;
    const t = cacheTransform('Service', 'alloy-operator', true);
    const a = t(parse());
    const b = t(parse());
    expect(a).toStrictEqual(b);
    expect(a.metadata.labels).toStrictEqual({ 'app.kubernetes.io/managed-by': 'alloy-operator' });
    expect(a.metadata.namespace).toBe('team-1');
    expect(a.metadata.ownerReferences).toStrictEqual([{ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', name: 'c', uid: 'u' }]);
    expect(intern('x'.repeat(3))).toBe('xxx');
  });
});
