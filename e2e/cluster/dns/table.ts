/**
 * Builds the cluster DNS/routing table from Services and Pods (see README.md). Pure function; the
 * kubelet owns writing it to disk.
 */
import type { Pod, Service } from '../harness/k8s-types.js';

export const CLUSTER_DOMAIN = 'cluster.local';

export interface DnsTable {
  /** FQDN (lower case, no trailing dot) → IPs. */
  names: Record<string, string[]>;
  /** ClusterIP → service port → ready backends as [podIP, targetPort]. */
  services: Record<string, { ports: Record<string, [string, number][]> }>;
}

const isReady = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

function selects(selector: Record<string, string> | undefined, pod: Pod): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  const labels = pod.metadata.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function targetPortFor(pod: Pod, target: number | string | undefined, port: number): number | undefined {
  if (target === undefined) return port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec.containers) for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  return undefined;
}

export function buildDnsTable(services: readonly Service[], pods: readonly Pod[]): DnsTable {
  const table: DnsTable = { names: {}, services: {} };
  const live = pods.filter((p) => p.status?.podIP && !p.metadata.deletionTimestamp && p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed');
  for (const svc of services) {
    const ns = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name ?? '';
    const fqdn = `${name}.${ns}.svc.${CLUSTER_DOMAIN}`.toLowerCase();
    const members = live.filter((p) => (p.metadata.namespace ?? 'default') === ns && selects(svc.spec.selector, p));
    const endpoints = members.filter((p) => svc.spec.publishNotReadyAddresses || isReady(p));
    const clusterIP = svc.spec.clusterIP;
    if (clusterIP && clusterIP !== 'None') {
      table.names[fqdn] = [clusterIP];
      const ports: Record<string, [string, number][]> = {};
      for (const sp of svc.spec.ports ?? []) {
        ports[String(sp.port)] = endpoints.flatMap((p) => {
          const t = targetPortFor(p, sp.targetPort, sp.port);
          return t === undefined ? [] : [[p.status!.podIP!, t] as [string, number]];
        });
      }
      table.services[clusterIP] = { ports };
    } else {
      table.names[fqdn] = endpoints.map((p) => p.status!.podIP!);
    }
    for (const p of members) {
      if (p.spec.subdomain !== name) continue;
      const host = p.spec.hostname ?? p.metadata.name ?? '';
      table.names[`${host}.${fqdn}`.toLowerCase()] = [p.status!.podIP!];
    }
  }
  return table;
}

/** Resolves a name the way a pod in `namespace` would (search path), for harness code outside pods. */
export function resolveInTable(table: DnsTable, name: string, namespace = 'default'): string[] | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  const tries = n.endsWith(`.${CLUSTER_DOMAIN}`) ? [n] : [`${n}.${namespace}.svc.${CLUSTER_DOMAIN}`, `${n}.svc.${CLUSTER_DOMAIN}`, `${n}.${CLUSTER_DOMAIN}`];
  for (const t of tries) if (table.names[t]) return table.names[t];
  return undefined;
}
