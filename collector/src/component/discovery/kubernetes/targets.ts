/**
 * Target groups of every `discovery.kubernetes` role, computed from Kubernetes objects exactly
 * as Prometheus's `discovery/kubernetes` builds them (v3: pod.go, service.go, endpoints.go,
 * endpointslice.go, ingress.go, node.go; label names, values, address forms and target order).
 * Pure functions: the caller passes the related objects (services, pods, nodes, namespaces)
 * through `Lookups`. Each role has one writer that emits the group's labels, then each target's,
 * into a `LabelSink` (`label-writer.ts`): `exportTargets` writes the export form directly (what the
 * component publishes), `build*` the group form (Prometheus's target groups, for the tables).
 */
import { isIP } from 'node:net';
import type { KubeObject } from '../../common/kube/client.js';
import { ExportWriter, GroupCollector, type LabelSet, type LabelSink, type TargetGroup } from './label-writer.js';

export { ExportWriter, flatten, type LabelSet, type TargetGroup } from './label-writer.js';

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

/**
 * A label sequence kept for reuse (related objects' labels, written into many targets): names and
 * values interleaved (`[name0, value0, name1, ...]`) in one array of exact length. Written with
 * `writeList`, it gives what the same `set` calls give.
 */
type LabelList = readonly string[];

function writeList(w: LabelSink, l: LabelList): void {
  for (let i = 0; i < l.length; i += 2) w.set(l[i]!, l[i + 1]!);
}

type Labels = Readonly<Record<string, string>> | undefined;

