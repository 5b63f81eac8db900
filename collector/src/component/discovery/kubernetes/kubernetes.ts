/**
 * `discovery.kubernetes`: watches Kubernetes objects of one `role` and exports their targets with
 * the `__meta_kubernetes_*` labels Prometheus's Kubernetes discovery gives them (`targets.ts`).
 *
 * Contracts:
 * - Informers (list + watch, see `common/kube/informer.ts`), shared between components through
 *   `common/kube/informer-pool.ts`, per namespace and resource; targets
 *   are republished within ~50 ms of a watch event, once every informer has listed once.
 * - API failures (down, 403, 5xx) make the component unhealthy with the server's message; the
 *   last exported targets stay until the informers recover (no restart needed).
 * - `update` joins the informers of the new arguments, then leaves the old ones (informers both
 *   use keep running); the exports stay until the new informers have synced.
 * - Bad arguments (unknown role, selector syntax, selector roles, unreadable kubeconfig) fail
 *   validation with the argument named.
 */
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent, Health, HealthComponent } from '../../../runtime/component.js';
import { block, blocks } from '../../../syntax/vm/schema.js';
import { clientSettings, httpClientConfigFields } from '../../common/http-client-config.js';
import { KubeClient, collectionPath, type KubeObject } from '../../common/kube/client.js';
import { checkKubeConnectionArgs, ownNamespace, resolveConnection, type KubeConnection } from '../../common/kube/config.js';
import { keyOf, type InformerEventType } from '../../common/kube/informer.js';
import { sharedInformers, type InformerLease, type InformerPool, type SharedInformerSpec } from '../../common/kube/informer-pool.js';
import { fieldSelectorError, labelSelectorError } from '../../common/kube/selectors.js';
import { ExportWriter, SERVICE_NAME_LABEL, exportTargets, pruneForDiscovery, type EndpointSlice, type Endpoints, type LabelSet, type Lookups, type Node, type Pod, type Service } from './targets.js';

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

/** The store transform of each kind: one function per kind, named by `transformKey` for sharing. */
const PRUNE: Record<Kind, (o: KubeObject) => KubeObject> = {
  pod: (o) => pruneForDiscovery('pod', o),
  service: (o) => pruneForDiscovery('service', o),
  endpoints: (o) => pruneForDiscovery('endpoints', o),
  endpointslice: (o) => pruneForDiscovery('endpointslice', o),
  ingress: (o) => pruneForDiscovery('ingress', o),
  node: (o) => pruneForDiscovery('node', o),
  namespace: (o) => pruneForDiscovery('namespace', o),
};

/** One shared informer per (kind, namespace); `''` is all namespaces or a cluster-scoped kind. */
interface Slot {
  readonly kind: Kind;
  readonly ns: string;
  readonly spec: SharedInformerSpec<KubeObject>;
  lease: InformerLease<KubeObject> | undefined;
  synced: boolean;
}

class Watchers {
  readonly byKind = new Map<Kind, Map<string, Slot>>();
  readonly slots: Slot[] = [];

  add(slot: Slot): void {
    let m = this.byKind.get(slot.kind);
    if (!m) this.byKind.set(slot.kind, (m = new Map()));
    m.set(slot.ns, slot);
    this.slots.push(slot);
  }

  get<T extends KubeObject>(kind: Kind, ns: string, name: string): T | undefined {
    const m = this.byKind.get(kind);
    if (!m) return undefined;
    const slot = m.get(RESOURCES[kind].namespaced ? ns : '') ?? m.get('');
    return slot?.lease?.get(RESOURCES[kind].namespaced ? `${ns}/${name}` : name) as T | undefined;
  }

  *values<T extends KubeObject>(kind: Kind): Generator<T> {
    for (const slot of this.byKind.get(kind)?.values() ?? []) if (slot.lease) yield* slot.lease.values() as IterableIterator<T>;
  }
}

/** What a `Discovery` reads from the arguments (the operator components build this themselves). */
export type DiscoverySpec = Pick<Arguments, 'role' | 'selectors' | 'namespaces' | 'attach_metadata'>;

