/**
 * Least-privilege Kubernetes API access of one Collector, derived from the components its config
 * uses (argument names as in Grafana Alloy's reference). A config without Kubernetes components
 * gets no rules at all; every rule is read-only.
 *
 * | component | rules | scope |
 * |---|---|---|
 * | `discovery.kubernetes` | by `role`: node → nodes (+ nodes/metrics for scraping them); pod → pods; service → services; endpoints → endpoints, services, pods; endpointslice → endpointslices, services, pods; ingress → ingresses. `attach_metadata { node = true }` → nodes; `{ namespace = true }` → namespaces | `namespaces { names / own_namespace }`, else cluster |
 * | `loki.source.kubernetes` | pods (get), pods/log (get) | namespaces the config's pod discovery covers, else cluster |
 * | `loki.source.kubernetes_events` | events | `namespaces`, else cluster |
 * | `loki.source.podlogs` | podlogs.monitoring.grafana.com, pods, pods/log, namespaces | cluster (selectors are dynamic) |
 * | `prometheus.operator.podmonitors` / `servicemonitors` / `probes` / `scrapeconfigs` | the CRD (monitoring.coreos.com) plus the targets it selects (pods; endpoints, endpointslices, services, pods; ingresses, services; – (the roles of `kubernetesSDConfigs` are chosen by the resources: noted, not granted)), namespaces | `namespaces`, else cluster |
 * | `mimir.rules.kubernetes` | prometheusrules.monitoring.coreos.com, namespaces | cluster |
 * | `otelcol.processor.k8sattributes` | pods, namespaces, replicasets.apps | cluster |
 * | `otelcol.exporter.loadbalancing` with `resolver { kubernetes { service } }` | endpoints | the Service's namespace (`name.namespace`, else the Collector's) |
 *
 * A component that talks to another API server (`api_server`, `kubeconfig_file`, or the same
 * inside its `client` block) needs no rules here. Namespaces that are not literal strings in the
 * config (an expression) widen the scope to the cluster, which is noted. Components that read
 * Secrets or ConfigMaps (`remote.kubernetes.*`, monitors with auth secrets) get no automatic
 * grant: the operator would have to hold Secret access cluster-wide; the note tells the user.
 */

/** A literal argument value, or `DYNAMIC` for an expression the operator does not evaluate. */
export type ConfigValue = string | number | boolean | null | ConfigValue[] | { readonly [k: string]: ConfigValue } | typeof DYNAMIC;
export const DYNAMIC: unique symbol = Symbol('dynamic');

/** A block of an Alloy config: component or nested block, with its literal attributes. */
export interface ConfigBlock {
  /** Dotted name, e.g. `discovery.kubernetes` or `namespaces`. */
  readonly name: string;
  readonly label?: string;
  readonly attrs: Readonly<Record<string, ConfigValue>>;
  readonly blocks: readonly ConfigBlock[];
}

export interface AccessRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

export interface CollectorAccess {
  /** Rules granted cluster-wide (ClusterRole). */
  readonly cluster: readonly AccessRule[];
  /** Rules granted per namespace (Role in that namespace), namespaces sorted. */
  readonly namespaces: Readonly<Record<string, readonly AccessRule[]>>;
  /** What was widened or not granted, and why. */
  readonly notes: readonly string[];
}

const READ = ['get', 'list', 'watch'] as const;
type Grant = { group: string; resource: string; verbs: readonly string[] };
type Scope = 'cluster' | readonly string[];

const g = (group: string, verbs: readonly string[], ...resources: string[]): Grant[] => resources.map((resource) => ({ group, resource, verbs }));

const DISCOVERY_ROLES: Record<string, Grant[]> = {
  node: [...g('', READ, 'nodes'), ...g('', ['get'], 'nodes/metrics')],
  pod: g('', READ, 'pods'),
  service: g('', READ, 'services'),
  endpoints: g('', READ, 'endpoints', 'services', 'pods'),
  endpointslice: [...g('discovery.k8s.io', READ, 'endpointslices'), ...g('', READ, 'services', 'pods')],
  ingress: g('networking.k8s.io', READ, 'ingresses'),
};

