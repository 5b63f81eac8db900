import { cacheTransform } from './cache-transform.js';
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

  it('GIVEN a pod THEN no spec and only the status fields the reconciler reads; a Collector keeps spec and status but no managedFields', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns', labels: { a: 'b' }, managedFields, annotations: { 'alloy.dev/config-hash': 'h' } },
      spec: { containers: [{ name: 'alloy', image: 'x' }] },
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
      status: { phase: 'Running', podIP: '10.1.1.1', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'alloy', ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } } }] },
    });
    const collector: KubeObject = { apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name: 'c', managedFields, generation: 2 }, spec: { replicas: 1 }, status: { observedGeneration: 1 } };
    expect(cacheTransform('Collector', 'alloy-operator')(collector)).toStrictEqual({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name: 'c', generation: 2 }, spec: { replicas: 1 }, status: { observedGeneration: 1 } });
  });
});