/**
 * One run of the discovery for fixed arguments: informers, target groups, publishing. Also used
 * by the `prometheus.operator.*` components for the `kubernetes_sd_configs` they generate.
 * Informers come from an `InformerPool` (`common/kube/informer-pool.ts`): discoveries in one
 * process that watch the same collection with the same connection and selectors share one list +
 * watch and one store; `run` joins them and leaves them when its signal aborts.
 */
export class Discovery {
  readonly #role: Role;
  readonly #watchers = new Watchers();
  /**
   * Primary object key (`keyOf`) → its targets, already merged over the group labels (the export
   * form). Keys sort as the group sources (`pod/<ns>/<name>`, ...) do: one role, one prefix.
   */
  readonly #groups = new Map<string, LabelSet[]>();
  /**
   * The groups' target lists in source order, and each key's index in it; rebuilt only when a
   * group appears or disappears (a changed group replaces its own slot).
   */
  #ordered: { lists: LabelSet[][]; pos: Map<string, number> } | undefined;
  /** Targets over all groups (the length of the next export). */
  #count = 0;
  readonly #dirty = new Set<string>();
  /** Related object key (`kind:ns/name`) → the primary keys whose groups read it (one key, or a set of several). */
  readonly #dependents = new Map<string, string | Set<string>>();
  readonly #depsOf = new Map<string, string[]>();
  readonly #errors = new Map<Slot, string>();
  readonly #lookups: Lookups;
  /** Reused by every build (one group at a time). */
  readonly #writer = new ExportWriter();
  readonly #publish: (targets: LabelSet[]) => void;
  readonly #health: (error: string | undefined) => void;
  readonly #conn: KubeConnection;
  readonly #pool: InformerPool;
  #timer: NodeJS.Timeout | undefined;
  #joined = false;
  #stopped = false;
  #allSynced = false;
  #events = 0;

  /** @throws Error when `namespaces.own_namespace` is set and the pod's namespace is unknown. */
  constructor(args: DiscoverySpec, conn: KubeConnection, publish: (t: LabelSet[]) => void, health: (e: string | undefined) => void, pool: InformerPool = sharedInformers) {
    this.#role = args.role as Role;
    this.#conn = conn;
    this.#pool = pool;
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
        const spec: SharedInformerSpec<KubeObject> = {
          path: collectionPath(def.group, def.version, def.resource, ns || undefined),
          labelSelector: s?.label,
          fieldSelector: s?.field,
          transform: PRUNE[kind],
          transformKey: `discovery.kubernetes/${kind}`,
        };
        this.#watchers.add({ kind, ns, spec, lease: undefined, synced: false });
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

  /**
   * Joins the shared informers, publishes until `signal` aborts, then leaves them; resolves once
   * every informer this discovery was the last user of has stopped. Never rejects.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    for (const slot of this.#watchers.slots) {
      try {
        slot.lease = this.#pool.acquire(this.#conn, slot.spec, {
          onEvent: (t, obj) => this.#onEvent(slot.kind, t, obj),
          onStatus: (st) => this.#onStatus(slot, st.ok ? undefined : st.error.message),
          onSynced: () => {
            slot.synced = true;
            this.#onSynced();
          },
        });
      } catch (err: unknown) {
        this.#onStatus(slot, err instanceof Error ? err.message : String(err));
      }
    }
    this.#joined = true;
    this.#onSynced();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.#watchers.slots.map((slot) => slot.lease?.release()));
  }

  #onStatus(slot: Slot, error: string | undefined): void {
    if (this.#stopped) return;
    if (error === undefined) this.#errors.delete(slot);
    else this.#errors.set(slot, error);
    const first = this.#errors.values().next();
    this.#health(first.done ? undefined : first.value);
  }

  #onSynced(): void {
    if (this.#allSynced || !this.#joined || !this.#watchers.slots.every((s) => s.synced)) return;
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
      const deps = this.#dependents.get(`${kind}:${ns}/${obj.metadata.name}`);
      if (typeof deps === 'string') this.#dirty.add(deps);
      else if (deps) for (const p of deps) this.#dirty.add(p);
    }
    if (this.#allSynced) this.#schedule();
  }

  /** Maintains related object → primary keys, so a related change rebuilds only its dependents. */
  #index(key: string, obj: KubeObject | undefined): void {
    const dependents = this.#dependents;
    for (const d of this.#depsOf.get(key) ?? []) {
      const cur = dependents.get(d);
      if (cur === key) dependents.delete(d);
      else if (typeof cur === 'object') {
        cur.delete(key);
        if (cur.size === 0) dependents.delete(d);
      }
    }
    this.#depsOf.delete(key);
    if (!obj) return;
    const deps = this.#relatedOf(obj);
    if (deps.length === 0) return;
    this.#depsOf.set(key, deps);
    for (const d of deps) {
      const cur = dependents.get(d);
      if (cur === undefined) dependents.set(d, key);
      else if (typeof cur === 'object') cur.add(key);
      else if (cur !== key) dependents.set(d, new Set([cur, key]));
    }
  }