const OPERATOR_CRDS: Record<string, Grant[]> = {
  'prometheus.operator.podmonitors': [...g('monitoring.coreos.com', READ, 'podmonitors'), ...g('', READ, 'pods')],
  'prometheus.operator.servicemonitors': [...g('monitoring.coreos.com', READ, 'servicemonitors'), ...g('', READ, 'endpoints', 'services', 'pods'), ...g('discovery.k8s.io', READ, 'endpointslices')],
  'prometheus.operator.probes': [...g('monitoring.coreos.com', READ, 'probes'), ...g('networking.k8s.io', READ, 'ingresses'), ...g('', READ, 'services')],
  'prometheus.operator.scrapeconfigs': g('monitoring.coreos.com', READ, 'scrapeconfigs'),
};

/** Cluster-scoped resources: only grantable by a ClusterRole. */
const CLUSTER_SCOPED = new Set(['nodes', 'nodes/metrics', 'namespaces']);

function str(v: ConfigValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** True when the block (or its `client` block) points at another API server or kubeconfig. */
function external(b: ConfigBlock): boolean {
  const own = (x: ConfigBlock): boolean => x.attrs['api_server'] !== undefined || x.attrs['kubeconfig_file'] !== undefined;
  return own(b) || b.blocks.some((c) => c.name === 'client' && own(c));
}

/** `namespaces` as a list of literal strings: undefined when absent or empty (all), 'dynamic' otherwise. */
function namespaceList(v: ConfigValue | undefined): readonly string[] | undefined | 'dynamic' {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return 'dynamic';
  if (v.length === 0) return undefined;
  return v.every((x) => typeof x === 'string') ? (v as string[]) : 'dynamic';
}

export interface AccessOptions {
  /** The Collector's namespace (`own_namespace = true`). */
  readonly namespace: string;
  /** `namespace`: confine every grant to `namespace` (cluster-scoped resources dropped); `cluster`: widen every grant to the cluster. */
  readonly confine?: 'namespace' | 'cluster';
}

/** The access a config's components need; see the module comment for the table. */
export function collectorAccess(components: readonly ConfigBlock[], opts: AccessOptions): CollectorAccess {
  // `pod-discovery`: the namespaces the config's pod discovery covers, known after the loop.
  const grants: Array<{ grants: Grant[]; scope: Scope | 'pod-discovery' }> = [];
  const notes: string[] = [];
  const where = (b: ConfigBlock): string => `${b.name}${b.label !== undefined ? ` "${b.label}"` : ''}`;
  const scopeOf = (b: ConfigBlock, list: readonly string[] | undefined | 'dynamic'): Scope => {
    if (list === 'dynamic') {
      notes.push(`${where(b)}: namespaces are not literal strings, granted cluster-wide`);
      return 'cluster';
    }
    return list ?? 'cluster';
  };

  // Namespaces the config's pod discovery covers, for loki.source.kubernetes.
  let podScope: Scope | undefined;
  const widenPods = (s: Scope): void => {
    if (podScope === 'cluster' || s === 'cluster') podScope = 'cluster';
    else podScope = [...new Set([...(podScope ?? []), ...s])];
  };

  for (const b of components) {
    if (b.name === 'discovery.kubernetes') {
      if (external(b)) continue;
      const role = str(b.attrs['role']);
      const roleGrants = role !== undefined ? DISCOVERY_ROLES[role] : undefined;
      if (roleGrants === undefined) {
        notes.push(`${where(b)}: role ${role === undefined ? 'is not a literal string' : `"${role}" is unknown`}, nothing granted`);
        continue;
      }
      const ns = b.blocks.find((x) => x.name === 'namespaces');
      let scope: Scope = 'cluster';
      if (ns !== undefined) {
        const names = namespaceList(ns.attrs['names']);
        const own = ns.attrs['own_namespace'] === true;
        if (names === 'dynamic') scope = scopeOf(b, names);
        else if (names !== undefined || own) scope = [...new Set([...(names ?? []), ...(own ? [opts.namespace] : [])])];
      }
      grants.push({ grants: roleGrants, scope });
      if (role === 'pod' || role === 'endpoints' || role === 'endpointslice') widenPods(scope);
      const attach = b.blocks.find((x) => x.name === 'attach_metadata');
      if (attach?.attrs['node'] === true) grants.push({ grants: g('', READ, 'nodes'), scope: 'cluster' });
      if (attach?.attrs['namespace'] === true) grants.push({ grants: g('', READ, 'namespaces'), scope: 'cluster' });
    } else if (b.name === 'loki.source.kubernetes') {
      if (external(b)) continue;
      grants.push({ grants: [...g('', ['get', 'list', 'watch'], 'pods'), ...g('', ['get'], 'pods/log')], scope: 'pod-discovery' });
    } else if (b.name === 'loki.source.kubernetes_events') {
      if (external(b)) continue;
      grants.push({ grants: g('', READ, 'events'), scope: scopeOf(b, namespaceList(b.attrs['namespaces'])) });
    } else if (b.name === 'loki.source.podlogs') {
      if (external(b)) continue;
      grants.push({ grants: [...g('monitoring.grafana.com', READ, 'podlogs'), ...g('', READ, 'pods', 'namespaces'), ...g('', ['get'], 'pods/log')], scope: 'cluster' });
    } else if (b.name in OPERATOR_CRDS) {
      if (external(b)) continue;
      grants.push({ grants: OPERATOR_CRDS[b.name]!, scope: scopeOf(b, namespaceList(b.attrs['namespaces'])) });
      grants.push({ grants: g('', READ, 'namespaces'), scope: 'cluster' });
      notes.push(`${where(b)}: monitors referencing Secrets for scrape auth need secrets get, which is not granted automatically`);
      if (b.name === 'prometheus.operator.scrapeconfigs') {
        notes.push(`${where(b)}: ScrapeConfigs with kubernetesSDConfigs need get, list, watch on the objects of their roles (pods, services, endpoints, endpointslices, nodes, ingresses), which the resources choose at run time and are not granted automatically`);
      }
    } else if (b.name === 'mimir.rules.kubernetes') {
      if (external(b)) continue;
      grants.push({ grants: [...g('monitoring.coreos.com', READ, 'prometheusrules'), ...g('', READ, 'namespaces')], scope: 'cluster' });
    } else if (b.name === 'otelcol.processor.k8sattributes') {
      const auth = str(b.attrs['auth_type']);
      if (auth === 'none' || auth === 'kubeConfig') continue;
      grants.push({ grants: [...g('', READ, 'pods', 'namespaces'), ...g('apps', READ, 'replicasets')], scope: 'cluster' });
    } else if (b.name === 'otelcol.exporter.loadbalancing') {
      const k8s = b.blocks.find((x) => x.name === 'resolver')?.blocks.find((x) => x.name === 'kubernetes');
      if (k8s === undefined) continue;
      const service = k8s.attrs['service'];
      if (typeof service !== 'string') {
        notes.push(`${where(b)}: resolver.kubernetes service is not a literal string, endpoints granted cluster-wide`);
        grants.push({ grants: g('', READ, 'endpoints'), scope: 'cluster' });
        continue;
      }
      const dot = service.indexOf('.');
      grants.push({ grants: g('', READ, 'endpoints'), scope: [dot >= 0 ? service.slice(dot + 1) : opts.namespace] });
    } else if (b.name === 'remote.kubernetes.secret' || b.name === 'remote.kubernetes.configmap') {
      if (external(b)) continue;
      const kind = b.name.endsWith('secret') ? 'secrets' : 'configmaps';
      notes.push(`${where(b)}: needs get on ${kind} ${str(b.attrs['namespace']) ?? '?'}/${str(b.attrs['name']) ?? '?'}; not granted automatically (use spec.serviceAccountName with your own Role)`);
    }
  }
  if (podScope === undefined && grants.some((x) => x.scope === 'pod-discovery')) {
    notes.push('loki.source.kubernetes: no pod discovery in this config names the namespaces, pods/log granted cluster-wide');
  }
  const resolved = grants.map((x) => ({ grants: x.grants, scope: x.scope === 'pod-discovery' ? (podScope ?? 'cluster') : x.scope }));
  return assemble(resolved, opts, notes);
}

function assemble(grants: ReadonlyArray<{ grants: Grant[]; scope: Scope }>, opts: AccessOptions, notes: string[]): CollectorAccess {
  const cluster = new Map<string, Set<string>>();
  const perNs = new Map<string, Map<string, Set<string>>>();
  const add = (into: Map<string, Set<string>>, gr: Grant): void => {
    const key = `${gr.group}\u0000${gr.resource}`;
    const set = into.get(key) ?? new Set<string>();
    for (const v of gr.verbs) set.add(v);
    into.set(key, set);
  };
  for (const { grants: gs, scope } of grants) {
    for (const gr of gs) {
      const clusterScoped = CLUSTER_SCOPED.has(gr.resource);
      if (opts.confine === 'namespace') {
        if (clusterScoped) {
          notes.push(`rbac.discovery=namespace: ${gr.resource} is cluster-scoped and not granted`);
          continue;
        }
        add(perNs.get(opts.namespace) ?? perNs.set(opts.namespace, new Map()).get(opts.namespace)!, gr);
      } else if (opts.confine === 'cluster' || scope === 'cluster' || clusterScoped) {
        add(cluster, gr);
      } else {
        for (const ns of scope) add(perNs.get(ns) ?? perNs.set(ns, new Map()).get(ns)!, gr);
      }
    }
  }
  // A namespaced grant already held cluster-wide is not repeated per namespace.
  for (const m of perNs.values()) {
    for (const [key, verbs] of m) {
      const c = cluster.get(key);
      if (c !== undefined) for (const v of [...verbs]) if (c.has(v)) verbs.delete(v);
      if (verbs.size === 0) m.delete(key);
    }
  }
  const namespaces: Record<string, readonly AccessRule[]> = {};
  for (const ns of [...perNs.keys()].sort()) {
    const rules = toRules(perNs.get(ns)!);
    if (rules.length > 0) namespaces[ns] = rules;
  }
  return { cluster: toRules(cluster), namespaces, notes: [...new Set(notes)] };
}

const VERB_ORDER = ['get', 'list', 'watch'];

/** Rules grouped by (apiGroup, verbs), resources sorted: a stable, compact form. */
function toRules(m: Map<string, Set<string>>): AccessRule[] {
  const byGroupVerbs = new Map<string, { group: string; verbs: string[]; resources: string[] }>();
  for (const [key, verbSet] of m) {
    const [group, resource] = key.split('\u0000') as [string, string];
    const verbs = [...verbSet].sort((a, b) => VERB_ORDER.indexOf(a) - VERB_ORDER.indexOf(b));
    const k = `${group}|${verbs.join(',')}`;
    const entry = byGroupVerbs.get(k) ?? { group, verbs, resources: [] };
    entry.resources.push(resource);
    byGroupVerbs.set(k, entry);
  }
  return [...byGroupVerbs.values()]
    .map((e) => ({ apiGroups: [e.group], resources: e.resources.sort(), verbs: e.verbs }))
    .sort((a, b) => (a.apiGroups[0]! === b.apiGroups[0]! ? a.resources[0]!.localeCompare(b.resources[0]!) : a.apiGroups[0]!.localeCompare(b.apiGroups[0]!)));
}

/** The grants as one line for an Event or log: `cluster: get,list,watch pods; ns obs: ...`, or "no Kubernetes API access". */
export function describeAccess(a: CollectorAccess): string {
  const fmt = (rules: readonly AccessRule[]): string =>
    rules.map((r) => `${r.verbs.join(',')} ${r.resources.map((res) => (r.apiGroups[0] === '' ? res : `${res}.${r.apiGroups[0]}`)).join(',')}`).join('; ');
  const parts: string[] = [];
  if (a.cluster.length > 0) parts.push(`cluster-wide: ${fmt(a.cluster)}`);
  for (const [ns, rules] of Object.entries(a.namespaces)) parts.push(`namespace ${ns}: ${fmt(rules)}`);
  return parts.length === 0 ? 'no Kubernetes API access' : parts.join(' | ');
}

/** Every rule `collectorAccess` can produce, per (group, resource): what the operator must hold to grant it. */
export function grantableRules(): AccessRule[] {
  const all = new Map<string, Set<string>>();
  const add = (gr: Grant): void => {
    const key = `${gr.group}\u0000${gr.resource}`;
    const set = all.get(key) ?? new Set<string>();
    for (const v of gr.verbs) set.add(v);
    all.set(key, set);
  };
  for (const gs of [...Object.values(DISCOVERY_ROLES), ...Object.values(OPERATOR_CRDS)]) gs.forEach(add);
  [
    ...g('', READ, 'nodes', 'namespaces', 'events', 'pods', 'endpoints'),
    ...g('', ['get'], 'pods/log'),
    ...g('monitoring.grafana.com', READ, 'podlogs'),
    ...g('monitoring.coreos.com', READ, 'prometheusrules'),
    ...g('apps', READ, 'replicasets'),
  ].forEach(add);
  return toRules(all);
}
