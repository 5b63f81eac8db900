import type { Pod } from '../harness/k8s-types.js';
import { podObjectReferences } from './referenced-objects.js';

describe('podObjectReferences', () => {
  it('lists every ConfigMap and Secret a pod reads, through volumes, projected sources and env', () => {
    const pod: Pod = {
      metadata: { name: 'p', namespace: 'ns' },
      spec: {
        volumes: [
          { name: 'a', configMap: { name: 'cm-vol' } },
          { name: 'b', secret: { secretName: 'sec-vol' } },
          { name: 'c', projected: { sources: [{ serviceAccountToken: { path: 'token' } }, { configMap: { name: 'kube-root-ca.crt' } }, { secret: { name: 'sec-proj' } }] } },
          { name: 'd', emptyDir: {} },
        ],
        initContainers: [{ name: 'i', envFrom: [{ configMapRef: { name: 'cm-from' } }, { secretRef: { name: 'sec-from' } }] }],
        containers: [{ name: 'm', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm-vol', key: 'k' } } }, { name: 'Y', valueFrom: { secretKeyRef: { name: 'sec-key', key: 'k' } } }, { name: 'Z', value: 'z' }] }],
      },
    };
    expect(podObjectReferences(pod)).toStrictEqual({
      configMaps: ['ns/cm-from', 'ns/cm-vol', 'ns/kube-root-ca.crt'],
      secrets: ['ns/sec-from', 'ns/sec-key', 'ns/sec-proj', 'ns/sec-vol'],
    });
  });
});
