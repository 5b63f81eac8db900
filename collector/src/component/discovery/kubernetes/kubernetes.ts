/**
 * `discovery.kubernetes`: watches Kubernetes objects of one `role` and exports their targets with
 * the `__meta_kubernetes_*` labels Prometheus's Kubernetes discovery gives them (`targets.ts`).
 *
 * Contracts:
 * - Informers (list + watch, see `common/kube/informer.ts`) per namespace and resource; targets
 *   are republished within ~50 ms of a watch event, once every informer has listed once.
 * - API failures (down, 403, 5xx) make the component unhealthy with the server's message; the
 *   last exported targets stay until the informers recover (no restart needed).
 * - `update` with different arguments stops the informers and starts new ones; the exports stay
 *   until the new informers have synced.
 * - Bad arguments (unknown role, selector syntax, selector roles, unreadable kubeconfig) fail
 *   validation with the argument named.
 */
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent, Health, HealthComponent } from '../../../runtime/component.js';
import { block, blocks } from '../../../syntax/vm/schema.js';
import { clientSettings, httpClientConfigFields } from '../../common/http-client-config.js';
import { KubeClient, collectionPath, type KubeObject } from '../../common/kube/client.js';
import { checkKubeConnectionArgs, ownNamespace, resolveConnection } from '../../common/kube/config.js';
import { Informer, keyOf, type InformerEventType } from '../../common/kube/informer.js';
import { fieldSelectorError, labelSelectorError } from '../../common/kube/selectors.js';
import {
  SERVICE_NAME_LABEL,
  buildEndpointSlice,
  buildEndpoints,
  buildIngress,
  buildNode,
  buildPod,
  buildService,
  flatten,
  pruneForDiscovery,
  type EndpointSlice,
  type Endpoints,
  type Ingress,
  type LabelSet,
  type Lookups,
  type Node,
  type Pod,
  type Service,
  type TargetGroup,
} from './targets.js';

export const ROLES = ['node', 'pod', 'service', 'endpoints', 'endpointslice', 'ingress'] as const;
export type Role = (typeof ROLES)[number];

/** Which selector roles each discovery role accepts (Prometheus's `allowedSelectors`). */
const ALLOWED_SELECTORS: Record<Role, readonly Role[]> = {
  pod: ['pod', 'node'],
  service: ['service'],
  endpointslice: ['pod', 'service', 'endpointslice', 'node'],
  endpoints: ['pod', 'service', 'endpoints', 'node'],
  node: ['node'],
  ingress: ['ingress'],
};

const selectorSchema = z
  .object({ role: z.string(), label: z.string().default(''), field: z.string().default('') })
  .strict()
  .superRefine((s, ctx) => {
    if (!(ROLES as readonly string[]).includes(s.role)) ctx.addIssue({ code: 'custom', path: ['role'], message: `unknown Kubernetes SD role ${JSON.stringify(s.role)} in selectors; use one of ${ROLES.join(', ')}` });
    const le = labelSelectorError(s.label);
    if (le) ctx.addIssue({ code: 'custom', path: ['label'], message: le });
    const fe = fieldSelectorError(s.field);
    if (fe) ctx.addIssue({ code: 'custom', path: ['field'], message: fe });
  });

export const argumentsSchema = z
  .object({
    api_server: z.string().optional(),
    role: z.string(),
    kubeconfig_file: z.string().optional(),
    ...httpClientConfigFields,
    namespaces: block(z.object({ own_namespace: z.boolean().default(false), names: z.array(z.string()).default([]) }).strict()).optional(),
    selectors: blocks(selectorSchema).default([]),
    attach_metadata: block(z.object({ node: z.boolean().default(false), namespace: z.boolean().default(false) }).strict()).optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (!(ROLES as readonly string[]).includes(a.role)) {
      ctx.addIssue({ code: 'custom', path: ['role'], message: `unknown Kubernetes SD role ${JSON.stringify(a.role)}; use one of ${ROLES.join(', ')}` });
    } else {
      const allowed = ALLOWED_SELECTORS[a.role as Role];
      const seen = new Set<string>();
      a.selectors.forEach((s, i) => {
        if (seen.has(s.role)) ctx.addIssue({ code: 'custom', path: ['selectors', i, 'role'], message: `duplicated selector role: ${s.role}` });
        seen.add(s.role);
        if ((ROLES as readonly string[]).includes(s.role) && !allowed.includes(s.role as Role)) {
          ctx.addIssue({ code: 'custom', path: ['selectors', i, 'role'], message: `${a.role} role supports only ${allowed.join(', ')} selectors` });
        }
      });
    }
    checkKubeConnectionArgs(a, ctx);
  });

