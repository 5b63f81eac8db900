/**
 * Objects the API server maintains itself, as kube-apiserver does: the initial namespaces, and
 * the `kubernetes` Service with its Endpoints and EndpointSlice pointing at the server's own
 * address.
 */
import type { ServerContext } from './context.js';
import { deepClone, setPath, type KubeObject } from './types.js';
import { commitUpdate, createObject, internalOpts } from './writes.js';

const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** The namespaces every cluster starts with (their `default` ServiceAccounts follow from the writes). */
export function createInitialNamespaces(ctx: ServerContext): void {
  const nsType = ctx.registry.get('', 'v1', 'namespaces')!;
  for (const ns of INITIAL_NAMESPACES) {
    if (ctx.store.get(nsType.storageKey, undefined, ns)) continue;
    createObject(ctx, nsType, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, internalOpts());
  }
}

/**
 * The `kubernetes` Service in `default` and its Endpoints/EndpointSlice pointing at this
 * server's own address, as the real API server maintains them. Called once the port is known.
 */
export function publishSelf(ctx: ServerContext, host: string, port: number): void {
  const sys = internalOpts();
  const svcType = ctx.registry.get('', 'v1', 'services')!;
  if (!ctx.store.get(svcType.storageKey, 'default', 'kubernetes')) {
    createObject(ctx, svcType, 'default', {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { clusterIP: ctx.addresses.ip(1), ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }] },
    }, sys);
  } else {
    const cur = ctx.store.get(svcType.storageKey, 'default', 'kubernetes')!;
    const next = deepClone(cur);
    setPath(next, 'spec.ports', [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }]);
    commitUpdate(ctx, svcType, cur, next, sys);
  }
  const ip = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? host : '127.0.0.1';
  const epType = ctx.registry.get('', 'v1', 'endpoints')!;
  const ep: KubeObject = {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
  };
  const curEp = ctx.store.get(epType.storageKey, 'default', 'kubernetes');
  if (curEp) commitUpdate(ctx, epType, curEp, { ...deepClone(curEp), subsets: ep['subsets']! }, sys);
  else createObject(ctx, epType, 'default', ep, sys);
  const sliceType = ctx.registry.get('discovery.k8s.io', 'v1', 'endpointslices')!;
  const slice: KubeObject = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  };
  const curSlice = ctx.store.get(sliceType.storageKey, 'default', 'kubernetes');
  if (curSlice) commitUpdate(ctx, sliceType, curSlice, { ...deepClone(curSlice), endpoints: slice['endpoints']!, ports: slice['ports']! }, sys);
  else createObject(ctx, sliceType, 'default', slice, sys);
}
