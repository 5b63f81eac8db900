/**
 * Where a kubelet reads the ConfigMaps and Secrets its pods use from.
 *
 * - `ClusterSource`: one cluster-wide informer (the dev cluster's kubelet, allowed to list all).
 * - `ReferencedSource`: one single-object watch (`fieldSelector=metadata.name=<name>` in the
 *   object's namespace) per ConfigMap/Secret that a pod bound to this node references, started
 *   when the first such pod appears and stopped with the last one. This is the real kubelet's
 *   `Watch` change-detection strategy, and the only reads the Node authorizer grants a node
 *   identity (`system:node:<node>`): objects reachable from its own pods, by name.
 *
 * Both answer `get('<ns>/<name>')` synchronously from their cache; a pod's volumes simply retry
 * (FailedMount) until the first list of a new watch has arrived.
 */
import type { KubeObject, Pod } from '../harness/k8s-types.js';
import { Informer } from '../harness/informer.js';
import type { KubeClient, ResourceType } from '../harness/kube-client.js';

export type SourceHandler<T> = (ev: 'add' | 'update' | 'delete', obj: T) => void;

export interface ObjectSource<T extends KubeObject> {
  get(key: string): T | undefined;
  on(handler: SourceHandler<T>): void;
  /** Starts whatever runs before pods (the cluster-wide list); resolves when it has synced. */
  start(signal: AbortSignal): Promise<void>;
  /** The objects pod `owner` (its uid) needs now; `[]` releases them. */
  retain(owner: string, keys: readonly string[]): void;
  /** Resolves when every watch has ended after `signal` aborted. */
  stopped(): Promise<void>;
}

export class ClusterSource<T extends KubeObject> implements ObjectSource<T> {
  #informer: Informer<T>;
  #run: Promise<void> = Promise.resolve();
  constructor(client: KubeClient, type: ResourceType, onError: (e: unknown) => void) {
    this.#informer = new Informer<T>(client, type, { onError });
  }
  get(key: string): T | undefined {
    return this.#informer.get(key);
  }
  on(handler: SourceHandler<T>): void {
    this.#informer.on(handler);
  }
  async start(signal: AbortSignal): Promise<void> {
    this.#run = this.#informer.run(signal);
    await this.#informer.waitSynced();
  }
  retain(): void {
    // the cluster-wide informer already holds every object
  }
  async stopped(): Promise<void> {
    await this.#run.catch(() => undefined);
  }
}

interface Watch<T extends KubeObject> {
  readonly informer: Informer<T>;
  readonly ac: AbortController;
  readonly run: Promise<void>;
  readonly owners: Set<string>;
}

export class ReferencedSource<T extends KubeObject> implements ObjectSource<T> {
  #client: KubeClient;
  #type: ResourceType;
  #onError: (e: unknown) => void;
  #handlers: SourceHandler<T>[] = [];
  #watches = new Map<string, Watch<T>>();
  #byOwner = new Map<string, readonly string[]>();
  #ended: Promise<void>[] = [];
  #signal: AbortSignal | undefined;

  constructor(client: KubeClient, type: ResourceType, onError: (e: unknown) => void) {
    this.#client = client;
    this.#type = type;
    this.#onError = onError;
  }

  get(key: string): T | undefined {
    return this.#watches.get(key)?.informer.get(key);
  }

  on(handler: SourceHandler<T>): void {
    this.#handlers.push(handler);
  }

  async start(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    signal.addEventListener('abort', () => {
      for (const w of this.#watches.values()) w.ac.abort();
    }, { once: true });
  }

  /** Keys currently watched (for tests and debugging). */
  watched(): string[] {
    return [...this.#watches.keys()].sort();
  }

  retain(owner: string, keys: readonly string[]): void {
    const before = this.#byOwner.get(owner) ?? [];
    const next = [...new Set(keys)];
    if (next.length === 0) this.#byOwner.delete(owner);
    else this.#byOwner.set(owner, next);
    for (const key of next) this.#watch(key).owners.add(owner);
    for (const key of before) {
      if (next.includes(key)) continue;
      const w = this.#watches.get(key);
      if (!w) continue;
      w.owners.delete(owner);
      if (w.owners.size === 0) {
        w.ac.abort();
        this.#watches.delete(key);
      }
    }
  }

  #watch(key: string): Watch<T> {
    const existing = this.#watches.get(key);
    if (existing) return existing;
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const informer = new Informer<T>(this.#client, this.#type, { namespace, fieldSelector: `metadata.name=${name}`, onError: this.#onError });
    for (const h of this.#handlers) informer.on(h);
    const ac = new AbortController();
    if (this.#signal?.aborted) ac.abort();
    const run = informer.run(ac.signal).catch((e: unknown) => this.#onError(e));
    this.#ended.push(run);
    const w: Watch<T> = { informer, ac, run, owners: new Set() };
    this.#watches.set(key, w);
    return w;
  }

  async stopped(): Promise<void> {
    await Promise.allSettled(this.#ended);
  }
}

/** `<ns>/<name>` of every ConfigMap and Secret a pod reads through volumes and env. */
export function podObjectReferences(pod: Pod): { readonly configMaps: string[]; readonly secrets: string[] } {
  const ns = pod.metadata.namespace ?? 'default';
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const cm = (name: string | undefined): void => void (name && configMaps.add(`${ns}/${name}`));
  const sec = (name: string | undefined): void => void (name && secrets.add(`${ns}/${name}`));
  for (const v of pod.spec.volumes ?? []) {
    cm(v.configMap?.name);
    sec(v.secret?.secretName);
    const sources = (v.projected as { sources?: { configMap?: { name: string }; secret?: { name: string } }[] } | undefined)?.sources ?? [];
    for (const s of sources) {
      cm(s.configMap?.name);
      sec(s.secret?.name);
    }
  }
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const f of c.envFrom ?? []) {
      cm(f.configMapRef?.name);
      sec(f.secretRef?.name);
    }
    for (const e of c.env ?? []) {
      cm(e.valueFrom?.configMapKeyRef?.name);
      sec(e.valueFrom?.secretKeyRef?.name);
    }
  }
  return { configMaps: [...configMaps].sort(), secrets: [...secrets].sort() };
}
