/**
 * Target groups of every `discovery.kubernetes` role, computed from Kubernetes objects exactly
 * as Prometheus's `discovery/kubernetes` builds them (v3: pod.go, service.go, endpoints.go,
 * endpointslice.go, ingress.go, node.go; label names, values, address forms and target order).
 * Pure functions: the caller passes the related objects (services, pods, nodes, namespaces)
 * through `Lookups`. A group's targets are flattened with `flatten` (target labels win).
 */
import { isIP } from 'node:net';
import type { KubeObject } from '../../common/kube/client.js';

export type LabelSet = Record<string, string>;

export interface TargetGroup {
  readonly source: string;
  readonly labels: LabelSet;
  readonly targets: LabelSet[];
}

const P = '__meta_kubernetes_';
export const NAMESPACE_LABEL = '__meta_kubernetes_namespace';

// ------------------------------------------------------------ object shapes (subset of the API)

interface ObjectRef {
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol?: string;
}

interface Container {
  readonly name: string;
  readonly image?: string;
  readonly ports?: readonly ContainerPort[];
}

export interface Pod extends KubeObject {
  readonly spec?: { readonly nodeName?: string; readonly containers?: readonly Container[]; readonly initContainers?: readonly Container[] };
  readonly status?: {
    readonly podIP?: string;
    readonly hostIP?: string;
    readonly phase?: string;
    readonly conditions?: ReadonlyArray<{ readonly type: string; readonly status: string }>;
    readonly containerStatuses?: ReadonlyArray<{ readonly name: string; readonly containerID?: string }>;
    readonly initContainerStatuses?: ReadonlyArray<{ readonly name: string; readonly containerID?: string }>;
  };
}

export interface Service extends KubeObject {
  readonly spec?: {
    readonly type?: string;
    readonly clusterIP?: string;
    readonly externalName?: string;
    readonly loadBalancerIP?: string;
    readonly ports?: ReadonlyArray<{ readonly name?: string; readonly port: number; readonly protocol?: string }>;
  };
}

interface EndpointAddress {
  readonly ip: string;
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly targetRef?: ObjectRef;
}

interface EndpointPort {
  readonly name?: string;
  readonly port: number;
  readonly protocol?: string;
}

export interface Endpoints extends KubeObject {
  readonly subsets?: ReadonlyArray<{ readonly addresses?: readonly EndpointAddress[]; readonly notReadyAddresses?: readonly EndpointAddress[]; readonly ports?: readonly EndpointPort[] }>;
}

interface SliceEndpoint {
  readonly addresses?: readonly string[];
  readonly conditions?: { readonly ready?: boolean; readonly serving?: boolean; readonly terminating?: boolean };
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly targetRef?: ObjectRef;
  readonly deprecatedTopology?: Readonly<Record<string, string>>;
}

interface SlicePort {
  readonly name?: string;
  readonly port?: number;
  readonly protocol?: string;
  readonly appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  readonly addressType?: string;
  readonly endpoints?: readonly SliceEndpoint[];
  readonly ports?: readonly SlicePort[];
}

export interface Ingress extends KubeObject {
  readonly spec?: {
    readonly ingressClassName?: string;
    readonly tls?: ReadonlyArray<{ readonly hosts?: readonly string[] }>;
    readonly rules?: ReadonlyArray<{ readonly host?: string; readonly http?: { readonly paths?: ReadonlyArray<{ readonly path?: string }> } }>;
  };
}

export interface Node extends KubeObject {
  readonly spec?: { readonly providerID?: string };
  readonly status?: {
    readonly addresses?: ReadonlyArray<{ readonly type: string; readonly address: string }>;
    readonly daemonEndpoints?: { readonly kubeletEndpoint?: { readonly Port?: number } };
  };
}

export type Namespace = KubeObject;

/** Related objects a builder may read; each returns undefined when unknown. */
export interface Lookups {
  readonly service?: (namespace: string, name: string) => Service | undefined;
  readonly pod?: (namespace: string, name: string) => Pod | undefined;
  /** Present when `attach_metadata { node = true }`. */
  readonly node?: (name: string) => Node | undefined;
  /** Present when `attach_metadata { namespace = true }`. */
  readonly namespace?: (name: string) => Namespace | undefined;
}

