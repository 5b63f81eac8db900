/**
 * List+watch cache for one resource type, the way client-go's reflector works: list, then watch
 * from the list's resourceVersion, resume after a dropped stream from the last seen
 * resourceVersion (bookmarks included), relist on 410 Gone, and restart after any other failure
 * with capped exponential backoff. `run` never rejects; failures go to `onError`.
 */
import { KubeClient, isGone, keyOf, type ListOptions, type ResourceType } from './kube-client.js';
import type { KubeObject } from './k8s-types.js';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Backoff bounds for restarts after errors; defaults 200 ms .. 10 s. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Server-side watch timeout; the informer resumes after it. Default 300 s. */
  readonly watchTimeoutSeconds?: number;
  readonly onError?: (err: unknown) => void;
  /** Injected for tests. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export type InformerHandler<T extends KubeObject> = (event: InformerEvent, obj: T, old?: T) => void;

export const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class Informer<T extends KubeObject> {
  readonly type: ResourceType;
  #client: KubeClient;
  #opts: InformerOptions;
  #cache = new Map<string, T>();
  #handlers: InformerHandler<T>[] = [];
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #resourceVersion = '';
  /** Number of list calls made; exposed for tests of the 410 path. */
  lists = 0;

  constructor(client: KubeClient, type: ResourceType, opts: InformerOptions = {}) {
    this.#client = client;
    this.type = type;
    this.#opts = opts;
  }

  on(handler: InformerHandler<T>): void {
    this.#handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  get synced(): boolean {
    return this.#synced;
  }

  waitSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((r) => this.#syncWaiters.push(r));
  }

  async run(signal: AbortSignal): Promise<void> {
    const min = this.#opts.minBackoffMs ?? 200;
    const max = this.#opts.maxBackoffMs ?? 10_000;
    const sleep = this.#opts.sleep ?? abortableSleep;
    let backoff = min;
    while (!signal.aborted) {
      try {
        if (!this.#resourceVersion) await this.#relist();
        backoff = min;
        await this.#client.watch<T>(this.type, this.#opts.namespace, { ...this.#selectors(), resourceVersion: this.#resourceVersion, timeoutSeconds: this.#opts.watchTimeoutSeconds ?? 300 }, (ev) => {
          const rv = ev.object.metadata?.resourceVersion;
          if (rv) this.#resourceVersion = rv;
          if (ev.type === 'BOOKMARK') return;
          if (ev.type === 'DELETED') this.#remove(ev.object);
          else this.#upsert(ev.object);
        }, signal);
      } catch (e) {
        if (signal.aborted) break;
        if (isGone(e)) {
          this.#resourceVersion = '';
          continue;
        }
        this.#report(e);
        await sleep(backoff, signal);
        backoff = Math.min(max, backoff * 2);
      }
    }
  }

  #selectors(): ListOptions {
    return { labelSelector: this.#opts.labelSelector, fieldSelector: this.#opts.fieldSelector };
  }

  async #relist(): Promise<void> {
    this.lists++;
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.#client.list<T>(this.type, this.#opts.namespace, { ...this.#selectors(), limit: 500, continue: cont });
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? '';
    } while (cont);
    const seen = new Set<string>();
    for (const o of items) {
      seen.add(keyOf(o));
      this.#upsert(o);
    }
    for (const [k, o] of [...this.#cache]) if (!seen.has(k)) this.#remove(o);
    this.#resourceVersion = rv;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  #upsert(o: T): void {
    const k = keyOf(o);
    const old = this.#cache.get(k);
    if (old && old.metadata.resourceVersion === o.metadata.resourceVersion) return;
    this.#cache.set(k, o);
    this.#emit(old ? 'update' : 'add', o, old);
  }

  #remove(o: T): void {
    const k = keyOf(o);
    const old = this.#cache.get(k);
    this.#cache.delete(k);
    this.#emit('delete', old ?? o);
  }

  #emit(ev: InformerEvent, o: T, old?: T): void {
    for (const h of this.#handlers) {
      try {
        h(ev, o, old);
      } catch (e) {
        this.#report(e);
      }
    }
  }

  #report(e: unknown): void {
    try {
      this.#opts.onError?.(e);
    } catch {
      // an error reporter that throws must not stop the informer
    }
  }
}
