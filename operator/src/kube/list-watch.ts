/**
 * A list-then-watch cache of one kind, as client-go's reflector + store: lists (paged by the
 * `KubeApi`), then watches from the list's resourceVersion with bookmarks, follows the
 * resourceVersion of every event, re-watches when the server ends a watch, relists on 410 Gone,
 * and on any other error emits `error` and stops (`ResilientInformer` restarts it with backoff).
 *
 * `transform` runs on every object before it is stored or handed to handlers, as
 * controller-runtime's cache transforms: the operator drops what it never reads (other managers'
 * managedFields, the last-applied annotation, pod specs), so the cache costs what the
 * reconciler needs, not what the API server sends.
 */
import type { KubeApi, KubeObject } from './kube-api.js';
import type { InformerCore } from './resilient-informer.js';

export interface ListWatchOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  /**
   * Lists and watches `PartialObjectMetadata` (metadata only, see `ReadOptions`): the objects
   * cached and handed to handlers then carry nothing but `metadata` (after `transform`).
   * @default false
   */
  readonly metadataOnly?: boolean;
  /** Applied to every object before it is cached. @default identity */
  readonly transform?: (obj: KubeObject) => KubeObject;
  /** Waits before re-watching after a watch ended without events. @default setTimeout-based */
  readonly delay?: (ms: number) => Promise<void>;
}

type Handler = (obj: KubeObject, old?: KubeObject) => void;
type ErrorHandler = (err?: unknown) => void;

const RECONNECT_BASE_MS = 1000;
const RECONNECT_MAX_MS = 30_000;

export class ListWatch implements InformerCore<KubeObject> {
  readonly #api: KubeApi;
  readonly #apiVersion: string;
  readonly #kind: string;
  readonly #path: string;
  readonly #opts: ListWatchOptions;
  readonly #transform: (obj: KubeObject) => KubeObject;
  readonly #delay: (ms: number) => Promise<void>;
  /** namespace ('' for cluster-scoped) -> name -> object */
  #objects = new Map<string, Map<string, KubeObject>>();
  #resourceVersion = '';
  #stopped = true;
  #watch: AbortController | undefined;
  #reconnectDelayMs = 0;
  /** Counts opened watches, so the end of a superseded one is ignored. */
  #generation = 0;
  readonly #handlers: { add: Handler[]; update: Handler[]; delete: Handler[]; error: ErrorHandler[]; connect: ErrorHandler[] } = { add: [], update: [], delete: [], error: [], connect: [] };