// ------------------------------------------------------------ shared helpers

/** Prometheus `strutil.SanitizeLabelName`: every character outside [a-zA-Z0-9_] becomes `_`. */
export function sanitizeLabelName(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** Go's `net.JoinHostPort`: brackets hosts that contain a colon. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Generated label names (`__meta_kubernetes_pod_label_app`, ...) repeat across every object of a
 * cluster; interning them keeps one copy per name instead of one per target. Bounded by the number
 * of distinct label and annotation keys, which is small in practice; cleared past 100,000.
 */
const interned = { label: new Map<string, Map<string, readonly [string, string]>>(), annotation: new Map<string, Map<string, readonly [string, string]>>() };
let internedCount = 0;

function metaNames(resource: string, kind: 'label' | 'annotation', key: string): readonly [string, string] {
  let byKey = interned[kind].get(resource);
  if (!byKey) interned[kind].set(resource, (byKey = new Map()));
  let names = byKey.get(key);
  if (!names) {
    if (internedCount >= 100_000) {
      interned.label.clear();
      interned.annotation.clear();
      internedCount = 0;
    }
    const ln = sanitizeLabelName(key);
    names = [`${P}${resource}_${kind}_${ln}`, `${P}${resource}_${kind}present_${ln}`];
    byKey.set(key, names);
    internedCount++;
  }
  return names;
}

function addLabelsAndAnnotations(ls: LabelSet, meta: KubeObject['metadata'], resource: string): void {
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    const [name, present] = metaNames(resource, 'label', k);
    ls[name] = v;
    ls[present] = 'true';
  }
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    const [name, present] = metaNames(resource, 'annotation', k);
    ls[name] = v;
    ls[present] = 'true';
  }
}

/** `<role>_name` label names as literals (no string is built per object). */
const NAME_LABELS: Readonly<Record<string, string>> = {
  pod: '__meta_kubernetes_pod_name',
  service: '__meta_kubernetes_service_name',
  endpoints: '__meta_kubernetes_endpoints_name',
  endpointslice: '__meta_kubernetes_endpointslice_name',
  ingress: '__meta_kubernetes_ingress_name',
  node: '__meta_kubernetes_node_name',
};

/** `addObjectMetaLabels`: `<role>_name` plus labels and annotations with their `*present` twins. */
function addObjectMetaLabels(ls: LabelSet, meta: KubeObject['metadata'], role: string): void {
  ls[NAME_LABELS[role] ?? `${P}${role}_name`] = meta.name;
  addLabelsAndAnnotations(ls, meta, role);
}

/** Node metadata (`attach_metadata.node`): node name, labels and annotations, when the node is known. */
function withNodeLabels(ls: LabelSet, lk: Lookups, nodeName: string | undefined): LabelSet {
  if (!lk.node || nodeName === undefined) return ls;
  const node = lk.node(nodeName);
  if (!node) return ls;
  const nl: LabelSet = {};
  addObjectMetaLabels(nl, node.metadata, 'node');
  return { ...ls, ...nl };
}

/** Namespace metadata (`attach_metadata.namespace`): namespace labels and annotations. */
function withNamespaceLabels(ls: LabelSet, lk: Lookups, namespace: string): LabelSet {
  if (!lk.namespace) return ls;
  const ns = lk.namespace(namespace);
  if (!ns) return ls;
  const out = { ...ls };
  addLabelsAndAnnotations(out, ns.metadata, 'namespace');
  return out;
}

const nsOf = (o: KubeObject): string => o.metadata.namespace ?? '';

// ------------------------------------------------------------ pod

/** The condition statuses Kubernetes sets, lower-cased once (not one new string per pod). */
const READY_VALUES: Readonly<Record<string, string>> = { True: 'true', False: 'false', Unknown: 'unknown' };

export function podReady(pod: Pod): string {
  for (const c of pod.status?.conditions ?? []) if (c.type === 'Ready') return READY_VALUES[c.status] ?? c.status.toLowerCase();
  return 'unknown';
}

/**
 * Built once per pod object: the stores hold pruned objects that a change replaces and nothing
 * mutates, so the pod role and the endpoint roles (one shared pod store) reuse one label set.
 */