/** Labels and annotations with their `*present` twins, in the order the API sent them. */
function writeLabelsAndAnnotations(w: LabelSink, meta: KubeObject['metadata'], resource: string): void {
  const { labels, annotations } = meta as { labels?: Labels; annotations?: Labels };
  if (labels) {
    for (const k of Object.keys(labels)) {
      const names = metaNames(resource, 'label', k);
      w.set(names[0], labels[k]!);
      w.set(names[1], 'true');
    }
  }
  if (annotations) {
    for (const k of Object.keys(annotations)) {
      const names = metaNames(resource, 'annotation', k);
      w.set(names[0], annotations[k]!);
      w.set(names[1], 'true');
    }
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
function writeObjectMeta(w: LabelSink, meta: KubeObject['metadata'], role: string): void {
  w.set(NAME_LABELS[role] ?? `${P}${role}_name`, meta.name);
  writeLabelsAndAnnotations(w, meta, role);
}

/** A sink that appends to a `LabelList` (what is cached per related object). */
class ListSink implements LabelSink {
  readonly #l: string[] = [];
  set(name: string, value: string): void {
    this.#l.push(name, value);
  }
  begin(): void {
    throw new Error('ListSink holds labels only');
  }
  end(): void {
    throw new Error('ListSink holds labels only');
  }
  /** The sequence at its exact length (`push` leaves spare capacity). */
  list(): LabelList {
    return this.#l.slice();
  }
}

/**
 * Labels of related objects, built once per object: the stores hold pruned objects that a change
 * replaces and nothing mutates, so every target that reads a pod, service, node or namespace
 * reuses one sequence. Objects passed to the builders must not be mutated after the first call.
 */
const listCaches = { pod: new WeakMap<object, LabelList>(), service: new WeakMap<object, LabelList>(), node: new WeakMap<object, LabelList>(), namespace: new WeakMap<object, LabelList>() };

function cached(kind: keyof typeof listCaches, obj: KubeObject, write: (w: LabelSink) => void): LabelList {
  const cache = listCaches[kind];
  let l = cache.get(obj);
  if (l === undefined) {
    const s = new ListSink();
    write(s);
    cache.set(obj, (l = s.list()));
  }
  return l;
}

/** Node metadata (`attach_metadata.node`): node name, labels and annotations, when the node is known. */
function writeNodeLabels(w: LabelSink, lk: Lookups, nodeName: string | undefined): void {
  if (!lk.node || nodeName === undefined) return;
  const node = lk.node(nodeName);
  if (node) writeList(w, cached('node', node, (s) => writeObjectMeta(s, node.metadata, 'node')));
}

/** Namespace metadata (`attach_metadata.namespace`): namespace labels and annotations. */
function writeNamespaceLabels(w: LabelSink, lk: Lookups, namespace: string): void {
  if (!lk.namespace) return;
  const ns = lk.namespace(namespace);
  if (ns) writeList(w, cached('namespace', ns, (s) => writeLabelsAndAnnotations(s, ns.metadata, 'namespace')));
}

const nsOf = (o: KubeObject): string => o.metadata.namespace ?? '';

/** Runs a writer into a `GroupCollector`: the group form Prometheus's tests state. */
function collect(source: string, write: (w: LabelSink) => void): TargetGroup {
  const c = new GroupCollector();
  write(c);
  return { source, labels: c.labels, targets: c.targets };
}

// ------------------------------------------------------------ pod

/** The condition statuses Kubernetes sets, lower-cased once (not one new string per pod). */
const READY_VALUES: Readonly<Record<string, string>> = { True: 'true', False: 'false', Unknown: 'unknown' };

export function podReady(pod: Pod): string {
  for (const c of pod.status?.conditions ?? []) if (c.type === 'Ready') return READY_VALUES[c.status] ?? c.status.toLowerCase();
  return 'unknown';
}

/** Labels every pod-backed target carries (pod role group labels, endpoints/endpointslice per target). */
function writePodLabels(w: LabelSink, pod: Pod): void {
  w.set('__meta_kubernetes_pod_ip', pod.status?.podIP ?? '');
  w.set('__meta_kubernetes_pod_ready', podReady(pod));
  w.set('__meta_kubernetes_pod_phase', pod.status?.phase ?? '');
  w.set('__meta_kubernetes_pod_node_name', pod.spec?.nodeName ?? '');
  w.set('__meta_kubernetes_pod_host_ip', pod.status?.hostIP ?? '');
  w.set('__meta_kubernetes_pod_uid', pod.metadata.uid ?? '');
  writeObjectMeta(w, pod.metadata, 'pod');
  const ctl = (pod.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (ctl) {
    if (ctl.kind) w.set('__meta_kubernetes_pod_controller_kind', ctl.kind);
    if (ctl.name) w.set('__meta_kubernetes_pod_controller_name', ctl.name);
  }
}

/** The pod's labels, built once per pod object (see `listCaches`). */
function podList(pod: Pod): LabelList {
  return cached('pod', pod, (s) => writePodLabels(s, pod));
}

export function podSource(namespace: string, name: string): string {
  return `pod/${namespace}/${name}`;
}

function writePodContainers(w: LabelSink, ip: string, cs: readonly Container[] | undefined, statuses: ContainerStatuses, init: string): void {
  if (!cs) return;
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    let cID = '';
    if (statuses) {
      for (let j = 0; j < statuses.length; j++) {
        const s = statuses[j]!;
        if (s.name === c.name) {
          cID = s.containerID ?? '';
          break;
        }
      }
    }
    const image = c.image ?? '';
    if (!c.ports || c.ports.length === 0) {
      // No ports: one port-free target per container; relabeling must add the port.
      w.begin();
      w.set('__address__', ip);
      w.set('__meta_kubernetes_pod_container_name', c.name);
      w.set('__meta_kubernetes_pod_container_id', cID);
      w.set('__meta_kubernetes_pod_container_image', image);
      w.set('__meta_kubernetes_pod_container_init', init);
      w.end();
      continue;
    }
    for (let j = 0; j < c.ports.length; j++) {
      const port = c.ports[j]!;
      w.begin();
      w.set('__address__', joinHostPort(ip, port.containerPort));
      w.set('__meta_kubernetes_pod_container_name', c.name);
      w.set('__meta_kubernetes_pod_container_id', cID);
      w.set('__meta_kubernetes_pod_container_image', image);
      w.set('__meta_kubernetes_pod_container_init', init);
      w.set('__meta_kubernetes_pod_container_port_number', String(port.containerPort));
      w.set('__meta_kubernetes_pod_container_port_name', port.name ?? '');
      w.set('__meta_kubernetes_pod_container_port_protocol', port.protocol ?? '');
      w.end();
    }
  }
}

function writePod(w: LabelSink, pod: Pod, lk: Lookups): void {
  const ip = pod.status?.podIP ?? '';
  // PodIP can be empty when a pod is starting or has been evicted.
  if (ip === '') return;
  const ns = nsOf(pod);
  writeList(w, podList(pod));
  w.set(NAMESPACE_LABEL, ns);
  writeNodeLabels(w, lk, pod.spec?.nodeName ?? '');
  writeNamespaceLabels(w, lk, ns);
  writePodContainers(w, ip, pod.spec?.containers, pod.status?.containerStatuses, 'false');
  writePodContainers(w, ip, pod.spec?.initContainers, pod.status?.initContainerStatuses, 'true');
}

export function buildPod(pod: Pod, lk: Lookups = {}): TargetGroup {
  return collect(podSource(nsOf(pod), pod.metadata.name), (w) => writePod(w, pod, lk));
}

// ------------------------------------------------------------ service

function serviceList(svc: Service): LabelList {
  return cached('service', svc, (s) => {
    s.set(NAMESPACE_LABEL, nsOf(svc));
    writeObjectMeta(s, svc.metadata, 'service');
  });
}

export function serviceSource(namespace: string, name: string): string {
  return `svc/${namespace}/${name}`;
}

function writeService(w: LabelSink, svc: Service, lk: Lookups): void {
  writeList(w, serviceList(svc));
  writeNamespaceLabels(w, lk, nsOf(svc));
  const type = svc.spec?.type ?? '';
  for (const port of svc.spec?.ports ?? []) {
    w.begin();
    w.set('__address__', joinHostPort(`${svc.metadata.name}.${nsOf(svc)}.svc`, port.port));
    w.set('__meta_kubernetes_service_port_name', port.name ?? '');
    w.set('__meta_kubernetes_service_port_number', String(port.port));
    w.set('__meta_kubernetes_service_port_protocol', port.protocol ?? '');
    w.set('__meta_kubernetes_service_type', type);
    if (type === 'ExternalName') w.set('__meta_kubernetes_service_external_name', svc.spec?.externalName ?? '');
    else w.set('__meta_kubernetes_service_cluster_ip', svc.spec?.clusterIP ?? '');
    if (type === 'LoadBalancer') w.set('__meta_kubernetes_service_loadbalancer_ip', svc.spec?.loadBalancerIP ?? '');
    w.end();
  }
}

export function buildService(svc: Service, lk: Lookups = {}): TargetGroup {
  return collect(serviceSource(nsOf(svc), svc.metadata.name), (w) => writeService(w, svc, lk));
}

// ------------------------------------------------------------ endpoints (both endpoint roles)

export function endpointsSource(namespace: string, name: string): string {
  return `endpoints/${namespace}/${name}`;
}

function writeContainerPort(w: LabelSink, c: Container, cport: ContainerPort, init: string, protocol: string | undefined): void {
  w.set('__meta_kubernetes_pod_container_name', c.name);
  w.set('__meta_kubernetes_pod_container_image', c.image ?? '');
  w.set('__meta_kubernetes_pod_container_port_name', cport.name ?? '');
  w.set('__meta_kubernetes_pod_container_port_number', String(cport.containerPort));
  w.set('__meta_kubernetes_pod_container_port_protocol', protocol ?? '');
  w.set('__meta_kubernetes_pod_container_init', init);
}

/** Pods the endpoint targets of one group referenced (in first-reference order), with the endpoint ports seen per pod. */
type SeenPods = Map<Pod, number[]>;

/** The `SeenPods` of the group being written (the writers run one group at a time); emptied after each group. */
const seenScratch: SeenPods = new Map();

/** Targets for container ports of seen pods that no endpoint port covered (pod IP, pod labels). */
function writeUncoveredPodPorts(w: LabelSink, seen: SeenPods, skip?: (pod: Pod) => boolean): void {
  seen.forEach((ports, pod) => {
    const ip = pod.status?.podIP ?? '';
    if (ip === '' || skip?.(pod)) return;
    const labels = podList(pod);
    for (let k = 0; k < 2; k++) {
      const init = k === 1 ? 'true' : 'false';
      const cs = k === 1 ? pod.spec?.initContainers : pod.spec?.containers;
      if (!cs) continue;
      for (let i = 0; i < cs.length; i++) {
        const c = cs[i]!;
        if (!c.ports) continue;
        for (let j = 0; j < c.ports.length; j++) {
          const cport = c.ports[j]!;
          if (ports.includes(cport.containerPort)) continue;
          w.begin();
          w.set('__address__', joinHostPort(ip, cport.containerPort));
          writeContainerPort(w, c, cport, init, cport.protocol);
          writeList(w, labels);
          w.end();
        }
      }
    }
  });
}

/**
 * A pod-backed endpoint target: the pod's labels, plus the labels of the first container port
 * (containers, then init containers) equal to the endpoint `port`; records the port as covered
 * for `writeUncoveredPodPorts`. `endpointProtocol` is undefined to take the container port's.
 */
function writeWithPod(w: LabelSink, pod: Pod, port: number | undefined, seen: SeenPods, endpointProtocol: string | undefined, useEndpointProtocol: boolean): void {
  let ports = seen.get(pod);
  if (!ports) seen.set(pod, (ports = []));
  writeList(w, podList(pod));
  if (port === undefined) return;
  search: for (let k = 0; k < 2; k++) {
    const cs = k === 1 ? pod.spec?.initContainers : pod.spec?.containers;
    if (!cs) continue;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!;
      if (!c.ports) continue;
      for (let j = 0; j < c.ports.length; j++) {
        const cport = c.ports[j]!;
        if (cport.containerPort !== port) continue;
        writeContainerPort(w, c, cport, k === 1 ? 'true' : 'false', useEndpointProtocol ? endpointProtocol : cport.protocol);
        break search;
      }
    }
  }
  ports.push(port);
}

function resolvePod(lk: Lookups, ref: ObjectRef | undefined): Pod | undefined {
  if (!ref || ref.kind !== 'Pod' || !lk.pod) return undefined;
  return lk.pod(ref.namespace ?? '', ref.name ?? '');
}

function writeEndpoints(w: LabelSink, eps: Endpoints, lk: Lookups): void {
  const ns = nsOf(eps);
  w.set(NAMESPACE_LABEL, ns);
  const svc = lk.service?.(ns, eps.metadata.name);
  if (svc) writeList(w, serviceList(svc));
  writeObjectMeta(w, eps.metadata, 'endpoints');
  writeNamespaceLabels(w, lk, ns);
  const seen = seenScratch;
  seen.clear();
  const add = (addr: EndpointAddress, port: EndpointPort, ready: string): void => {
    w.begin();
    w.set('__address__', joinHostPort(addr.ip, port.port));
    w.set('__meta_kubernetes_endpoint_port_name', port.name ?? '');
    w.set('__meta_kubernetes_endpoint_port_protocol', port.protocol ?? '');
    w.set('__meta_kubernetes_endpoint_ready', ready);
    if (addr.targetRef) {
      w.set('__meta_kubernetes_endpoint_address_target_kind', addr.targetRef.kind ?? '');
      w.set('__meta_kubernetes_endpoint_address_target_name', addr.targetRef.name ?? '');
    }
    if (addr.nodeName !== undefined) w.set('__meta_kubernetes_endpoint_node_name', addr.nodeName);
    if (addr.hostname) w.set('__meta_kubernetes_endpoint_hostname', addr.hostname);
    if (lk.node) writeNodeLabels(w, lk, addr.nodeName === undefined && addr.targetRef?.kind === 'Node' ? addr.targetRef.name : addr.nodeName);
    const pod = resolvePod(lk, addr.targetRef);
    // Prometheus takes the protocol of the endpoint port here.
    if (pod) writeWithPod(w, pod, port.port, seen, port.protocol, true);
    w.end();
  };
  for (const ss of eps.subsets ?? []) {
    for (const port of ss.ports ?? []) {
      for (const addr of ss.addresses ?? []) add(addr, port, 'true');
      for (const addr of ss.notReadyAddresses ?? []) add(addr, port, 'false');
    }
  }
  writeUncoveredPodPorts(w, seen);
  seen.clear();
}

export function buildEndpoints(eps: Endpoints, lk: Lookups = {}): TargetGroup {
  return collect(endpointsSource(nsOf(eps), eps.metadata.name), (w) => writeEndpoints(w, eps, lk));
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

function writeSliceEndpoint(w: LabelSink, addr: string, ep: SliceEndpoint, port: SlicePort, lk: Lookups, seen: SeenPods): void {
  w.begin();
  w.set('__address__', port.port !== undefined ? joinHostPort(addr, port.port) : addr);
  if (port.name !== undefined) w.set('__meta_kubernetes_endpointslice_port_name', port.name);
  if (port.protocol !== undefined) w.set('__meta_kubernetes_endpointslice_port_protocol', port.protocol);
  if (port.port !== undefined) w.set('__meta_kubernetes_endpointslice_port', String(port.port));
  if (port.appProtocol !== undefined) w.set('__meta_kubernetes_endpointslice_port_app_protocol', port.appProtocol);
  const cond = ep.conditions;
  if (cond) {
    if (cond.ready !== undefined) w.set('__meta_kubernetes_endpointslice_endpoint_conditions_ready', String(cond.ready));
    if (cond.serving !== undefined) w.set('__meta_kubernetes_endpointslice_endpoint_conditions_serving', String(cond.serving));
    if (cond.terminating !== undefined) w.set('__meta_kubernetes_endpointslice_endpoint_conditions_terminating', String(cond.terminating));
  }
  if (ep.hostname !== undefined) w.set('__meta_kubernetes_endpointslice_endpoint_hostname', ep.hostname);
  if (ep.targetRef) {
    w.set('__meta_kubernetes_endpointslice_address_target_kind', ep.targetRef.kind ?? '');
    w.set('__meta_kubernetes_endpointslice_address_target_name', ep.targetRef.name ?? '');
  }
  if (ep.nodeName !== undefined) w.set('__meta_kubernetes_endpointslice_endpoint_node_name', ep.nodeName);
  if (ep.zone !== undefined) w.set('__meta_kubernetes_endpointslice_endpoint_zone', ep.zone);
  if (ep.deprecatedTopology) {
    for (const k of Object.keys(ep.deprecatedTopology)) {
      const ln = sanitizeLabelName(k);
      w.set(`${P}endpointslice_endpoint_topology_${ln}`, ep.deprecatedTopology[k]!);
      w.set(`${P}endpointslice_endpoint_topology_present_${ln}`, 'true');
    }
  }
  if (lk.node) writeNodeLabels(w, lk, ep.targetRef?.kind === 'Node' ? ep.targetRef.name : ep.nodeName);
  const pod = resolvePod(lk, ep.targetRef);
  if (pod) writeWithPod(w, pod, port.port, seen, undefined, false);
  w.end();
}

function writeEndpointSlice(w: LabelSink, eps: EndpointSlice, lk: Lookups): void {
  const ns = nsOf(eps);
  w.set(NAMESPACE_LABEL, ns);
  w.set('__meta_kubernetes_endpointslice_address_type', eps.addressType ?? '');
  writeObjectMeta(w, eps.metadata, 'endpointslice');
  const svcName = eps.metadata.labels?.[SERVICE_NAME_LABEL];
  const svc = svcName !== undefined ? lk.service?.(ns, svcName) : undefined;
  if (svc) writeList(w, serviceList(svc));
  writeNamespaceLabels(w, lk, ns);
  const seen = seenScratch;
  seen.clear();
  const endpoints = eps.endpoints;
  const ports = eps.ports;
  if (endpoints && ports) {
    for (let i = 0; i < endpoints.length; i++) {
      const ep = endpoints[i]!;
      const addrs = ep.addresses;
      if (!addrs) continue;
      for (let j = 0; j < ports.length; j++) for (let k = 0; k < addrs.length; k++) writeSliceEndpoint(w, addrs[k]!, ep, ports[j]!, lk, seen);
    }
  }
  // A dual-stack Service has one slice per address family; the pod's uncovered container ports
  // are emitted by the slice of the pod IP's family only, so they are not duplicated.
  const at = eps.addressType;
  writeUncoveredPodPorts(w, seen, at === 'IPv4' || at === 'IPv6' ? (pod) => {
    const fam = ipFamily(pod.status?.podIP ?? '');
    return fam !== undefined && fam !== at;
  } : undefined);
  seen.clear();
}

export function buildEndpointSlice(eps: EndpointSlice, lk: Lookups = {}): TargetGroup {
  return collect(endpointSliceSource(nsOf(eps), eps.metadata.name), (w) => writeEndpointSlice(w, eps, lk));
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

function writeIngress(w: LabelSink, ing: Ingress, lk: Lookups): void {
  w.set(NAMESPACE_LABEL, nsOf(ing));
  if (ing.spec?.ingressClassName !== undefined) w.set('__meta_kubernetes_ingress_class_name', ing.spec.ingressClassName);
  writeObjectMeta(w, ing.metadata, 'ingress');
  writeNamespaceLabels(w, lk, nsOf(ing));
  const tlsHosts = (ing.spec?.tls ?? []).flatMap((t) => t.hosts ?? []);
  for (const rule of ing.spec?.rules ?? []) {
    const host = rule.host ?? '';
    const scheme = tlsHosts.some((p) => matchesHostnamePattern(p, host)) ? 'https' : 'http';
    const paths = rule.http?.paths ? rule.http.paths.map((p) => (p.path ? p.path : '/')) : ['/'];
    for (const path of paths) {
      w.begin();
      w.set('__address__', host);
      w.set('__meta_kubernetes_ingress_scheme', scheme);
      w.set('__meta_kubernetes_ingress_host', host);
      w.set('__meta_kubernetes_ingress_path', path);
      w.end();
    }
  }
}

export function buildIngress(ing: Ingress, lk: Lookups = {}): TargetGroup {
  return collect(ingressSource(nsOf(ing), ing.metadata.name), (w) => writeIngress(w, ing, lk));
}

// ------------------------------------------------------------ node

export function nodeSource(name: string): string {
  return `node/${name}`;
}

const NODE_ADDRESS_ORDER = ['InternalIP', 'InternalDNS', 'ExternalIP', 'ExternalDNS', 'LegacyHostIP', 'Hostname'];

/**
 * One target per node at the first address in the order InternalIP, InternalDNS, ExternalIP,
 * ExternalDNS, LegacyHostIP, Hostname, on the kubelet port; false (nothing written) when the node
 * has none of them (Prometheus sends no group for such a node).
 */
function writeNode(w: LabelSink, node: Node): boolean {
  const byType = new Map<string, string[]>();
  for (const a of node.status?.addresses ?? []) {
    const list = byType.get(a.type) ?? [];
    list.push(a.address);
    byType.set(a.type, list);
  }
  const type = NODE_ADDRESS_ORDER.find((t) => byType.has(t));
  if (type === undefined) return false;
  w.set('__meta_kubernetes_node_provider_id', node.spec?.providerID ?? '');
  writeObjectMeta(w, node.metadata, 'node');
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
  w.begin();
  w.set('__address__', joinHostPort(byType.get(type)![0]!, port));
  w.set('instance', node.metadata.name);
  for (const [ty, addrs] of byType) w.set(sanitizeLabelName(`${P}node_address_${ty}`), addrs[0]!);
  w.end();
  return true;
}

/** The node's group, `undefined` when it has no known address type (see `writeNode`). */
export function buildNode(node: Node): TargetGroup | undefined {
  let found = false;
  const g = collect(nodeSource(node.metadata.name), (w) => (found = writeNode(w, node)));
  return found ? g : undefined;
}

// ------------------------------------------------------------ export form

export type TargetRole = 'pod' | 'service' | 'endpoints' | 'endpointslice' | 'ingress' | 'node';

/**
 * Writes the targets of `obj` (an object of `role`'s kind) to `w`: the same labels, in the same
 * order, as the role's `build*` group form merged by `flatten`. Returns false when Prometheus
 * sends no group for the object (a node without a known address type).
 */
export function writeTargets(w: LabelSink, role: TargetRole, obj: KubeObject, lk: Lookups): boolean {
  switch (role) {
    case 'pod':
      writePod(w, obj as Pod, lk);
      return true;
    case 'service':
      writeService(w, obj as Service, lk);
      return true;
    case 'endpoints':
      writeEndpoints(w, obj as Endpoints, lk);
      return true;
    case 'endpointslice':
      writeEndpointSlice(w, obj as EndpointSlice, lk);
      return true;
    case 'ingress':
      writeIngress(w, obj as Ingress, lk);
      return true;
    case 'node':
      return writeNode(w, obj as Node);
  }
}

/** The export form of one object's targets (see `writeTargets`); `undefined` when it has no group. */
export function exportTargets(role: TargetRole, obj: KubeObject, lk: Lookups = {}, w: ExportWriter = new ExportWriter()): LabelSet[] | undefined {
  const out: LabelSet[] = [];
  w.startGroup(out);
  return writeTargets(w, role, obj, lk) ? out : undefined;
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