  constructor(api: KubeApi, apiVersion: string, kind: string, path: string, opts: ListWatchOptions = {}) {
    this.#api = api;
    this.#apiVersion = apiVersion;
    this.#kind = kind;
    this.#path = path;
    this.#opts = opts;
    this.#transform = opts.transform ?? ((o) => o);
    this.#delay = opts.delay ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  on(verb: 'add' | 'update' | 'delete', cb: Handler): void;
  on(verb: 'error' | 'connect', cb: ErrorHandler): void;
  on(verb: 'add' | 'update' | 'delete' | 'error' | 'connect', cb: Handler | ErrorHandler): void {
    (this.#handlers[verb] as Array<Handler | ErrorHandler>).push(cb);
  }

  get(name: string, namespace?: string): KubeObject | undefined {
    return this.#objects.get(namespace ?? '')?.get(name);
  }

  list(namespace?: string): KubeObject[] {
    if (namespace === undefined || namespace === '') return [...this.#objects.values()].flatMap((m) => [...m.values()]);
    return [...(this.#objects.get(namespace)?.values() ?? [])];
  }

  /** Lists and opens the watch; rejects when the list fails (the caller restarts). */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#resourceVersion = '';
    this.#reconnectDelayMs = 0;
    await this.#listAndWatch();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    this.#watch?.abort();
    this.#watch = undefined;
  }

  #emit(verb: 'add' | 'update' | 'delete', obj: KubeObject, old?: KubeObject): void {
    for (const h of this.#handlers[verb]) h(obj, old);
  }

  #fail(err: unknown): void {
    this.#generation++;
    this.#watch?.abort();
    this.#watch = undefined;
    for (const h of this.#handlers.error) h(err);
  }

  #prepare(raw: KubeObject): KubeObject {
    return this.#transform({ ...raw, apiVersion: this.#apiVersion, kind: this.#kind });
  }

  #upsert(obj: KubeObject): void {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    let byName = this.#objects.get(ns);
    if (byName === undefined) this.#objects.set(ns, (byName = new Map()));
    const old = byName.get(name);
    byName.set(name, obj);
    if (old === undefined) this.#emit('add', obj);
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.#emit('update', obj, old);
  }

  #remove(obj: KubeObject): void {
    const ns = obj.metadata.namespace ?? '';
    const byName = this.#objects.get(ns);
    const old = byName?.get(obj.metadata.name ?? '');
    if (old === undefined) return;
    byName!.delete(obj.metadata.name ?? '');
    if (byName!.size === 0) this.#objects.delete(ns);
    this.#emit('delete', obj);
  }

  async #listAndWatch(): Promise<void> {
    for (const h of this.#handlers.connect) h();
    if (this.#resourceVersion === '') {
      const { items, resourceVersion } = await this.#api.list(this.#apiVersion, this.#kind, this.#opts.namespace, this.#opts.labelSelector, { metadataOnly: this.#opts.metadataOnly === true });
      if (this.#stopped) return;
      const fresh = new Set<string>();
      for (const raw of items) {
        const obj = this.#prepare(raw);
        fresh.add(`${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`);
        this.#upsert(obj);
      }
      for (const obj of this.list()) if (!fresh.has(`${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`)) this.#remove(obj);
      this.#resourceVersion = resourceVersion;
    }
    if (this.#reconnectDelayMs > 0) await this.#delay(this.#reconnectDelayMs);
    if (this.#stopped) return;
    const query = { resourceVersion: this.#resourceVersion, ...(this.#opts.labelSelector !== undefined ? { labelSelector: this.#opts.labelSelector } : {}) };
    const generation = ++this.#generation;
    const watch = await this.#api.watch(this.#path, query, (type, obj) => this.#onEvent(type, obj), (err) => void this.#onDone(generation, err), { metadataOnly: this.#opts.metadataOnly === true });
    if (this.#stopped || generation !== this.#generation) watch.abort();
    else this.#watch = watch;
  }

  #onEvent(type: string, raw: KubeObject): void {
    if (this.#stopped) return;
    switch (type) {
      case 'ERROR':
        // 410 Gone: the resourceVersion is too old; the watch ends and the next start relists.
        if ((raw as unknown as { code?: number }).code === 410) this.#resourceVersion = '';
        return;
      case 'ADDED':
      case 'MODIFIED':
        this.#upsert(this.#prepare(raw));
        break;
      case 'DELETED':
        this.#remove(this.#prepare(raw));
        break;
      default: // BOOKMARK: only its resourceVersion matters
        break;
    }
    this.#reconnectDelayMs = 0;
    this.#resourceVersion = raw.metadata?.resourceVersion ?? this.#resourceVersion;
  }

  async #onDone(generation: number, err: unknown): Promise<void> {
    if (this.#stopped || generation !== this.#generation) return;
    this.#generation++;
    this.#watch = undefined;
    const status = (err as { status?: number } | null)?.status;
    if (err !== null && err !== undefined && status !== 410) {
      this.#fail(err);
      return;
    }
    if (status === 410) this.#resourceVersion = '';
    // A watch the server ended (timeout) resumes from the last resourceVersion; repeated empty
    // watches back off so a misbehaving server is not hammered.
    this.#reconnectDelayMs = Math.min(this.#reconnectDelayMs > 0 ? this.#reconnectDelayMs * 2 : RECONNECT_BASE_MS, RECONNECT_MAX_MS);
    try {
      await this.#listAndWatch();
    } catch (e) {
      if (!this.#stopped) this.#fail(e);
    }
  }
}
