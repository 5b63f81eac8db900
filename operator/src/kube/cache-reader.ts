/**
 * Reads served from informer caches where one is synced for the kind, from the API otherwise —
 * as controller-runtime's cache-backed client does. Cached objects are shared: callers must not
 * mutate them. Reads may be slightly stale; the reconciler is level-based and idempotent, and the
 * watch event of its own write triggers the next reconcile with fresh data.
 */
import type { KubeApi, KubeObject, ObjectRef } from './kube-api.js';

/** The read half of `KubeApi`. */
export interface ObjectReader {
  get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  list<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<{ items: T[]; resourceVersion: string }>;
}

/** What the reader needs from an informer. */
export interface ObjectCache {
  readonly synced: boolean;
  get(name: string, namespace?: string): KubeObject | undefined;
  list(namespace?: string): KubeObject[];
}

/** Equality-based label selector (`a=b,c=d`, or `a` for "has label"). */
export function matchesLabels(labels: Readonly<Record<string, string>> | undefined, selector: string | undefined): boolean {
  return labelMatcher(selector)(labels);
}

/** `selector` parsed once, for testing many objects against it. */
export function labelMatcher(selector: string | undefined): (labels: Readonly<Record<string, string>> | undefined) => boolean {
  if (selector === undefined || selector.trim() === '') return () => true;
  const terms = selector.split(',').map((term) => {
    const i = term.indexOf('=');
    return i < 0 ? { key: term.trim(), value: undefined } : { key: term.slice(0, i).trim(), value: term.slice(i + 1).trim() };
  });
  return (labels) => {
    for (const t of terms) {
      const v = labels?.[t.key];
      if (t.value === undefined ? v === undefined : v !== t.value) return false;
    }
    return true;
  };
}

export class CacheReader implements ObjectReader {
  readonly #api: KubeApi;
  readonly #caches: ReadonlyMap<string, ObjectCache>;

  /** `caches` keyed by `apiVersion|kind`. */
  constructor(api: KubeApi, caches: ReadonlyMap<string, ObjectCache>) {
    this.#api = api;
    this.#caches = caches;
  }

  static key(apiVersion: string, kind: string): string {
    return `${apiVersion}|${kind}`;
  }

  #cache(apiVersion: string, kind: string): ObjectCache | undefined {
    const c = this.#caches.get(CacheReader.key(apiVersion, kind));
    return c?.synced === true ? c : undefined;
  }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    const cache = this.#cache(ref.apiVersion, ref.kind);
    if (cache === undefined) return this.#api.get<T>(ref);
    const obj = cache.get(ref.name, ref.namespace);
    return obj === undefined ? undefined : ({ ...obj, apiVersion: ref.apiVersion, kind: ref.kind } as T);
  }

  async list<T extends KubeObject>(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<{ items: T[]; resourceVersion: string }> {
    const cache = this.#cache(apiVersion, kind);
    if (cache === undefined) return this.#api.list<T>(apiVersion, kind, namespace, labelSelector);
    const matches = labelMatcher(labelSelector);
    const items: T[] = [];
    for (const o of cache.list(namespace)) if (matches(o.metadata.labels)) items.push({ ...o, apiVersion, kind } as T);
    return { items, resourceVersion: '' };
  }
}