  /**
   * Keys (`kind:ns/name`) of the related objects the group of primary object `p` reads, among the
   * kinds watched (node and namespace keys only with `attach_metadata`: nothing else emits them).
   */
  #relatedOf(p: KubeObject): string[] {
    const ns = p.metadata.namespace ?? '';
    const out: string[] = [];
    const add = (k: string): void => {
      if (!out.includes(k)) out.push(k);
    };
    const nodes = this.#lookups.node !== undefined;
    if (this.#role !== 'node' && this.#lookups.namespace) add(`namespace:/${ns}`);
    if (this.#role === 'pod' && nodes) {
      const node = (p as Pod).spec?.nodeName;
      if (node) add(`node:/${node}`);
    }
    if (this.#role === 'endpoints') add(`service:${ns}/${p.metadata.name}`);
    if (this.#role === 'endpointslice') {
      const svc = p.metadata.labels?.[SERVICE_NAME_LABEL];
      if (svc !== undefined) add(`service:${ns}/${svc}`);
    }
    if (this.#role === 'endpoints' || this.#role === 'endpointslice') {
      // The target refs and node names of the addresses (Endpoints) or endpoints (EndpointSlice).
      const ref = (r: { readonly kind?: string; readonly name?: string; readonly namespace?: string } | undefined, nodeName: string | undefined): void => {
        if (r?.kind === 'Pod' && r.name) add(`pod:${r.namespace ?? ns}/${r.name}`);
        if (nodes && r?.kind === 'Node' && r.name) add(`node:/${r.name}`);
        if (nodes && nodeName) add(`node:/${nodeName}`);
      };
      const e = p as Endpoints & EndpointSlice;
      for (const ss of e.subsets ?? []) {
        for (const a of ss.addresses ?? []) ref(a.targetRef, a.nodeName);
        for (const a of ss.notReadyAddresses ?? []) ref(a.targetRef, a.nodeName);
      }
      for (const ep of e.endpoints ?? []) ref(ep.targetRef, ep.nodeName);
    }
    return out.length === 0 ? out : out.slice(); // exact length: kept per primary object
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, 50);
  }

