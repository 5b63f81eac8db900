import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { discoverPeers, parseDiscoverConfig, podAddrs, PORT_ANNOTATION } from './discover-peers.js';

const pod = (name: string, ip: string | undefined, extra: { phase?: string; ready?: string; ann?: string; hostIP?: string; ports?: Array<{ name: string; containerPort: number; hostPort?: number }> } = {}): V1Pod => ({
  metadata: { name, ...(extra.ann ? { annotations: { [PORT_ANNOTATION]: extra.ann } } : {}) },
  spec: { containers: [{ name: 'alloy', ports: extra.ports ?? [{ name: 'http-metrics', containerPort: 12345 }] }] },
  status: { phase: extra.phase ?? 'Running', ...(ip ? { podIP: ip } : {}), ...(extra.hostIP ? { hostIP: extra.hostIP } : {}), ...(extra.ready ? { conditions: [{ type: 'Ready', status: extra.ready }] } : {}) },
});

describe('--cluster.discover-peers', () => {
  it('parses go-discover key=value strings with quoted values', () => {
    expect([...parseDiscoverConfig('provider=k8s  label_selector="app=alloy, tier in (a,b)" namespace=mon')]).toEqual([
      ['provider', 'k8s'],
      ['label_selector', 'app=alloy, tier in (a,b)'],
      ['namespace', 'mon'],
    ]);
    expect(() => parseDiscoverConfig('provider=k8s oops')).toThrow(/expected key=value pairs.*near "oops"/);
  });

  it('selects running, ready pods with an IP, and takes the port from the annotation (name or number)', () => {
    const pods = [
      pod('a', '10.0.0.1'),
      pod('b', '10.0.0.2', { ready: 'False' }),
      pod('c', '10.0.0.3', { phase: 'Pending' }),
      pod('d', undefined),
      pod('e', '10.0.0.5', { ann: 'http-metrics' }),
      pod('f', '10.0.0.6', { ann: '7946' }),
      pod('g', '10.0.0.7', { ready: 'True', ann: 'no-such-port' }),
    ];
    expect(podAddrs(pods, false)).toEqual(['10.0.0.1', '10.0.0.5:12345', '10.0.0.6:7946']);
    expect(podAddrs([pod('h', '10.0.0.8', { hostIP: '192.0.2.8', ann: 'http-metrics', ports: [{ name: 'http-metrics', containerPort: 12345, hostPort: 30000 }] })], true)).toEqual(['192.0.2.8:30000']);
  });

  it('rejects other providers and unknown options with the fix named', () => {
    expect(() => discoverPeers('provider=aws tag_key=x')).toThrow(/provider "aws" is not supported.*--cluster.join-addresses/);
    expect(() => discoverPeers('provider=k8s colour=red', { KUBECONFIG: '/nonexistent' })).toThrow(/unknown k8s option "colour"/);
  });

  // The first `discover()` imports @kubernetes/client-node lazily; in a Jest worker that import is
  // transformed and linked on first use and took over 5 s on a loaded 2-core machine.
  it('lists pods through the Kubernetes API with the selectors (kubeconfig option)', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.url!);
      if (!req.url!.startsWith('/api/v1/namespaces/monitoring/pods')) {
        res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 403, message: 'forbidden' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [pod('alloy-0', '10.1.0.1'), pod('alloy-1', '10.1.0.2', { ready: 'False' })] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'discover-'));
    const kubeconfig = path.join(dir, 'config');
    await fs.writeFile(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${(server.address() as AddressInfo).port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    try {
      const discover = discoverPeers(`provider=k8s kubeconfig=${kubeconfig} namespace=monitoring label_selector="app.kubernetes.io/name=alloy"`);
      expect(await discover()).toEqual(['10.1.0.1']);
      expect(decodeURIComponent(seen[0]!)).toContain('labelSelector=app.kubernetes.io/name=alloy');
      const denied = discoverPeers(`provider=k8s kubeconfig=${kubeconfig} namespace=other`);
      await expect(denied()).rejects.toThrow(/discover-k8s: listing pods in namespace "other": HTTP 403/);
    } finally {
      server.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