export type Arguments = z.output<typeof argumentsSchema>;

export interface Exports {
  readonly targets: readonly LabelSet[];
}

interface ResourceDef {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly namespaced: boolean;
}

const RESOURCES: Record<'pod' | 'service' | 'endpoints' | 'endpointslice' | 'ingress' | 'node' | 'namespace', ResourceDef> = {
  pod: { group: '', version: 'v1', resource: 'pods', namespaced: true },
  service: { group: '', version: 'v1', resource: 'services', namespaced: true },
  endpoints: { group: '', version: 'v1', resource: 'endpoints', namespaced: true },
  endpointslice: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespaced: true },
  ingress: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', namespaced: true },
  node: { group: '', version: 'v1', resource: 'nodes', namespaced: false },
  namespace: { group: '', version: 'v1', resource: 'namespaces', namespaced: false },
};

type Kind = keyof typeof RESOURCES;

/** One informer per (kind, namespace); `''` is all namespaces or a cluster-scoped kind. */
class Watchers {
  readonly byKind = new Map<Kind, Map<string, Informer<KubeObject>>>();

  add(kind: Kind, ns: string, inf: Informer<KubeObject>): void {
    let m = this.byKind.get(kind);
    if (!m) this.byKind.set(kind, (m = new Map()));
    m.set(ns, inf);
  }

  get<T extends KubeObject>(kind: Kind, ns: string, name: string): T | undefined {
    const m = this.byKind.get(kind);
    if (!m) return undefined;
    const inf = m.get(RESOURCES[kind].namespaced ? ns : '') ?? m.get('');
    return inf?.get(RESOURCES[kind].namespaced ? `${ns}/${name}` : name) as T | undefined;
  }

  *values<T extends KubeObject>(kind: Kind): Generator<T> {
    for (const inf of this.byKind.get(kind)?.values() ?? []) yield* inf.values() as IterableIterator<T>;
  }

  all(): Informer<KubeObject>[] {
    return [...this.byKind.values()].flatMap((m) => [...m.values()]);
  }
}

/** What a `Discovery` reads from the arguments (the operator components build this themselves). */
export type DiscoverySpec = Pick<Arguments, 'role' | 'selectors' | 'namespaces' | 'attach_metadata'>;

/**
 * One run of the discovery for fixed arguments: informers, target groups, publishing. Also used
 * by the `prometheus.operator.*` components for the `kubernetes_sd_configs` they generate.
 */
export class Discovery {
  readonly #role: Role;
  readonly #watchers = new Watchers();
  /** Source → its targets, already merged over the group labels (the export form). */
  readonly #groups = new Map<string, LabelSet[]>();
  /** Sorted group sources; recomputed only when a group appears or disappears. */
  #order: string[] | undefined;
  readonly #dirty = new Set<string>();
  readonly #dependents = new Map<string, Set<string>>();
  readonly #depsOf = new Map<string, string[]>();
  readonly #errors = new Map<Informer<KubeObject>, string>();
  readonly #lookups: Lookups;
  readonly #publish: (targets: LabelSet[]) => void;
  readonly #health: (error: string | undefined) => void;
  #timer: NodeJS.Timeout | undefined;
  #allSynced = false;
  #events = 0;

