import { parseArgs } from './dev-cluster.js';

describe('dev-cluster flags', () => {
  it('parses every flag in both --flag value and --flag=value forms', () => {
    expect(parseArgs(['--kubeconfig', 'k', '--port=7443', '--state-dir', 's', '--data-dir=d', '--config-sync-delay', '50', '--pod-ip-base=127.9', '--pod-sync-period', '1000', '--pod-sync-jitter=0.25'])).toEqual({
      kubeconfigPath: 'k', port: 7443, stateDir: 's', dataDir: 'd', configSyncDelayMs: 50, ipBase: '127.9', podSyncPeriodMs: 1000, podSyncJitter: 0.25,
    });
  });

  it('names the problem and the fix for bad input', () => {
    expect(() => parseArgs(['--nope'])).toThrow(/unknown flag "--nope"\nusage: dev-cluster/);
    expect(() => parseArgs(['--kubeconfig'])).toThrow(/--kubeconfig needs a value/);
    expect(() => parseArgs(['--pod-ip-base=10.0'])).toThrow(/must look like 127.N/);
    expect(() => parseArgs(['--port', 'abc'])).toThrow(/--port must be a whole number, got "abc"/);
    expect(() => parseArgs(['--pod-sync-period=0'])).toThrow(/--pod-sync-period must be > 0/);
    expect(() => parseArgs(['--pod-sync-jitter=-1'])).toThrow(/--pod-sync-jitter must be a factor/);
    expect(() => parseArgs(['--apiserver=k3s'])).toThrow(/--apiserver must be "test" \(our API server\) or "real" \(etcd \+ the real kube-apiserver\), got "k3s"/);
    expect(() => parseArgs(['--apiserver=real', '--port=7443'])).toThrow(/--port and --data-dir apply to the test API server only/);
  });

  it('selects the API server', () => {
    expect(parseArgs(['--apiserver', 'real', '--pod-sync-period=500'])).toEqual({ apiserver: 'real', podSyncPeriodMs: 500 });
    expect(parseArgs(['--apiserver=test', '--port=0'])).toEqual({ apiserver: 'test', port: 0 });
  });
});
