/**
 * The garbage collector and namespace controller of the test API server, run in-process after
 * writes: dependents of deleted owners are deleted (background), `foregroundDeletion` owners wait
 * for their blocking dependents, `orphan` owners release theirs, dangling owner references are
 * removed, and terminating namespaces are emptied before they go.
 *
 * Contracts: passes run on `setImmediate` after store events and never throw (failures are
 * logged); a pass that made progress schedules another; `stop()` cancels the pending pass.
 */
import type { Logger } from 'winston';
import type { ObjectStore, StoreEvent } from './store.js';
import { deepClone, isObject, type Json, type KubeObject, type ResourceType } from './types.js';

export interface GcHost {
  readonly store: ObjectStore;
  /** The resource type objects under a storage key belong to. */
  typeFor(storageKey: string): ResourceType | undefined;
  /** Deletes like an API DELETE with this propagation policy (NotFound is not an error). */
  delete(t: ResourceType, o: KubeObject, policy: 'Background' | 'Foreground'): void;
  /** Writes `next` over `cur` as the controller manager. */
  update(t: ResourceType, cur: KubeObject, next: KubeObject): void;
  readonly logger?: Logger;
}

interface Entry {
  readonly t: ResourceType;
  readonly o: KubeObject;
}

function nsOf(o: KubeObject): string | undefined {
  const ns = o.metadata['namespace'];
  return typeof ns === 'string' ? ns : undefined;
}

function nameOf(o: KubeObject): string {
  return String(o.metadata['name']);
}

function refs(o: KubeObject): Json[] {
  const r = o.metadata['ownerReferences'];
  return Array.isArray(r) ? r : [];
}

export class GarbageCollector {
  readonly #host: GcHost;
  #timer: NodeJS.Immediate | undefined;
  #stopped = false;

  constructor(host: GcHost) {
    this.#host = host;
  }

  /** Store listener: deletions, terminating objects and new dependents need a pass. */
  onEvent(e: StoreEvent): void {
    if (e.type === 'DELETED' || e.obj.metadata['deletionTimestamp'] || (e.type === 'ADDED' && refs(e.obj).length > 0)) this.schedule();
  }

  schedule(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setImmediate(() => {
      this.#timer = undefined;
      try {
        if (this.#pass()) this.schedule();
      } catch (e: unknown) {
        this.#host.logger?.error('garbage collection failed', { error: e instanceof Error ? e.stack : String(e) });
      }
    });
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearImmediate(this.#timer);
    this.#timer = undefined;
  }

  #live(e: Entry): KubeObject | undefined {
    return this.#host.store.get(e.t.storageKey, nsOf(e.o), nameOf(e.o));
  }

  /** One pass; true when it changed something. */
  #pass(): boolean {
    const { store } = this.#host;
    const all: Entry[] = [];
    for (const key of store.storageKeys()) {
      const t = this.#host.typeFor(key);
      if (t) for (const o of store.list(key)) all.push({ t, o });
    }
    let progress = false;
    for (const e of all) {
      if (!e.o.metadata['deletionTimestamp']) continue;
      const fins = Array.isArray(e.o.metadata['finalizers']) ? e.o.metadata['finalizers'].map(String) : [];
      if (fins.includes('orphan')) progress = this.#orphan(e, all) || progress;
      else if (fins.includes('foregroundDeletion')) progress = this.#foreground(e, all) || progress;
      if (e.t.kind === 'Namespace') progress = this.#terminateNamespace(e, all) || progress;
    }
    return this.#collectDangling(all) || progress;
  }

  #dependents(uid: string, all: readonly Entry[]): Entry[] {
    return all.filter((x) => refs(x.o).some((r) => isObject(r) && r['uid'] === uid));
  }

  #removeFinalizer(e: Entry, finalizer: string): void {
    const cur = this.#live(e);
    if (!cur) return;
    const next = deepClone(cur);
    const left = (Array.isArray(next.metadata['finalizers']) ? next.metadata['finalizers'] : []).filter((x) => x !== finalizer);
    if (left.length === 0) delete next.metadata['finalizers'];
    else next.metadata['finalizers'] = left;
    this.#host.update(e.t, cur, next);
  }

  #orphan(owner: Entry, all: readonly Entry[]): boolean {
    const uid = String(owner.o.metadata['uid']);
    for (const d of this.#dependents(uid, all)) {
      const cur = this.#live(d);
      if (!cur) continue;
      const next = deepClone(cur);
      const kept = refs(next).filter((r) => !(isObject(r) && r['uid'] === uid));
      if (kept.length === 0) delete next.metadata['ownerReferences'];
      else next.metadata['ownerReferences'] = kept;
      this.#host.update(d.t, cur, next);
    }
    this.#removeFinalizer(owner, 'orphan');
    return true;
  }

  #foreground(owner: Entry, all: readonly Entry[]): boolean {
    const uid = String(owner.o.metadata['uid']);
    const deps = this.#dependents(uid, all);
    let progress = false;
    for (const d of deps) {
      if (d.o.metadata['deletionTimestamp'] || !this.#live(d)) continue;
      this.#host.delete(d.t, d.o, 'Foreground');
      progress = true;
    }
    const blocking = deps.filter((d) => refs(this.#live(d) ?? d.o).some((r) => isObject(r) && r['uid'] === uid && r['blockOwnerDeletion'] === true) && this.#live(d));
    if (blocking.length === 0) {
      this.#removeFinalizer(owner, 'foregroundDeletion');
      return true;
    }
    return progress;
  }

  /** Deletes a terminating namespace's content (default grace), then the namespace itself. */
  #terminateNamespace(nsEntry: Entry, all: readonly Entry[]): boolean {
    const ns = nameOf(nsEntry.o);
    const content = all.filter((x) => x.t.scope === 'Namespaced' && nsOf(x.o) === ns);
    for (const c of content) {
      const live = this.#live(c);
      if (live && !live.metadata['deletionTimestamp']) this.#host.delete(c.t, live, 'Background');
    }
    if (content.some((c) => this.#live(c))) return false;
    const cur = this.#live(nsEntry);
    if (!cur) return false;
    const { store } = this.#host;
    if (!Array.isArray(cur.metadata['finalizers']) || cur.metadata['finalizers'].length === 0) {
      store.remove(nsEntry.t.storageKey, undefined, ns);
    } else {
      const next = deepClone(cur);
      if (isObject(next['spec'])) next['spec']['finalizers'] = [];
      store.put(nsEntry.t.storageKey, next);
    }
    return true;
  }

  /** Objects whose owners are all gone are deleted; references to missing owners are dropped. */
  #collectDangling(all: readonly Entry[]): boolean {
    const { store } = this.#host;
    const alive = new Set<string>();
    for (const key of store.storageKeys()) for (const x of store.list(key)) alive.add(String(x.metadata['uid']));
    let progress = false;
    for (const e of all) {
      const cur = this.#live(e);
      if (!cur) continue;
      const owners = refs(cur);
      if (owners.length === 0) continue;
      const live = owners.filter((r) => isObject(r) && alive.has(String(r['uid'])));
      if (live.length === owners.length) continue;
      if (live.length === 0) {
        if (cur.metadata['deletionTimestamp']) continue;
        this.#host.delete(e.t, cur, 'Background');
      } else {
        const next = deepClone(cur);
        next.metadata['ownerReferences'] = live;
        this.#host.update(e.t, cur, next);
      }
      progress = true;
    }
    return progress;
  }
}
