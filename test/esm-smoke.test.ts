// Proves the Jest setup loads ESM-only dependencies the way production does.
import * as k8s from '@kubernetes/client-node';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

describe('ESM loading under Jest', () => {
  it('loads @kubernetes/client-node 2.x (ESM-only) and builds a client from a kubeconfig', () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const api = kc.makeApiClient(k8s.CoreV1Api);
    expect(api).toBeInstanceOf(k8s.CoreV1Api);
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it('synthesizes a cdk8s-plus-28 ConfigMap', () => {
    const app = new App();
    const chart = new Chart(app, 'smoke');
    new kplus.ConfigMap(chart, 'cm', { data: { 'config.alloy': 'logging {}' } });
    const [obj] = chart.toJson() as Array<{ kind: string; data: Record<string, string> }>;
    expect(obj.kind).toBe('ConfigMap');
    expect(obj.data['config.alloy']).toBe('logging {}');
  });
});
