/**
 * `Informer`: keeps a local copy of one collection in sync with the API server (client-go's
 * reflector): list (paged), then watch from the list's resourceVersion with bookmarks; a watch
 * that ends is resumed from the last seen resourceVersion; a 410 Gone (expired version) relists
 * and emits the difference as add/update/delete; other failures are reported and retried with
 * capped exponential backoff (the delay is injectable so tests never sleep).
 *
 * Contracts:
 * - `run(signal)` never rejects; it resolves after `signal` aborts.
 * - `onEvent` runs for every change of the local copy, after the store was updated.
 * - `onStatus` reports `{ ok: true }` when a list or watch request succeeded and
 *   `{ ok: false, error }` when one failed; the store keeps its last content on failure.
 * - `synced` turns true after the first complete list and stays true.
 */
import { systemClock } from '../../../clock/clock.js';
import { KubeApiError, type KubeClient, type KubeObject } from './client.js';

export type InformerEventType = 'add' | 'update' | 'delete';

export interface InformerOptions<T extends KubeObject> {
  readonly client: KubeClient;
  /** Collection path, e.g. `/api/v1/namespaces/default/pods` (see `collectionPath`). */
  readonly path: string;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  onEvent(type: InformerEventType, obj: T, old: T | undefined): void;
  onStatus?(status: { readonly ok: true } | { readonly ok: false; readonly error: Error }): void;
  /** Called once, after the first complete list has been applied. */
  onSynced?(): void;
  /** @default 1000 */
  readonly initialBackoffMs?: number;
  /** @default 30000 */
  readonly maxBackoffMs?: number;
  /** Injected delay (tests); resolves early when `signal` aborts. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * Applied to every listed or watched object before it is stored (client-go's `SetTransform`):
   * drop what the consumer never reads to keep the store small.
   */
  readonly transform?: (obj: T) => T;
  /** Server-side watch timeout range in seconds, randomised like client-go. @default [300, 600] */
  readonly watchTimeoutSeconds?: readonly [number, number];
}

export function keyOf(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

export class Informer<T extends KubeObject> {
  readonly #o: InformerOptions<T>;
  readonly #store = new Map<string, T>();
  #synced = false;
  #lastError: Error | undefined;

  constructor(opts: InformerOptions<T>) {
    this.#o = opts;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** The last failure, cleared by the next successful request. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  values(): IterableIterator<T> {
    return this.#store.values();
  }

  get size(): number {
    return this.#store.size;
  }

  async run(signal: AbortSignal): Promise<void> {
    const o = this.#o;
    const sleep = o.sleep ?? systemClock.sleep;
    const initial = o.initialBackoffMs ?? 1000;
    const max = o.maxBackoffMs ?? 30_000;
    const [tmin, tmax] = o.watchTimeoutSeconds ?? [300, 600];
    let backoff = initial;
    let rv: string | undefined;
    const sel = { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector };
    while (!signal.aborted) {
      try {
        if (rv === undefined) {
          rv = await this.#relist(signal);
          if (!this.#synced) {
            this.#synced = true;
            o.onSynced?.();
          }
        }
        const timeoutSeconds = String(Math.floor(tmin + Math.random() * (tmax - tmin)));
        await o.client.watch<T>(
          o.path,
          { ...sel, resourceVersion: rv, allowWatchBookmarks: 'true', timeoutSeconds },
          signal,
          (ev) => {
            const obj = ev.object;
            const newRv = obj?.metadata?.resourceVersion;
            if (ev.type !== 'BOOKMARK') this.#apply(ev.type, obj);
            if (newRv) rv = newRv;
          },
          () => {
            this.#ok();
            backoff = initial;
          },
        );
      } catch (err: unknown) {
        if (signal.aborted) break;
        const e = err instanceof Error ? err : new Error(String(err));
        if (e instanceof KubeApiError && e.status === 410) {
          rv = undefined; // expired: relist now
          continue;
        }
        this.#lastError = e;
        o.onStatus?.({ ok: false, error: e });
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, max);
      }
    }
  }

  /**
   * Lists and applies the result; returns its resourceVersion. A method of its own so the
   * decoded list is not kept alive by this loop's suspended frame while it watches.
   */
  async #relist(signal: AbortSignal): Promise<string> {
    const o = this.#o;
    const list = await o.client.list<T>(o.path, { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector }, signal, 500, o.transform);
    this.#ok();
    this.#replace(list.items);
    return list.metadata.resourceVersion ?? '0';
  }

  #ok(): void {
    if (this.#lastError === undefined) {
      this.#o.onStatus?.({ ok: true });
      return;
    }
    this.#lastError = undefined;
    this.#o.onStatus?.({ ok: true });
  }

  #apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', raw: T): void {
    const obj = this.#o.transform ? this.#o.transform(raw) : raw;
    const key = keyOf(obj);
    const old = this.#store.get(key);
    if (type === 'DELETED') {
      if (!old) return;
      this.#store.delete(key);
      this.#o.onEvent('delete', obj, old);
      return;
    }
    this.#store.set(key, obj);
    this.#o.onEvent(old ? 'update' : 'add', obj, old);
  }

  /** Replaces the store with a fresh list (already transformed), emitting only the differences. */
  #replace(items: readonly T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.#store.get(key);
      if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      this.#store.set(key, obj);
      this.#o.onEvent(old ? 'update' : 'add', obj, old);
    }
    if (seen.size === this.#store.size) return; // every stored key was listed again
    for (const [key, old] of [...this.#store]) {
      if (seen.has(key)) continue;
      this.#store.delete(key);
      this.#o.onEvent('delete', old, old);
    }
  }
}