  #flush(): void {
    if (this.#stopped) return;
    const kind = this.#primaryKind();
    const slots = this.#watchers.byKind.get(kind);
    const only = slots?.size === 1 ? slots.values().next().value : undefined;
    for (const key of this.#dirty) {
      // The primary slot of the key's namespace (keys are `ns/name`, or `name` when cluster-scoped).
      const slot = only ?? slots?.get(RESOURCES[kind].namespaced ? key.slice(0, key.indexOf('/')) : '') ?? slots?.get('');
      const obj = slot?.lease?.get(key);
      const list = obj ? exportTargets(this.#role, obj, this.#lookups, this.#writer) : undefined;
      if (obj && list === undefined) continue; // Prometheus sends nothing (a node without addresses)
      const old = this.#groups.get(key);
      if (old !== undefined) this.#count -= old.length;
      if (!list || list.length === 0) {
        if (old !== undefined) {
          this.#groups.delete(key);
          this.#ordered = undefined;
        }
        continue;
      }
      this.#groups.set(key, list);
      this.#count += list.length;
      const ordered = this.#ordered;
      if (old === undefined || ordered === undefined) this.#ordered = undefined;
      else ordered.lists[ordered.pos.get(key)!] = list;
    }
    this.#dirty.clear();
    if (this.#ordered === undefined) {
      const keys = [...this.#groups.keys()].sort();
      this.#ordered = { lists: keys.map((k) => this.#groups.get(k)!), pos: new Map(keys.map((k, i) => [k, i])) };
    }
    // The export is a new array (published values are immutable): one pass of slot copies.
    const out = new Array<LabelSet>(this.#count);
    let i = 0;
    for (const list of this.#ordered.lists) for (let j = 0; j < list.length; j++) out[i++] = list[j]!;
    this.#publish(out);
  }
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
  #current: { d: Discovery; ac: AbortController; done: Promise<void>; conn: KubeConnection } | undefined;
  #signal: AbortSignal | undefined;
  #health: Health = { state: 'unknown', message: 'starting', updatedAt: new Date() };

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    this.#args = args;
    // Fail the build (config error) when no connection can be made, e.g. in-cluster outside a pod.
    connectionOf(args);
    opts.onStateChange({ targets: [] });
  }

  #setHealth(error: string | undefined): void {
    const state = error === undefined ? 'healthy' : 'unhealthy';
    const message = error === undefined ? '' : error;
    if (this.#health.state === state && this.#health.message === message) return;
    this.#health = { state, message, updatedAt: new Date() };
    this.#opts.setHealth(state, message);
    if (error !== undefined) this.#opts.logger.warn('kubernetes discovery failed; keeping the last targets', { role: this.#args.role, err: error });
  }

  #start(conn: KubeConnection): void {
    if (!this.#signal || this.#signal.aborted) return;
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    this.#signal.addEventListener('abort', onAbort, { once: true });
    let d: Discovery;
    try {
      d = new Discovery(this.#args, conn, (targets) => this.#opts.onStateChange({ targets }), (e) => this.#setHealth(e));
    } catch (err) {
      this.#signal.removeEventListener('abort', onAbort);
      this.#setHealth((err as Error).message);
      return;
    }
    const done = d.run(ac.signal).finally(() => this.#signal?.removeEventListener('abort', onAbort));
    this.#current = { d, ac, done, conn };
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    this.#start(connectionOf(this.#args));
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    await this.#current?.done;
  }

  /**
   * Starts the discovery for the new arguments, then stops the old one: informers both use stay
   * running (no relist), the ones only the old arguments used are released.
   */
  async update(args: Arguments): Promise<void> {
    const conn = connectionOf(args); // throws (keeping the old arguments) when no connection can be made
    this.#args = args;
    const old = this.#current;
    this.#current = undefined;
    this.#start(conn);
    if (old) {
      old.ac.abort();
      await old.done;
    }
  }

  currentHealth(): Health {
    return this.#health;
  }

  debugInfo(): KubernetesDebugInfo {
    const c = this.#current;
    return {
      role: this.#args.role,
      connection: c?.conn.source ?? '',
      synced: c?.d.synced ?? false,
      target_groups: c?.d.groups ?? 0,
      watch_events: c?.d.events ?? 0,
    };
  }
}

/** The arguments' connection. @throws Error naming the argument when none can be made (a client is built and closed to check TLS files and proxy URLs). */
function connectionOf(a: Arguments): KubeConnection {
  const conn = resolveConnection({ apiServer: a.api_server, kubeconfigFile: a.kubeconfig_file, settings: clientSettings(a) });
  new KubeClient(conn).close();
  return conn;
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'discovery.kubernetes',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['targets'],
  build: (opts, args) => new KubernetesDiscovery(opts, args),
};