  /** @throws Error when `namespaces.own_namespace` is set and the pod's namespace is unknown. */
  constructor(args: DiscoverySpec, client: KubeClient, publish: (t: LabelSet[]) => void, health: (e: string | undefined) => void) {
    this.#role = args.role as Role;
    this.#publish = publish;
    this.#health = health;
    const role = this.#role;
    const sel = new Map(args.selectors.map((s) => [s.role, s]));
    const names = args.namespaces?.names ?? [];
    let namespaces = [...names];
    if (args.namespaces?.own_namespace) {
      const own = ownNamespace();
      if (own === undefined) throw new Error('namespaces.own_namespace: could not determine the pod\'s namespace (no service account namespace file)');
      namespaces.push(own);
    }
    if (namespaces.length === 0) namespaces = [''];
    const attachNode = args.attach_metadata?.node === true && (role === 'pod' || role === 'endpoints' || role === 'endpointslice');
    const attachNs = args.attach_metadata?.namespace === true && role !== 'node';
    const watch = (kind: Kind, selRole: Role | undefined, nsList: readonly string[]): void => {
      const def = RESOURCES[kind];
      const s = selRole !== undefined ? sel.get(selRole) : undefined;
      for (const ns of def.namespaced ? nsList : ['']) {
        const inf: Informer<KubeObject> = new Informer<KubeObject>({
          client,
          path: collectionPath(def.group, def.version, def.resource, ns || undefined),
          labelSelector: s?.label,
          fieldSelector: s?.field,
          onEvent: (t, obj) => this.#onEvent(kind, t, obj),
          onStatus: (st) => this.#onStatus(inf, st.ok ? undefined : st.error.message),
          onSynced: () => this.#onSynced(),
          transform: (o) => pruneForDiscovery(kind, o),
        });
        this.#watchers.add(kind, ns, inf);
      }
    };
    switch (role) {
      case 'pod':
        watch('pod', 'pod', namespaces);
        break;
      case 'service':
        watch('service', 'service', namespaces);
        break;
      case 'ingress':
        watch('ingress', 'ingress', namespaces);
        break;
      case 'node':
        watch('node', 'node', ['']);
        break;
      case 'endpoints':
      case 'endpointslice':
        watch(role, role, namespaces);
        watch('service', 'service', namespaces);
        watch('pod', 'pod', namespaces);
        break;
    }
    if (attachNode) watch('node', 'node', ['']);
    if (attachNs) watch('namespace', undefined, ['']); // no selector role applies to namespaces
    const w = this.#watchers;
    this.#lookups = {
      service: (ns, name) => w.get<Service>('service', ns, name),
      pod: (ns, name) => w.get<Pod>('pod', ns, name),
      ...(attachNode ? { node: (name: string) => w.get<Node>('node', '', name) } : {}),
      ...(attachNs ? { namespace: (name: string) => w.get<KubeObject>('namespace', '', name) } : {}),
    };
  }

  get synced(): boolean {
    return this.#allSynced;
  }

  get events(): number {
    return this.#events;
  }

  get groups(): number {
    return this.#groups.size;
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all(this.#watchers.all().map((i) => i.run(signal)));
    if (this.#timer) clearTimeout(this.#timer);
  }

  #onStatus(inf: Informer<KubeObject>, error: string | undefined): void {
    if (error === undefined) this.#errors.delete(inf);
    else this.#errors.set(inf, error);
    const first = this.#errors.values().next();
    this.#health(first.done ? undefined : first.value);
  }

  #onSynced(): void {
    if (this.#allSynced || !this.#watchers.all().every((i) => i.synced)) return;
    this.#allSynced = true;
    for (const o of this.#watchers.values<KubeObject>(this.#primaryKind())) this.#dirty.add(keyOf(o));
    this.#schedule();
  }

  #primaryKind(): Kind {
    return this.#role;
  }

  #onEvent(kind: Kind, type: InformerEventType, obj: KubeObject): void {
    this.#events++;
    if (kind === this.#primaryKind()) {
      const key = keyOf(obj);
      this.#index(key, type === 'delete' ? undefined : obj);
      this.#dirty.add(key);
    } else {
      const ns = RESOURCES[kind].namespaced ? (obj.metadata.namespace ?? '') : '';
      for (const p of this.#dependents.get(`${kind}:${ns}/${obj.metadata.name}`) ?? []) this.#dirty.add(p);
    }
    if (this.#allSynced) this.#schedule();
  }

  /** Maintains related object → primary keys, so a related change rebuilds only its dependents. */
  #index(key: string, obj: KubeObject | undefined): void {
    for (const d of this.#depsOf.get(key) ?? []) {
      const set = this.#dependents.get(d);
      set?.delete(key);
      if (set?.size === 0) this.#dependents.delete(d);
    }
    this.#depsOf.delete(key);
    if (!obj) return;
    const deps = this.#relatedOf(obj);
    if (deps.length === 0) return;
    this.#depsOf.set(key, deps);
    for (const d of deps) {
      let set = this.#dependents.get(d);
      if (!set) this.#dependents.set(d, (set = new Set()));
      set.add(key);
    }
  }

  /**
   * Keys (`kind:ns/name`) of the related objects the group of primary object `p` reads, among the
   * kinds watched (node and namespace keys only with `attach_metadata`: nothing else emits them).
   */
  #relatedOf(p: KubeObject): string[] {
    const ns = p.metadata.namespace ?? '';
    const out = new Set<string>();
    const nodes = this.#lookups.node !== undefined;
    if (this.#role !== 'node' && this.#lookups.namespace) out.add(`namespace:/${ns}`);
    if (this.#role === 'pod' && nodes) {
      const node = (p as Pod).spec?.nodeName;
      if (node) out.add(`node:/${node}`);
    }
    if (this.#role === 'endpoints') out.add(`service:${ns}/${p.metadata.name}`);
    if (this.#role === 'endpointslice') {
      const svc = p.metadata.labels?.[SERVICE_NAME_LABEL];
      if (svc !== undefined) out.add(`service:${ns}/${svc}`);
    }
    if (this.#role === 'endpoints' || this.#role === 'endpointslice') {
      for (const r of refs(p)) {
        if (r.kind === 'Pod' && r.name) out.add(`pod:${r.namespace ?? ns}/${r.name}`);
        if (nodes && r.kind === 'Node' && r.name) out.add(`node:/${r.name}`);
        if (nodes && r.nodeName) out.add(`node:/${r.nodeName}`);
      }
    }
    return [...out];
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, 50);
  }

  #flush(): void {
    const kind = this.#primaryKind();
    for (const key of this.#dirty) {
      const slash = key.indexOf('/');
      const [ns, name] = slash >= 0 && RESOURCES[kind].namespaced ? [key.slice(0, slash), key.slice(slash + 1)] : ['', key];
      const obj = this.#watchers.get<KubeObject>(kind, ns, name);
      const source = sourceOf(kind, ns, name);
      const g = obj ? this.#build(obj) : undefined;
      if (obj && g === undefined) continue; // Prometheus sends nothing (a node without addresses)
      if (!g || g.targets.length === 0) {
        if (this.#groups.delete(source)) this.#order = undefined;
      } else {
        if (!this.#groups.has(source)) this.#order = undefined;
        this.#groups.set(source, flatten([g]));
      }
    }
    this.#dirty.clear();
    this.#order ??= [...this.#groups.keys()].sort();
    const out: LabelSet[] = [];
    for (const k of this.#order) for (const t of this.#groups.get(k)!) out.push(t);
    this.#publish(out);
  }

  #build(obj: KubeObject): TargetGroup | undefined {
    const lk = this.#lookups;
    switch (this.#role) {
      case 'pod':
        return buildPod(obj as Pod, lk);
      case 'service':
        return buildService(obj as Service, lk);
      case 'endpoints':
        return buildEndpoints(obj as Endpoints, lk);
      case 'endpointslice':
        return buildEndpointSlice(obj as EndpointSlice, lk);
      case 'ingress':
        return buildIngress(obj as Ingress, lk);
      case 'node':
        return buildNode(obj as Node);
    }
  }
}

function sourceOf(kind: Kind, ns: string, name: string): string {
  switch (kind) {
    case 'service':
      return `svc/${ns}/${name}`;
    case 'node':
      return `node/${name}`;
    default:
      return `${kind}/${ns}/${name}`;
  }
}

/** Object references of an Endpoints or EndpointSlice: target refs and node names. */
function refs(p: KubeObject): Array<{ kind?: string; name?: string; namespace?: string; nodeName?: string }> {
  const out: Array<{ kind?: string; name?: string; namespace?: string; nodeName?: string }> = [];
  const e = p as Endpoints & EndpointSlice;
  for (const ss of e.subsets ?? []) for (const a of [...(ss.addresses ?? []), ...(ss.notReadyAddresses ?? [])]) out.push({ ...a.targetRef, ...(a.nodeName !== undefined ? { nodeName: a.nodeName } : {}) });
  for (const ep of e.endpoints ?? []) out.push({ ...ep.targetRef, ...(ep.nodeName !== undefined ? { nodeName: ep.nodeName } : {}) });
  return out;
}

export interface KubernetesDebugInfo {
  readonly role: string;
  readonly connection: string;
  readonly synced: boolean;
  readonly target_groups: number;
  readonly watch_events: number;
}

export class KubernetesDiscovery implements Component<Arguments>, HealthComponent, DebugComponent {
  readonly #opts: ComponentOptions<Exports>;
  #args: Arguments;
  #current: { d: Discovery; ac: AbortController; done: Promise<void>; client: KubeClient } | undefined;
  #signal: AbortSignal | undefined;
  #health: Health = { state: 'unknown', message: 'starting', updatedAt: new Date() };

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    this.#args = args;
    // Fail the build (config error) when no connection can be made, e.g. in-cluster outside a pod.
    this.#connect(args).close();
    opts.onStateChange({ targets: [] });
  }

  #connect(a: Arguments): KubeClient {
    const conn = resolveConnection({ apiServer: a.api_server, kubeconfigFile: a.kubeconfig_file, settings: clientSettings(a) });
    return new KubeClient(conn);
  }

  #setHealth(error: string | undefined): void {
    const state = error === undefined ? 'healthy' : 'unhealthy';
    const message = error === undefined ? '' : error;
    if (this.#health.state === state && this.#health.message === message) return;
    this.#health = { state, message, updatedAt: new Date() };
    this.#opts.setHealth(state, message);
    if (error !== undefined) this.#opts.logger.warn('kubernetes discovery failed; keeping the last targets', { role: this.#args.role, err: error });
  }

  #start(): void {
    if (!this.#signal || this.#signal.aborted) return;
    const client = this.#connect(this.#args);
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    this.#signal.addEventListener('abort', onAbort, { once: true });
    let d: Discovery;
    try {
      d = new Discovery(this.#args, client, (targets) => this.#opts.onStateChange({ targets }), (e) => this.#setHealth(e));
    } catch (err) {
      client.close();
      this.#setHealth((err as Error).message);
      return;
    }
    const done = d.run(ac.signal).finally(() => {
      client.close();
      this.#signal?.removeEventListener('abort', onAbort);
    });
    this.#current = { d, ac, done, client };
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    this.#start();
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    await this.#current?.done;
  }

  async update(args: Arguments): Promise<void> {
    this.#connect(args).close(); // throws (keeping the old arguments) when no connection can be made
    this.#args = args;
    const old = this.#current;
    this.#current = undefined;
    if (old) {
      old.ac.abort();
      await old.done;
    }
    this.#start();
  }

  currentHealth(): Health {
    return this.#health;
  }

  debugInfo(): KubernetesDebugInfo {
    const c = this.#current;
    return {
      role: this.#args.role,
      connection: c?.client.connection.source ?? '',
      synced: c?.d.synced ?? false,
      target_groups: c?.d.groups ?? 0,
      watch_events: c?.d.events ?? 0,
    };
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'discovery.kubernetes',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['targets'],
  build: (opts, args) => new KubernetesDiscovery(opts, args),
};
