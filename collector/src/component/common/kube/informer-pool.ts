/**
 * `InformerPool`: informers shared between users in one process (client-go's shared informer
 * factory). Users that watch the same collection with the same connection, selectors and
 * transform get ONE list + watch and ONE store; each user gets every event through its own
 * listener.
 *
 * Contracts:
 * - The sharing key is the connection (server URL and every HTTP client setting; secret values
 *   are compared by their SHA-256, never kept in clear), the collection path, the label and
 *   field selectors (`''` and absent are the same) and `transformKey`. Users that pass a
 *   `transform` must name it with a `transformKey`: equal keys promise equal transforms.
 * - `acquire` starts the informer for the first user. A later user is replayed the store's
 *   current content as `add` events, then `onSynced` (when the informer has listed once) and the
 *   last status, synchronously inside `acquire`, before any further event.
 * - A listener that throws does not disturb the informer or the other users: the error is
 *   reported to that listener's `onStatus` only.
 * - `release` is idempotent; the last release stops the informer and closes its client, and
 *   resolves once the informer's loop has ended. A later `acquire` with the same key starts a
 *   fresh informer (a fresh list).
 */
import { createHash } from 'node:crypto';
import { KubeClient, type KubeObject } from './client.js';
import type { KubeConnection } from './config.js';
import { Informer, type InformerEventType } from './informer.js';

export type InformerStatus = { readonly ok: true } | { readonly ok: false; readonly error: Error };

export interface SharedInformerSpec<T extends KubeObject> {
  /** Collection path, e.g. `/api/v1/namespaces/default/pods` (see `collectionPath`). */
  readonly path: string;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  /** Prunes objects before they are stored (see `InformerOptions.transform`). */
  readonly transform?: ((obj: T) => T) | undefined;
  /** Names `transform` for sharing; required with it. */
  readonly transformKey?: string | undefined;
}

export interface InformerListener<T extends KubeObject> {
  onEvent(type: InformerEventType, obj: T, old: T | undefined): void;
  onStatus?(status: InformerStatus): void;
  onSynced?(): void;
}

/** A user's handle on a shared informer: read access to the store, and `release`. */
export interface InformerLease<T extends KubeObject> {
  get(key: string): T | undefined;
  values(): IterableIterator<T>;
  readonly size: number;
  readonly synced: boolean;
  /** Stops this user's events; the last user's release stops the informer. */
  release(): Promise<void>;
}

export interface InformerPoolOptions {
  /** Injected delay of the informers' backoff (tests). */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

interface Entry {
  readonly informer: Informer<KubeObject>;
  readonly client: KubeClient;
  readonly ac: AbortController;
  readonly done: Promise<void>;
  readonly listeners: Set<InformerListener<KubeObject>>;
  status: InformerStatus | undefined;
}

export class InformerPool {
  readonly #opts: InformerPoolOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(opts: InformerPoolOptions = {}) {
    this.#opts = opts;
  }

