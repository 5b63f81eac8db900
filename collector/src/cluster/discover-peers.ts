/**
 * `--cluster.discover-peers`: go-discover style provider strings, e.g.
 * `provider=k8s namespace=monitoring label_selector="app.kubernetes.io/name=alloy"`.
 *
 * Supported provider: `k8s` (go-discover's semantics): pods of `namespace` (default `default`)
 * matching `label_selector`/`field_selector` that are Running and, when they report a Ready
 * condition, Ready; address = pod IP (`host_network=true`: host IP); a pod annotation
 * `consul.hashicorp.com/auto-join-port` (port name or number) adds the port, otherwise the
 * caller's default port applies. Credentials: `kubeconfig=PATH`, else `$KUBECONFIG`, else
 * `~/.kube/config` when it exists, else the in-cluster service account.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';

export const PORT_ANNOTATION = 'consul.hashicorp.com/auto-join-port';
const SUPPORTED = ['k8s'] as const;

/** `key=value key2="quoted value"` → map. @throws Error naming the malformed part. */
export function parseDiscoverConfig(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/y;
  let i = 0;
  while (i < s.length) {
    if (/^\s*$/.test(s.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new Error(`invalid --cluster.discover-peers "${s}": expected key=value pairs separated by spaces (quote values with spaces), near "${s.slice(i).trim()}"`);
    out.set(m[1]!, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
    i = re.lastIndex;
  }
  return out;
}

/** go-discover's k8s address selection (pure, for tests). */
export function podAddrs(pods: readonly V1Pod[], hostNetwork: boolean): string[] {
  const addrs: string[] = [];
  for (const pod of pods) {
    if (pod.status?.phase !== 'Running') continue;
    if ((pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status !== 'True')) continue;
    const ip = hostNetwork ? pod.status.hostIP : pod.status.podIP;
    if (!ip) continue;
    const ann = pod.metadata?.annotations?.[PORT_ANNOTATION];
    if (!ann) {
      addrs.push(ip);
      continue;
    }
    const port = podPort(pod, ann, hostNetwork);
    if (port === undefined) continue;
    addrs.push(ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  }
  return addrs;
}

function podPort(pod: V1Pod, annotation: string, host: boolean): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name !== annotation) continue;
      if (host) {
        if (p.hostPort) return p.hostPort;
        continue;
      }
      return p.containerPort;
    }
  }
  const n = Number(annotation);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}

export type DiscoverFn = () => Promise<string[]>;

/**
 * Build the discovery function for a `--cluster.discover-peers` value.
 * @throws Error naming the problem (unknown provider, bad option). Unusable credentials reject the
 *   returned function's promise, so they are reported (and retried) on every discovery round.
 */
export function discoverPeers(config: string, env: NodeJS.ProcessEnv = process.env): DiscoverFn {
  const args = parseDiscoverConfig(config);
  const provider = args.get('provider');
  if (provider !== 'k8s') {
    throw new Error(
      `--cluster.discover-peers provider "${provider ?? ''}" is not supported by this build (supported: ${SUPPORTED.join(', ')}); ` +
        'use provider=k8s or list peers with --cluster.join-addresses',
    );
  }
  const known = new Set(['provider', 'kubeconfig', 'namespace', 'label_selector', 'field_selector', 'host_network']);
  for (const k of args.keys()) if (!known.has(k)) throw new Error(`--cluster.discover-peers: unknown k8s option "${k}" (known: ${[...known].join(', ')})`);
  const hn = args.get('host_network') ?? 'false';
  if (!['true', 'false', '1', '0', 't', 'f', 'TRUE', 'FALSE', 'True', 'False'].includes(hn)) throw new Error(`--cluster.discover-peers: host_network must be a boolean, got "${hn}"`);
  const hostNetwork = ['true', '1', 't', 'TRUE', 'True'].includes(hn);
  const namespace = args.get('namespace') || 'default';
  const labelSelector = args.get('label_selector');
  const fieldSelector = args.get('field_selector');
  const explicit = args.get('kubeconfig') || env['KUBECONFIG'];
  // @kubernetes/client-node costs ~65 MiB of RSS; only collectors that discover peers load it.
  let client: Promise<CoreV1Api> | undefined;
  const connect = async (): Promise<CoreV1Api> => {
    const { CoreV1Api: Api, KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    const home = path.join(os.homedir(), '.kube', 'config');
    try {
      if (explicit) kc.loadFromFile(explicit);
      else if (existsSync(home)) kc.loadFromFile(home);
      else kc.loadFromCluster();
    } catch (err) {
      throw new Error(`--cluster.discover-peers: loading Kubernetes credentials: ${(err as Error).message}`);
    }
    if (!kc.getCurrentCluster()) throw new Error('--cluster.discover-peers: no Kubernetes cluster configured (set kubeconfig=PATH or run in a pod with a service account)');
    return kc.makeApiClient(Api);
  };
  return async () => {
    client ??= connect().catch((err: unknown) => {
      client = undefined; // retried on the next discovery round
      throw err;
    });
    const api = await client;
    try {
      const list = await api.listNamespacedPod({ namespace, ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) });
      return podAddrs(list.items, hostNetwork);
    } catch (err) {
      const e = err as { code?: number; message?: string };
      throw new Error(`discover-k8s: listing pods in namespace "${namespace}": ${e.code ? `HTTP ${e.code}: ` : ''}${(e.message ?? String(err)).split('\n')[0]}`);
    }
  };
}