const podLabelsCache = new WeakMap<Pod, Readonly<LabelSet>>();

/**
 * Labels every pod-backed target carries (pod role group labels, endpoints/endpointslice per
 * target). The result is shared between callers (cached per pod object): copy it to add labels.
 * The pod must not be mutated after the first call.
 */
export function podLabels(pod: Pod): Readonly<LabelSet> {
  let ls = podLabelsCache.get(pod);
  if (ls === undefined) podLabelsCache.set(pod, (ls = computePodLabels(pod)));
  return ls;
}

function computePodLabels(pod: Pod): LabelSet {
  const ls: LabelSet = {
    '__meta_kubernetes_pod_ip': pod.status?.podIP ?? '',
    '__meta_kubernetes_pod_ready': podReady(pod),
    '__meta_kubernetes_pod_phase': pod.status?.phase ?? '',
    '__meta_kubernetes_pod_node_name': pod.spec?.nodeName ?? '',
    '__meta_kubernetes_pod_host_ip': pod.status?.hostIP ?? '',
    '__meta_kubernetes_pod_uid': pod.metadata.uid ?? '',
  };
  addObjectMetaLabels(ls, pod.metadata, 'pod');
  const ctl = (pod.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (ctl) {
    if (ctl.kind) ls['__meta_kubernetes_pod_controller_kind'] = ctl.kind;
    if (ctl.name) ls['__meta_kubernetes_pod_controller_name'] = ctl.name;
  }
  return ls;
}

function allContainers(pod: Pod): Array<{ c: Container; isInit: boolean }> {
  return [...(pod.spec?.containers ?? []).map((c) => ({ c, isInit: false })), ...(pod.spec?.initContainers ?? []).map((c) => ({ c, isInit: true }))];
}

export function podSource(namespace: string, name: string): string {
  return `pod/${namespace}/${name}`;
}

export function buildPod(pod: Pod, lk: Lookups = {}): TargetGroup {
  const source = podSource(nsOf(pod), pod.metadata.name);
  const ip = pod.status?.podIP ?? '';
  // PodIP can be empty when a pod is starting or has been evicted.
  if (ip === '') return { source, labels: {}, targets: [] };
  let labels: LabelSet = { ...podLabels(pod) };
  labels[NAMESPACE_LABEL] = nsOf(pod);
  labels = withNodeLabels(labels, lk, pod.spec?.nodeName ?? '');
  labels = withNamespaceLabels(labels, lk, nsOf(pod));
  const targets: LabelSet[] = [];
  for (const { c, isInit } of allContainers(pod)) {
    const statuses = isInit ? pod.status?.initContainerStatuses : pod.status?.containerStatuses;
    const cID = statuses?.find((s) => s.name === c.name)?.containerID ?? '';
    const common = { '__meta_kubernetes_pod_container_name': c.name, '__meta_kubernetes_pod_container_id': cID, '__meta_kubernetes_pod_container_image': c.image ?? '', '__meta_kubernetes_pod_container_init': String(isInit) };
    if (!c.ports || c.ports.length === 0) {
      // No ports: one port-free target per container; relabeling must add the port.
      targets.push({ __address__: ip, ...common });
      continue;
    }
    for (const port of c.ports) {
      targets.push({
        __address__: joinHostPort(ip, port.containerPort),
        ...common,
        '__meta_kubernetes_pod_container_port_number': String(port.containerPort),
        '__meta_kubernetes_pod_container_port_name': port.name ?? '',
        '__meta_kubernetes_pod_container_port_protocol': port.protocol ?? '',
      });
    }
  }
  return { source, labels, targets };
}

// ------------------------------------------------------------ service

export function serviceLabels(svc: Service): LabelSet {
  const ls: LabelSet = { [NAMESPACE_LABEL]: nsOf(svc) };
  addObjectMetaLabels(ls, svc.metadata, 'service');
  return ls;
}

export function serviceSource(namespace: string, name: string): string {
  return `svc/${namespace}/${name}`;
}

export function buildService(svc: Service, lk: Lookups = {}): TargetGroup {
  const labels = withNamespaceLabels(serviceLabels(svc), lk, nsOf(svc));
  const type = svc.spec?.type ?? '';
  const targets: LabelSet[] = [];
  for (const port of svc.spec?.ports ?? []) {
    const t: LabelSet = {
      __address__: joinHostPort(`${svc.metadata.name}.${nsOf(svc)}.svc`, port.port),
      '__meta_kubernetes_service_port_name': port.name ?? '',
      '__meta_kubernetes_service_port_number': String(port.port),
      '__meta_kubernetes_service_port_protocol': port.protocol ?? '',
      '__meta_kubernetes_service_type': type,
    };
    if (type === 'ExternalName') t['__meta_kubernetes_service_external_name'] = svc.spec?.externalName ?? '';
    else t['__meta_kubernetes_service_cluster_ip'] = svc.spec?.clusterIP ?? '';
    if (type === 'LoadBalancer') t['__meta_kubernetes_service_loadbalancer_ip'] = svc.spec?.loadBalancerIP ?? '';
    targets.push(t);
  }
  return { source: serviceSource(nsOf(svc), svc.metadata.name), labels, targets };
}

// ------------------------------------------------------------ endpoints

export function endpointsSource(namespace: string, name: string): string {
  return `endpoints/${namespace}/${name}`;
}

function containerPortLabels(c: Container, cport: ContainerPort, isInit: boolean, protocol: string | undefined): LabelSet {
  return {
    '__meta_kubernetes_pod_container_name': c.name,
    '__meta_kubernetes_pod_container_image': c.image ?? '',
    '__meta_kubernetes_pod_container_port_name': cport.name ?? '',
    '__meta_kubernetes_pod_container_port_number': String(cport.containerPort),
    '__meta_kubernetes_pod_container_port_protocol': protocol ?? '',
    '__meta_kubernetes_pod_container_init': String(isInit),
  };
}

/** Targets for container ports of seen pods that no endpoint port covered (pod IP, pod labels). */
function uncoveredPodPorts(seen: SeenPods, targets: LabelSet[], skip?: (pod: Pod) => boolean): void {
  for (const { pod, ports, labels } of seen.values()) {
    const ip = pod.status?.podIP ?? '';
    if (ip === '' || skip?.(pod)) continue;
    for (const { c, isInit } of allContainers(pod)) {
      for (const cport of c.ports ?? []) {
        if (ports.includes(cport.containerPort)) continue;
        const t: LabelSet = { __address__: joinHostPort(ip, cport.containerPort), ...containerPortLabels(c, cport, isInit, cport.protocol) };
        targets.push(Object.assign(t, labels));
      }
    }
  }
}

type SeenPods = Map<string, { pod: Pod; ports: number[]; labels: Readonly<LabelSet> }>;

/**
 * A pod-backed endpoint target: the pod's labels, plus the labels of the first container port
 * equal to the endpoint `port`; records the port as covered for `uncoveredPodPorts`.
 */
function withPod(t: LabelSet, pod: Pod, port: number | undefined, seen: SeenPods, protocolOf: (cport: ContainerPort) => string | undefined): LabelSet {
  const key = `${nsOf(pod)}/${pod.metadata.name}`;
  let sp = seen.get(key);
  if (!sp) seen.set(key, (sp = { pod, ports: [], labels: podLabels(pod) }));
  const out = Object.assign(t, sp.labels);
  if (port === undefined) return out;
  for (const { c, isInit } of allContainers(pod)) {
    const cport = (c.ports ?? []).find((p) => p.containerPort === port);
    if (cport) {
      Object.assign(out, containerPortLabels(c, cport, isInit, protocolOf(cport)));
      break;
    }
  }
  sp.ports.push(port);
  return out;
}

function resolvePod(lk: Lookups, ref: ObjectRef | undefined): Pod | undefined {
  if (!ref || ref.kind !== 'Pod' || !lk.pod) return undefined;
  return lk.pod(ref.namespace ?? '', ref.name ?? '');
}

export function buildEndpoints(eps: Endpoints, lk: Lookups = {}): TargetGroup {
  let labels: LabelSet = { [NAMESPACE_LABEL]: nsOf(eps) };
  const svc = lk.service?.(nsOf(eps), eps.metadata.name);
  if (svc) labels = { ...labels, ...serviceLabels(svc) };
  addObjectMetaLabels(labels, eps.metadata, 'endpoints');
  labels = withNamespaceLabels(labels, lk, nsOf(eps));
  const targets: LabelSet[] = [];
  const seen: SeenPods = new Map();
  const add = (addr: EndpointAddress, port: EndpointPort, ready: string): void => {
    let t: LabelSet = {
      __address__: joinHostPort(addr.ip, port.port),
      '__meta_kubernetes_endpoint_port_name': port.name ?? '',
      '__meta_kubernetes_endpoint_port_protocol': port.protocol ?? '',
      '__meta_kubernetes_endpoint_ready': ready,
    };
    if (addr.targetRef) {
      t['__meta_kubernetes_endpoint_address_target_kind'] = addr.targetRef.kind ?? '';
      t['__meta_kubernetes_endpoint_address_target_name'] = addr.targetRef.name ?? '';
    }
    if (addr.nodeName !== undefined) t['__meta_kubernetes_endpoint_node_name'] = addr.nodeName;
    if (addr.hostname) t['__meta_kubernetes_endpoint_hostname'] = addr.hostname;
    if (lk.node) {
      const nodeName = addr.nodeName === undefined && addr.targetRef?.kind === 'Node' ? addr.targetRef.name : addr.nodeName;
      t = withNodeLabels(t, lk, nodeName);
    }
    const pod = resolvePod(lk, addr.targetRef);
    if (!pod) {
      targets.push(t);
      return;
    }
    // Prometheus takes the protocol of the endpoint port here.
    targets.push(withPod(t, pod, port.port, seen, () => port.protocol));
  };
  for (const ss of eps.subsets ?? []) {
    for (const port of ss.ports ?? []) {
      for (const addr of ss.addresses ?? []) add(addr, port, 'true');
      for (const addr of ss.notReadyAddresses ?? []) add(addr, port, 'false');
    }
  }
  uncoveredPodPorts(seen, targets);
  return { source: endpointsSource(nsOf(eps), eps.metadata.name), labels, targets };
}

// ------------------------------------------------------------ endpointslice

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function endpointSliceSource(namespace: string, name: string): string {
  return `endpointslice/${namespace}/${name}`;
}

function ipFamily(ip: string): string | undefined {
  const v = isIP(ip);
  return v === 4 ? 'IPv4' : v === 6 ? 'IPv6' : undefined;
}

export function buildEndpointSlice(eps: EndpointSlice, lk: Lookups = {}): TargetGroup {
  let labels: LabelSet = { [NAMESPACE_LABEL]: nsOf(eps), '__meta_kubernetes_endpointslice_address_type': eps.addressType ?? '' };
  addObjectMetaLabels(labels, eps.metadata, 'endpointslice');
  const svcName = eps.metadata.labels?.[SERVICE_NAME_LABEL];
  const svc = svcName !== undefined ? lk.service?.(nsOf(eps), svcName) : undefined;
  if (svc) labels = { ...labels, ...serviceLabels(svc) };
  labels = withNamespaceLabels(labels, lk, nsOf(eps));
  const targets: LabelSet[] = [];
  const seen: SeenPods = new Map();
  const add = (addr: string, ep: SliceEndpoint, port: SlicePort): void => {
    let t: LabelSet = { __address__: port.port !== undefined ? joinHostPort(addr, port.port) : addr };
    if (port.name !== undefined) t['__meta_kubernetes_endpointslice_port_name'] = port.name;
    if (port.protocol !== undefined) t['__meta_kubernetes_endpointslice_port_protocol'] = port.protocol;
    if (port.port !== undefined) t['__meta_kubernetes_endpointslice_port'] = String(port.port);
    if (port.appProtocol !== undefined) t['__meta_kubernetes_endpointslice_port_app_protocol'] = port.appProtocol;
    const cond = ep.conditions ?? {};
    if (cond.ready !== undefined) t['__meta_kubernetes_endpointslice_endpoint_conditions_ready'] = String(cond.ready);
    if (cond.serving !== undefined) t['__meta_kubernetes_endpointslice_endpoint_conditions_serving'] = String(cond.serving);
    if (cond.terminating !== undefined) t['__meta_kubernetes_endpointslice_endpoint_conditions_terminating'] = String(cond.terminating);
    if (ep.hostname !== undefined) t['__meta_kubernetes_endpointslice_endpoint_hostname'] = ep.hostname;
    if (ep.targetRef) {
      t['__meta_kubernetes_endpointslice_address_target_kind'] = ep.targetRef.kind ?? '';
      t['__meta_kubernetes_endpointslice_address_target_name'] = ep.targetRef.name ?? '';
    }
    if (ep.nodeName !== undefined) t['__meta_kubernetes_endpointslice_endpoint_node_name'] = ep.nodeName;
    if (ep.zone !== undefined) t['__meta_kubernetes_endpointslice_endpoint_zone'] = ep.zone;
    for (const [k, v] of Object.entries(ep.deprecatedTopology ?? {})) {
      const ln = sanitizeLabelName(k);
      t[`${P}endpointslice_endpoint_topology_${ln}`] = v;
      t[`${P}endpointslice_endpoint_topology_present_${ln}`] = 'true';
    }
    if (lk.node) t = withNodeLabels(t, lk, ep.targetRef?.kind === 'Node' ? ep.targetRef.name : ep.nodeName);
    const pod = resolvePod(lk, ep.targetRef);
    if (!pod) {
      targets.push(t);
      return;
    }
    targets.push(withPod(t, pod, port.port, seen, (cport) => cport.protocol));
  };
  for (const ep of eps.endpoints ?? []) for (const port of eps.ports ?? []) for (const addr of ep.addresses ?? []) add(addr, ep, port);
  // A dual-stack Service has one slice per address family; the pod's uncovered container ports
  // are emitted by the slice of the pod IP's family only, so they are not duplicated.
  uncoveredPodPorts(seen, targets, (pod) => {
    const fam = ipFamily(pod.status?.podIP ?? '');
    return eps.addressType !== undefined && fam !== undefined && (eps.addressType === 'IPv4' || eps.addressType === 'IPv6') && fam !== eps.addressType;
  });
  return { source: endpointSliceSource(nsOf(eps), eps.metadata.name), labels, targets };
}

// ------------------------------------------------------------ ingress

export function ingressSource(namespace: string, name: string): string {
  return `ingress/${namespace}/${name}`;
}

/** True when `host` equals `pattern` or matches a leading `*` label of it (same number of labels). */
export function matchesHostnamePattern(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  const pp = pattern.split('.');
  const hp = host.split('.');
  if (pp[0] !== '*' || pp.length !== hp.length) return false;
  for (let i = 1; i < pp.length; i++) if (pp[i] !== hp[i]) return false;
  return true;
}

export function buildIngress(ing: Ingress, lk: Lookups = {}): TargetGroup {
  let labels: LabelSet = { [NAMESPACE_LABEL]: nsOf(ing) };
  if (ing.spec?.ingressClassName !== undefined) labels['__meta_kubernetes_ingress_class_name'] = ing.spec.ingressClassName;
  addObjectMetaLabels(labels, ing.metadata, 'ingress');
  labels = withNamespaceLabels(labels, lk, nsOf(ing));
  const tlsHosts = (ing.spec?.tls ?? []).flatMap((t) => t.hosts ?? []);
  const targets: LabelSet[] = [];
  for (const rule of ing.spec?.rules ?? []) {
    const host = rule.host ?? '';
    const scheme = tlsHosts.some((p) => matchesHostnamePattern(p, host)) ? 'https' : 'http';
    const paths = rule.http?.paths ? rule.http.paths.map((p) => (p.path ? p.path : '/')) : ['/'];
    for (const path of paths) {
      targets.push({ __address__: host, '__meta_kubernetes_ingress_scheme': scheme, '__meta_kubernetes_ingress_host': host, '__meta_kubernetes_ingress_path': path });
    }
  }
  return { source: ingressSource(nsOf(ing), ing.metadata.name), labels, targets };
}

// ------------------------------------------------------------ node

export function nodeSource(name: string): string {
  return `node/${name}`;
}

const NODE_ADDRESS_ORDER = ['InternalIP', 'InternalDNS', 'ExternalIP', 'ExternalDNS', 'LegacyHostIP', 'Hostname'];

/**
 * One target per node at the first address in the order InternalIP, InternalDNS, ExternalIP,
 * ExternalDNS, LegacyHostIP, Hostname, on the kubelet port; `undefined` when the node has none
 * of them (Prometheus sends no group for such a node).
 */
export function buildNode(node: Node): TargetGroup | undefined {
  const labels: LabelSet = { '__meta_kubernetes_node_provider_id': node.spec?.providerID ?? '' };
  addObjectMetaLabels(labels, node.metadata, 'node');
  const byType = new Map<string, string[]>();
  for (const a of node.status?.addresses ?? []) {
    const list = byType.get(a.type) ?? [];
    list.push(a.address);
    byType.set(a.type, list);
  }
  const type = NODE_ADDRESS_ORDER.find((t) => byType.has(t));
  if (type === undefined) return undefined;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
  const t: LabelSet = { __address__: joinHostPort(byType.get(type)![0]!, port), instance: node.metadata.name };
  for (const [ty, addrs] of byType) t[sanitizeLabelName(`${P}node_address_${ty}`)] = addrs[0]!;
  return { source: nodeSource(node.metadata.name), labels, targets: [t] };
}

// ------------------------------------------------------------ store pruning
//
// The pruned objects are built as object literals of one fixed shape per kind (absent fields are
// `undefined`, which every builder treats like a missing field), so all stored objects of a kind
// share one V8 hidden class instead of one per combination of present fields.

function pruneMeta(m: KubeObject['metadata']): KubeObject['metadata'] {
  const owners = m.ownerReferences?.filter((r) => r.controller === true).map((r) => ({ kind: r.kind, name: r.name, controller: true }));
  return { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, labels: m.labels, annotations: m.annotations, ownerReferences: owners };
}

function pruneContainers(cs: readonly Container[] | undefined): Container[] | undefined {
  return cs?.map((c) => ({ name: c.name, image: c.image, ports: c.ports?.map((p) => ({ containerPort: p.containerPort, name: p.name, protocol: p.protocol })) }));
}

type ContainerStatuses = NonNullable<Pod['status']>['containerStatuses'];

function pruneStatuses(s: ContainerStatuses): ContainerStatuses {
  return s?.map((c) => ({ name: c.name, containerID: c.containerID }));
}

/**
 * Keeps only the fields the builders read (informer `transform`; `kind` is the informer's
 * resource: list items carry no `kind`): a pod from a real API server is several KB of JSON,
 * mostly managedFields, volumes, env and probes. Other kinds keep only their builder's fields.
 */
export function pruneForDiscovery<T extends KubeObject>(kind: string, obj: T): T {
  const o = obj as unknown as Pod & Node & Service & Ingress & Endpoints & EndpointSlice;
  const metadata = pruneMeta(o.metadata);
  let out: KubeObject;
  switch (kind) {
    case 'pod': {
      const sp = o.spec;
      const st = o.status;
      const ready = st?.conditions?.filter((c) => c.type === 'Ready').map((c) => ({ type: c.type, status: c.status }));
      const pod: Pod = {
        metadata,
        spec: { nodeName: sp?.nodeName, containers: pruneContainers(sp?.containers), initContainers: pruneContainers(sp?.initContainers) },
        status: { podIP: st?.podIP, hostIP: st?.hostIP, phase: st?.phase, conditions: ready, containerStatuses: pruneStatuses(st?.containerStatuses), initContainerStatuses: pruneStatuses(st?.initContainerStatuses) },
      };
      out = pod;
      break;
    }
    case 'node': {
      const node: Node = { metadata, spec: { providerID: o.spec?.providerID }, status: { addresses: o.status?.addresses, daemonEndpoints: o.status?.daemonEndpoints } };
      out = node;
      break;
    }
    case 'namespace':
      out = { metadata };
      break;
    case 'endpointslice': {
      const slice: EndpointSlice = { metadata, addressType: o.addressType, endpoints: o.endpoints, ports: o.ports };
      out = slice;
      break;
    }
    case 'endpoints': {
      const eps: Endpoints = { metadata, subsets: o.subsets };
      out = eps;
      break;
    }
    case 'service': {
      const sp = o.spec;
      const svc: Service = { metadata, spec: sp && { type: sp.type, clusterIP: sp.clusterIP, externalName: sp.externalName, loadBalancerIP: sp.loadBalancerIP, ports: sp.ports } };
      out = svc;
      break;
    }
    case 'ingress': {
      const ing: Ingress = { metadata, spec: o.spec };
      out = ing;
      break;
    }
    default: {
      const { status: _s, ...rest } = o as unknown as Record<string, unknown> & { status?: unknown };
      void _s;
      out = { ...rest, metadata };
    }
  }
  return out as unknown as T;
}

// ------------------------------------------------------------ flattening

/**
 * Export-form templates: a trie over label-name sequences (a group's names, then one target's).
 * The node a sequence ends at holds a template object with exactly those keys in that order
 * (built once, a fast-property object); every exported target of that shape is a spread clone of
 * it, which shares the template's hidden class, with its values stored into the existing keys (no
 * property is added, so the clone stays fast). No entry arrays are allocated per target.
 * Shapes repeat across objects (same label keys and ports; the API server sends label keys sorted,
 * so sequences share prefixes), so the trie stays small. It is cleared past `MAX_SHAPE_NODES`
 * nodes (a few MB at most): a larger working set of shapes then costs template rebuilds, never
 * wrong labels.
 */
interface ShapeNode {
  next: Map<string, ShapeNode> | undefined;
  template: Readonly<LabelSet> | undefined;
}

const MAX_SHAPE_NODES = 20_000;
let shapeRoot: ShapeNode = { next: undefined, template: undefined };
let shapeNodes = 0;

function shapeStep(n: ShapeNode, key: string): ShapeNode {
  let m = n.next;
  if (m === undefined) n.next = m = new Map();
  let c = m.get(key);
  if (c === undefined) {
    m.set(key, (c = { next: undefined, template: undefined }));
    shapeNodes++;
  }
  return c;
}

function templateOf(n: ShapeNode, groupKeys: readonly string[], targetKeys: readonly string[]): Readonly<LabelSet> {
  let t = n.template;
  // Through JSON.parse: V8's JSON decoder sizes the object to hold every property in-object, and
  // spread clones keep that layout (one allocation per target instead of object + property array).
  if (t === undefined) n.template = t = JSON.parse(JSON.stringify(Object.fromEntries(groupKeys.concat(targetKeys).map((k) => [k, ''])))) as LabelSet;
  return t;
}

/**
 * Discovery export form: each target merged over its group's labels (target labels win, at the
 * group label's position, as with `{ ...labels, ...target }`). Every result is a fast-property
 * object sharing one hidden class per key sequence (keyed stores into `{}` or `Object.assign` of
 * more than ~16 keys give dictionary-mode objects, ~5× the memory).
 */
export function flatten(groups: Iterable<TargetGroup>): LabelSet[] {
  const out: LabelSet[] = [];
  if (shapeNodes > MAX_SHAPE_NODES) {
    shapeRoot = { next: undefined, template: undefined };
    shapeNodes = 0;
  }
  for (const g of groups) {
    if (g.targets.length === 0) continue;
    const gk = Object.keys(g.labels);
    const gv = Object.values(g.labels);
    if (gk.includes('__proto__')) {
      // A key a keyed store would treat as the prototype: the entries form defines it as data.
      const ge = Object.entries(g.labels);
      for (const t of g.targets) out.push(Object.fromEntries(ge.concat(Object.entries(t))) as LabelSet);
      continue;
    }
    let gn = shapeRoot;
    for (const k of gk) gn = shapeStep(gn, k);
    for (const t of g.targets) {
      const tk = Object.keys(t);
      if (tk.includes('__proto__')) {
        out.push(Object.fromEntries(Object.entries(g.labels).concat(Object.entries(t))) as LabelSet);
        continue;
      }
      let n = gn;
      for (const k of tk) n = shapeStep(n, k);
      const o: LabelSet = { ...templateOf(n, gk, tk) };
      for (let i = 0; i < gk.length; i++) o[gk[i]!] = gv[i]!;
      for (const k of tk) o[k] = t[k]!;
      out.push(o);
    }
  }
  return out;
}