  /** Informers running and users holding them (debug info and tests). */
  stats(): { readonly informers: number; readonly users: number } {
    let users = 0;
    for (const e of this.#entries.values()) users += e.listeners.size;
    return { informers: this.#entries.size, users };
  }

  /**
   * Joins (or starts) the informer for `spec` on `conn`.
   * @throws Error when `transform` comes without `transformKey`, or when no client can be made
   *   for `conn` (an unreadable TLS file, an invalid proxy URL).
   */
  acquire<T extends KubeObject>(conn: KubeConnection, spec: SharedInformerSpec<T>, listener: InformerListener<T>): InformerLease<T> {
    if (spec.transform !== undefined && spec.transformKey === undefined) throw new Error('InformerPool.acquire: a transform needs a transformKey naming it');
    const key = JSON.stringify([connectionKey(conn), spec.path, spec.labelSelector ?? '', spec.fieldSelector ?? '', spec.transformKey ?? '']);
    const l = listener as unknown as InformerListener<KubeObject>;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = this.#start(key, conn, spec as unknown as SharedInformerSpec<KubeObject>);
      entry.listeners.add(l);
    } else {
      entry.listeners.add(l);
      replay(entry, l);
    }
    const e = entry;
    let released: Promise<void> | undefined;
    return {
      get: (k) => e.informer.get(k) as T | undefined,
      values: () => e.informer.values() as IterableIterator<T>,
      get size() {
        return e.informer.size;
      },
      get synced() {
        return e.informer.synced;
      },
      release: () => (released ??= this.#release(key, e, l)),
    };
  }

  #start(key: string, conn: KubeConnection, spec: SharedInformerSpec<KubeObject>): Entry {
    const client = new KubeClient(conn);
    const listeners = new Set<InformerListener<KubeObject>>();
    const ac = new AbortController();
    const o = this.#opts;
    const holder: { entry?: Entry } = {};
    const informer = new Informer<KubeObject>({
      client,
      path: spec.path,
      labelSelector: spec.labelSelector || undefined,
      fieldSelector: spec.fieldSelector || undefined,
      ...(spec.transform ? { transform: spec.transform } : {}),
      ...(o.sleep ? { sleep: o.sleep } : {}),
      ...(o.initialBackoffMs !== undefined ? { initialBackoffMs: o.initialBackoffMs } : {}),
      ...(o.maxBackoffMs !== undefined ? { maxBackoffMs: o.maxBackoffMs } : {}),
      onEvent: (type, obj, old) => {
        for (const l of listeners) {
          try {
            l.onEvent(type, obj, old);
          } catch (err: unknown) {
            failed(l, `handling the ${type} of ${obj.metadata.name}`, err);
          }
        }
      },
      onStatus: (st) => {
        if (holder.entry) holder.entry.status = st;
        for (const l of listeners) guarded(l, () => l.onStatus?.(st), 'handling a status');
      },
      onSynced: () => {
        for (const l of listeners) guarded(l, () => l.onSynced?.(), 'handling the first list');
      },
    });
    const entry: Entry = { informer, client, ac, listeners, status: undefined, done: informer.run(ac.signal) };
    holder.entry = entry;
    this.#entries.set(key, entry);
    return entry;
  }

  async #release(key: string, e: Entry, l: InformerListener<KubeObject>): Promise<void> {
    e.listeners.delete(l);
    if (e.listeners.size > 0) return;
    if (this.#entries.get(key) === e) this.#entries.delete(key);
    e.ac.abort();
    await e.done;
    e.client.close();
  }
}

/** The process's pool: what components use unless a test injects its own. */
export const sharedInformers = new InformerPool();

function replay(e: Entry, l: InformerListener<KubeObject>): void {
  for (const obj of e.informer.values()) {
    if (!guarded(l, () => l.onEvent('add', obj, undefined), `handling the add of ${obj.metadata.name}`)) return;
  }
  if (e.informer.synced) guarded(l, () => l.onSynced?.(), 'handling the first list');
  if (e.status !== undefined) guarded(l, () => l.onStatus?.(e.status!), 'handling a status');
}

/** Runs one listener callback; a throw goes to that listener's `onStatus`. Returns false on a throw. */
function guarded(l: InformerListener<KubeObject>, fn: () => void, doing: string): boolean {
  try {
    fn();
    return true;
  } catch (err: unknown) {
    failed(l, doing, err);
    return false;
  }
}

/** Reports a listener's own throw to its `onStatus`. */
function failed(l: InformerListener<KubeObject>, doing: string, err: unknown): void {
  const error = new Error(`${doing}: ${err instanceof Error ? err.message : String(err)}`);
  try {
    l.onStatus?.({ ok: false, error });
  } catch {
    // the listener's status handler failed too; nothing else may be disturbed
  }
}

/**
 * A stable identity of a connection: the server URL and every client setting, with keys sorted
 * and secret values (anything with `reveal()`) replaced by their SHA-256.
 */
export function connectionKey(conn: KubeConnection): string {
  return JSON.stringify([conn.server.href, canonical(conn.settings)]);
}

function canonical(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(canonical);
  const reveal = (v as { reveal?: unknown }).reveal;
  if (typeof reveal === 'function') return { secretSha256: createHash('sha256').update(String((reveal as () => string).call(v))).digest('hex') };
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = canonical(x);
  }
  return out;
}
