/**
 * Shared pieces of the workload controllers: a deduplicating work queue with per-key retry
 * backoff, label selector matching, pod readiness, owner references, template hashing and
 * creation/deletion expectations (so a stale cache right after our own writes never makes a
 * controller create or delete twice).
 */
import type { KubeObject, LabelSelector, OwnerReference, Pod } from '../harness/k8s-types.js';

export type Reconcile = (key: string) => Promise<void | { requeueAfterMs: number }>;

/** Serial work queue: a key queued while being processed is processed again afterwards. Never throws. */
export class WorkQueue {
  #pending = new Set<string>();
  #active = false;
  #failures = new Map<string, number>();
  #timers = new Set<NodeJS.Timeout>();
  #stopped = false;
  #reconcile: Reconcile;
  #onError: (key: string, e: unknown) => void;

  constructor(reconcile: Reconcile, onError: (key: string, e: unknown) => void) {
    this.#reconcile = reconcile;
    this.#onError = onError;
  }

  add(key: string): void {
    if (this.#stopped) return;
    this.#pending.add(key);
    void this.#drain();
  }

  addAfter(key: string, ms: number): void {
    if (this.#stopped) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.add(key);
    }, ms);
    this.#timers.add(t);
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#pending.clear();
  }

  async #drain(): Promise<void> {
    if (this.#active) return;
    this.#active = true;
    try {
      while (this.#pending.size > 0 && !this.#stopped) {
        const key = this.#pending.values().next().value as string;
        this.#pending.delete(key);
        try {
          const r = await this.#reconcile(key);
          this.#failures.delete(key);
          if (r) this.addAfter(key, r.requeueAfterMs);
        } catch (e) {
          const n = (this.#failures.get(key) ?? 0) + 1;
          this.#failures.set(key, n);
          this.#onError(key, e);
          this.addAfter(key, Math.min(5000, 20 * 2 ** n));
        }
      }
    } finally {
      this.#active = false;
    }
  }
}

export function matchesSelector(sel: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const r of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    if (r.operator === 'In' && !(has && r.values?.includes(v!))) return false;
    if (r.operator === 'NotIn' && has && r.values?.includes(v!)) return false;
    if (r.operator === 'Exists' && !has) return false;
    if (r.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export function isPodReady(p: Pod): boolean {
  return p.status?.phase === 'Running' && (p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
}

export function isTerminating(p: Pod): boolean {
  return Boolean(p.metadata.deletionTimestamp);
}

export function isFinished(p: Pod): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

export function controllerOf(o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

export function ownerRef(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** Stable JSON (sorted keys) so hashes do not depend on field order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** FNV-1a 32-bit, encoded with Kubernetes' SafeEncodeString alphabet (no vowels, no look-alikes). */
export function templateHash(v: unknown, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const s = canonicalJson(v) + (collisionCount ? String(collisionCount) : '');
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return String(h).split('').map((d) => alphabet[Number(d)]!).join('');
}

/**
 * Creations/deletions issued but not yet observed in the informer cache, per owner key.
 * Creations are tracked by name; deletions by uid (StatefulSets reuse names), and a pod whose
 * deletion is expected is presented as terminating until the cache shows it so or drops it.
 */
export class Expectations {
  #adds = new Map<string, Map<string, number>>();
  #dels = new Map<string, Map<string, number>>();
  readonly ttlMs: number;

  constructor(ttlMs = 30_000) {
    this.ttlMs = ttlMs;
  }

  expectCreate(owner: string, name: string): void {
    get(this.#adds, owner).set(name, Date.now());
  }

  expectDelete(owner: string, uid: string): void {
    get(this.#dels, owner).set(uid, Date.now());
  }

  /** Applies expectations to a cached pod list; returns the adjusted list and the creations not yet seen. */
  reconcile<T extends KubeObject>(owner: string, cached: T[]): { pods: T[]; pendingCreates: number } {
    const now = Date.now();
    const adds = get(this.#adds, owner);
    const dels = get(this.#dels, owner);
    const names = new Set(cached.map((p) => p.metadata.name ?? ''));
    const byUid = new Map(cached.map((p) => [p.metadata.uid ?? '', p]));
    for (const [n, at] of adds) if (names.has(n) || now - at > this.ttlMs) adds.delete(n);
    for (const [uid, at] of dels) {
      const p = byUid.get(uid);
      if (!p || p.metadata.deletionTimestamp || now - at > this.ttlMs) dels.delete(uid);
    }
    const pods = cached.map((p) => (dels.has(p.metadata.uid ?? '') ? { ...p, metadata: { ...p.metadata, deletionTimestamp: new Date(now).toISOString() } } : p));
    return { pods, pendingCreates: adds.size };
  }
}

function get(m: Map<string, Map<string, number>>, k: string): Map<string, number> {
  let v = m.get(k);
  if (!v) m.set(k, (v = new Map()));
  return v;
}

export const nowIso = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
