/**
 * Endpoints and EndpointSlice controller: for every Service with a selector, keeps a core/v1
 * Endpoints object (same name; ready pods in `addresses`, others in `notReadyAddresses`, or all
 * ready when `publishNotReadyAddresses`) and one discovery.k8s.io/v1 EndpointSlice
 * (`<svc>-<hash>`, label `kubernetes.io/service-name`, owned by the Service), with named target
 * ports resolved per pod. Objects of deleted Services are removed. Cluster DNS inside pods does not
 * depend on these objects (the kubelet computes it); they serve kubectl and API clients such as
 * service discovery.
 */
import type { KubeObject, Pod, Service } from '../harness/k8s-types.js';
import { RESOURCES, isNotFound } from '../harness/kube-client.js';
import type { Informer } from '../harness/informer.js';
import { canonicalJson, isFinished, isPodReady, ownerRef, splitKey, templateHash } from './common.js';
import type { ControllerContext } from './context.js';

interface Address {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; name: string; namespace: string; uid: string };
}

interface EndpointsObject extends KubeObject {
  subsets?: { addresses?: Address[]; notReadyAddresses?: Address[]; ports?: { name?: string; port: number; protocol: string }[] }[];
}

interface SliceObject extends KubeObject {
  addressType: string;
  endpoints: unknown[];
  ports: unknown[];
}

function resolvePort(pod: Pod, target: number | string | undefined, port: number): number | undefined {
  if (target === undefined) return port;
  if (typeof target === 'number' || /^\d+$/.test(String(target))) return Number(target);
  for (const c of pod.spec.containers) for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  return undefined;
}

export class EndpointsController {
  #ctx: ControllerContext;
  #services: Informer<Service>;
  #endpoints: Informer<EndpointsObject>;
  #slices: Informer<SliceObject>;

  constructor(ctx: ControllerContext, services: Informer<Service>, endpoints: Informer<EndpointsObject>, slices: Informer<SliceObject>) {
    this.#ctx = ctx;
    this.#services = services;
    this.#endpoints = endpoints;
    this.#slices = slices;
  }

  /** Service keys in the pod's namespace whose selector matches the pod. */
  servicesFor(pod: Pod): string[] {
    return this.#services.list().filter((s) => s.metadata.namespace === pod.metadata.namespace && selects(s, pod)).map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
  }

  async reconcile(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const svc = this.#services.get(key);
    const client = this.#ctx.client;
    if (!svc || !svc.spec.selector || Object.keys(svc.spec.selector).length === 0) {
      if (!svc && this.#endpoints.get(key)) await client.delete(RESOURCES.endpoints, ns, name).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
      return;
    }
    const pods = this.#ctx.pods.list().filter((p) => p.metadata.namespace === ns && selects(svc, p) && p.status?.podIP && !isFinished(p) && !p.metadata.deletionTimestamp);
    const groups = new Map<string, { ports: { name?: string; port: number; protocol: string }[]; ready: Address[]; notReady: Address[] }>();
    const sliceEndpoints: unknown[] = [];
    let slicePorts: { name?: string; port: number; protocol: string }[] = [];
    for (const p of pods) {
      const ports = (svc.spec.ports ?? []).flatMap((sp) => {
        const t = resolvePort(p, sp.targetPort, sp.port);
        return t === undefined ? [] : [{ ...(sp.name ? { name: sp.name } : {}), port: t, protocol: sp.protocol ?? 'TCP' }];
      });
      const sig = canonicalJson(ports);
      const g = groups.get(sig) ?? { ports, ready: [], notReady: [] };
      groups.set(sig, g);
      const addr: Address = {
        ip: p.status!.podIP!,
        ...(p.spec.hostname && p.spec.subdomain === name ? { hostname: p.spec.hostname } : {}),
        ...(p.spec.nodeName ? { nodeName: p.spec.nodeName } : {}),
        targetRef: { kind: 'Pod', name: p.metadata.name ?? '', namespace: ns, uid: p.metadata.uid ?? '' },
      };
      const ready = isPodReady(p);
      (ready || svc.spec.publishNotReadyAddresses ? g.ready : g.notReady).push(addr);
      slicePorts = ports;
      sliceEndpoints.push({
        addresses: [addr.ip],
        conditions: { ready: ready || Boolean(svc.spec.publishNotReadyAddresses), serving: ready, terminating: false },
        ...(addr.hostname ? { hostname: addr.hostname } : {}),
        ...(addr.nodeName ? { nodeName: addr.nodeName } : {}),
        targetRef: addr.targetRef,
      });
    }
    const byIp = (a: Address, b: Address): number => a.ip.localeCompare(b.ip);
    const subsets = [...groups.values()].map((g) => ({
      ...(g.ready.length ? { addresses: g.ready.sort(byIp) } : {}),
      ...(g.notReady.length ? { notReadyAddresses: g.notReady.sort(byIp) } : {}),
      ports: g.ports,
    }));
    const labels = { ...svc.metadata.labels };
    const current = this.#endpoints.get(key);
    if (!current) {
      await client.create<EndpointsObject>(RESOURCES.endpoints, ns, { metadata: { name, namespace: ns, labels }, subsets }).catch((e: unknown) => {
        if (!(e instanceof Error && /already exists/i.test(e.message))) throw e;
      });
    } else if (canonicalJson(current.subsets ?? []) !== canonicalJson(subsets)) {
      // Merge patch without a resourceVersion: level-based, never conflicts with our own last write.
      await client.mergePatch(RESOURCES.endpoints, ns, name, { subsets });
    }

    const sliceName = `${name}-${templateHash(name).slice(0, 5)}`;
    const slice: SliceObject = {
      metadata: {
        name: sliceName,
        namespace: ns,
        labels: { ...labels, 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
        ownerReferences: [ownerRef(svc, 'v1', 'Service')],
      },
      addressType: 'IPv4',
      endpoints: sliceEndpoints,
      ports: slicePorts,
    };
    const cur = this.#slices.get(`${ns}/${sliceName}`);
    if (!cur) {
      await client.create(RESOURCES.endpointslices, ns, slice).catch((e: unknown) => {
        if (!(e instanceof Error && /already exists/i.test(e.message))) throw e;
      });
    } else if (canonicalJson([cur.endpoints, cur.ports]) !== canonicalJson([slice.endpoints, slice.ports])) {
      await client.mergePatch(RESOURCES.endpointslices, ns, sliceName, { endpoints: slice.endpoints, ports: slice.ports });
    }
  }
}

function selects(svc: Service, pod: Pod): boolean {
  const sel = svc.spec.selector;
  if (!sel || Object.keys(sel).length === 0) return false;
  return Object.entries(sel).every(([k, v]) => pod.metadata.labels?.[k] === v);
}

export type { EndpointsObject, SliceObject };
