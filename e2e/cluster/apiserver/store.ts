/**
 * The object store: every object of every resource, one global resourceVersion counter, a bounded
 * history of changes for watch resume and consistent paging, and watch fan-out.
 *
 * Contracts:
 * - Stored objects are never mutated; writers pass a fresh object and readers may hold references.
 * - Every write bumps the global resourceVersion and sets `metadata.resourceVersion` to it.
 * - History keeps the last `historySize` events; asking for anything older is a 410 Gone.
 * - With a `dataDir`, state is written to `<dataDir>/state.json` at most once a second (and by
 *   `flush()`, which the server calls on close) and read back at construction, so a restart keeps
 *   objects and the resourceVersion. History is not persisted: watches resuming across a restart
 *   get 410 Gone and relist, as after an etcd compaction.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gone } from './errors.js';
import type { KubeObject } from './types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly rv: number;
  readonly type: WatchEventType;
  readonly storageKey: string;
  readonly obj: KubeObject;
  /** State before the change (absent for ADDED). */
  readonly prev?: KubeObject;
}

export type StoreListener = (e: StoreEvent) => void;

export interface ObjectStoreOptions {
  readonly historySize?: number;
  readonly dataDir?: string;
}

interface PersistedState {
  resourceVersion: number;
  objects: Record<string, KubeObject[]>;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export class ObjectStore {
  #rv = 1;
  readonly #data = new Map<string, Map<string, KubeObject>>();
  readonly #history: StoreEvent[] = [];
  readonly #historySize: number;
  /** resourceVersion at which the retained history starts (events after it are known). */
  #historyFloor = 1;
  readonly #listeners = new Set<StoreListener>();
  readonly #file: string | undefined;
  #persistTimer: NodeJS.Timeout | undefined;

  constructor(opts: ObjectStoreOptions = {}) {
    this.#historySize = opts.historySize ?? 10_000;
    if (opts.dataDir) {
      fs.mkdirSync(opts.dataDir, { recursive: true });
      this.#file = path.join(opts.dataDir, 'state.json');
      if (fs.existsSync(this.#file)) this.#load(this.#file);
    }
  }

  #load(file: string): void {
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as PersistedState;
    this.#rv = state.resourceVersion;
    this.#historyFloor = state.resourceVersion;
    for (const [key, objs] of Object.entries(state.objects)) {
      const m = new Map<string, KubeObject>();
      for (const o of objs) m.set(objectKey(o.metadata['namespace'] as string | undefined, o.metadata['name'] as string), o);
      this.#data.set(key, m);
    }
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** The oldest resourceVersion a watch or consistent list can start from. */
  get oldestResourceVersion(): number {
    return this.#historyFloor;
  }

  get(storageKey: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#data.get(storageKey)?.get(objectKey(namespace, name));
  }

  /** Current objects of a resource, sorted by namespace then name; `namespace` undefined = all. */
  list(storageKey: string, namespace?: string): KubeObject[] {
    const m = this.#data.get(storageKey);
    if (!m) return [];
    const out: KubeObject[] = [];
    for (const [k, o] of m) if (namespace === undefined || k.startsWith(`${namespace}/`)) out.push(o);
    return out.sort(compareObjects);
  }

  /** The objects as they were at `rv`, rebuilt from history; 410 Gone if `rv` is older than history. */
  listAt(storageKey: string, namespace: string | undefined, rv: number): KubeObject[] {
    if (rv >= this.#rv) return this.list(storageKey, namespace);
    if (rv < this.#historyFloor) throw gone(`too old resource version: ${rv} (${this.#historyFloor})`);
    const m = new Map<string, KubeObject>();
    for (const o of this.list(storageKey, namespace)) m.set(keyOf(o), o);
    for (let i = this.#history.length - 1; i >= 0; i--) {
      const e = this.#history[i]!;
      if (e.rv <= rv) break;
      if (e.storageKey !== storageKey) continue;
      const k = keyOf(e.obj);
      if (namespace !== undefined && !k.startsWith(`${namespace}/`)) continue;
      if (e.type === 'ADDED') m.delete(k);
      else if (e.prev) m.set(k, e.prev);
    }
    return [...m.values()].sort(compareObjects);
  }

  /** Events of one resource after `rv`, oldest first; 410 Gone if they are no longer retained. */
  eventsSince(storageKey: string, rv: number): StoreEvent[] {
    if (rv < this.#historyFloor) throw gone(`too old resource version: ${rv} (${this.#historyFloor})`);
    const out: StoreEvent[] = [];
    let i = this.#history.length;
    while (i > 0 && this.#history[i - 1]!.rv > rv) i--;
    for (; i < this.#history.length; i++) {
      const e = this.#history[i]!;
      if (e.storageKey === storageKey) out.push(e);
    }
    return out;
  }

  /** Next resourceVersion, for writers that must stamp an object before `put`. */
  nextResourceVersion(): number {
    return this.#rv + 1;
  }

  /** Stores a new or changed object; the object's `metadata.resourceVersion` is set here. */
  put(storageKey: string, obj: KubeObject): KubeObject {
    const rv = ++this.#rv;
    obj.metadata['resourceVersion'] = String(rv);
    let m = this.#data.get(storageKey);
    if (!m) this.#data.set(storageKey, (m = new Map()));
    const k = keyOf(obj);
    const prev = m.get(k);
    m.set(k, obj);
    this.#record(prev ? { rv, type: 'MODIFIED', storageKey, obj, prev } : { rv, type: 'ADDED', storageKey, obj });
    return obj;
  }

  /** Removes an object; the DELETED event carries the object with a fresh resourceVersion. */
  remove(storageKey: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const m = this.#data.get(storageKey);
    const k = objectKey(namespace, name);
    const prev = m?.get(k);
    if (!m || !prev) return undefined;
    m.delete(k);
    const rv = ++this.#rv;
    const obj: KubeObject = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } };
    this.#record({ rv, type: 'DELETED', storageKey, obj, prev });
    return obj;
  }

  #record(e: StoreEvent): void {
    this.#history.push(e);
    if (this.#history.length > this.#historySize) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historySize);
      this.#historyFloor = dropped[dropped.length - 1]!.rv;
    }
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch {
        // A listener failure must not break the write path; listeners report their own errors.
      }
    }
    this.#schedulePersist();
  }

  subscribe(l: StoreListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  storageKeys(): string[] {
    return [...this.#data.keys()];
  }

  #schedulePersist(): void {
    if (!this.#file || this.#persistTimer) return;
    this.#persistTimer = setTimeout(() => {
      this.#persistTimer = undefined;
      this.flush();
    }, 1000);
    this.#persistTimer.unref();
  }

  /** Writes state now (no-op without a dataDir). */
  flush(): void {
    if (!this.#file) return;
    if (this.#persistTimer) {
      clearTimeout(this.#persistTimer);
      this.#persistTimer = undefined;
    }
    const state: PersistedState = { resourceVersion: this.#rv, objects: {} };
    for (const [k, m] of this.#data) state.objects[k] = [...m.values()];
    const tmp = `${this.#file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state));
    fs.renameSync(tmp, this.#file);
  }
}

function keyOf(o: KubeObject): string {
  return objectKey(o.metadata['namespace'] as string | undefined, o.metadata['name'] as string);
}

function compareObjects(a: KubeObject, b: KubeObject): number {
  const ka = keyOf(a);
  const kb = keyOf(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
