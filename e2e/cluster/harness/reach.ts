/**
 * Reaching a pod's port from a test, the same way on every cluster kind: on the dev cluster pods
 * listen on their own loopback IPs and on `useCluster({ apiserver: 'real' })` on `10.N` addresses
 * of the node's bridge, both routable from the test process, so the URL is
 * `http://<podIP>:<port>` (a Service: a ready endpoint's address and target port); on an external
 * cluster (`KUBECONFIG`) the helper runs `kubectl port-forward` and returns the forwarded local
 * URL. Always call `close()`.
 */
import { spawn } from 'node:child_process';
import { KUBECTL } from './kubectl.js';
import type { TestCluster } from './cluster.js';
import type { Pod } from './k8s-types.js';

export interface Reach {
  readonly url: string;
  close(): void;
}

/** `target` is `pod/<name>` or `svc/<name>` (services: a ready endpoint is picked on the dev cluster). */
export async function reach(cluster: TestCluster, namespace: string, target: string, port: number): Promise<Reach> {
  const [kind, name] = target.split('/') as [string, string];
  if ((cluster.local || cluster.real) && kind === 'pod') {
    const pod = JSON.parse(await cluster.kubectl(['-n', namespace, 'get', 'pod', name, '-o', 'json'])) as Pod;
    if (!pod.status?.podIP) throw new Error(`pod ${namespace}/${name} has no IP yet (phase ${pod.status?.phase ?? 'unknown'})`);
    return { url: `http://${pod.status.podIP}:${port}`, close: () => undefined };
  }
  if (cluster.real) return { url: `http://${await readyEndpoint(cluster, namespace, name, port)}`, close: () => undefined };
  if (cluster.local) {
    const table = cluster.local.kubelet.dnsTable();
    const fqdn = `${name}.${namespace}.svc.cluster.local`;
    const ips = table.names[fqdn];
    if (!ips || ips.length === 0) throw new Error(`service ${namespace}/${name} has no ready endpoints`);
    const backends = table.services[ips[0]!]?.ports[String(port)];
    if (backends) {
      if (backends.length === 0) throw new Error(`service ${namespace}/${name} port ${port} has no ready endpoints`);
      const [ip, targetPort] = backends[0]!;
      return { url: `http://${ip}:${targetPort}`, close: () => undefined };
    }
    return { url: `http://${ips[0]}:${port}`, close: () => undefined };
  }
  const child = spawn(KUBECTL, ['-n', namespace, 'port-forward', target, `:${port}`], { env: { ...process.env, KUBECONFIG: cluster.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`kubectl port-forward ${target}: no forwarding line after 20s: ${out}`)), 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`kubectl port-forward ${target} exited ${code}: ${out}`)));
  });
  return { url, close: () => child.kill('SIGTERM') };
}

/** `ip:targetPort` of a ready endpoint of Service `name` for its port `port` (the Endpoints the real controller wrote). */
async function readyEndpoint(cluster: TestCluster, namespace: string, name: string, port: number): Promise<string> {
  const svc = JSON.parse(await cluster.kubectl(['-n', namespace, 'get', 'service', name, '-o', 'json'])) as { spec: { ports?: Array<{ name?: string; port: number }> } };
  const svcPort = svc.spec.ports?.find((p) => p.port === port);
  if (!svcPort) throw new Error(`service ${namespace}/${name} has no port ${port}`);
  const ep = JSON.parse(await cluster.kubectl(['-n', namespace, 'get', 'endpoints', name, '-o', 'json'])) as {
    subsets?: Array<{ addresses?: Array<{ ip: string }>; ports?: Array<{ name?: string; port: number }> }>;
  };
  for (const subset of ep.subsets ?? []) {
    const target = subset.ports?.find((p) => (p.name ?? '') === (svcPort.name ?? ''));
    const ip = subset.addresses?.[0]?.ip;
    if (target && ip) return `${ip}:${target.port}`;
  }
  throw new Error(`service ${namespace}/${name} port ${port} has no ready endpoints`);
}
