/**
 * Wires informers, the work queue and the reconciler: events on Collectors and on the objects
 * they own (found through the controller owner reference) or reference (`configMapRef`) enqueue
 * the Collector's key; `workers` loops take keys one at a time per key, reconcile, and re-queue
 * failures with capped exponential backoff. `run` never rejects: failures are logged and counted.
 *
 * Events that cannot change the outcome are not enqueued (as controller-runtime's predicates):
 * a Collector update that changed only its status (the reconciler's own write), and the creation
 * of an owned object (the reconcile that created it already used the answer; later changes and
 * deletions of it are enqueued), and another controller's write to a ServiceAccount or
 * PodDisruptionBudget that left its metadata as it was (`METADATA_DECIDES`). The periodic resync
 * re-reads everything regardless.
 */
import type { Logger } from 'winston';
import { API_VERSION, KIND } from '../api/v1alpha1/collector-types.js';
import type { KubeApi, KubeObject } from '../kube/kube-api.js';
import { CacheReader, type ObjectCache, type ObjectReader } from '../kube/cache-reader.js';
import { METADATA_ONLY_KINDS } from '../kube/cache-transform.js';
import { CONFIG_SOURCE_LABEL, OWNED_SELECTOR } from '../render/labels.js';
import { ResilientInformer, type InformerCore } from '../kube/resilient-informer.js';
import type { OperatorMetrics } from '../metrics/operator-metrics.js';
import type { BackoffOptions } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';
import { stableJson } from './desired-state.js';
import { WorkQueue } from './work-queue.js';
import type { ReconcileResult } from './collector-reconciler.js';

export interface Reconciler {
  reconcile(key: string): Promise<ReconcileResult>;
}

/** Kinds whose changes are mapped back to their owning Collector. */
export const WATCHED_OWNED_KINDS: ReadonlyArray<{ apiVersion: string; kind: string }> = [
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
];

/**
 * Builds an informer for a kind, optionally restricted by a label selector. `metadataOnly`: the
 * reconciler needs only the objects' metadata (`METADATA_ONLY_KINDS`), so the informer may watch
 * `PartialObjectMetadata` and cache nothing else; an informer that keeps whole objects is correct
 * too, only larger.
 */
export type InformerFactory = (apiVersion: string, kind: string, labelSelector: string | undefined, metadataOnly: boolean) => InformerCore<KubeObject>;

/**
 * Owned kinds whose cached form is their metadata and whose other fields only other controllers
 * write (ServiceAccount: the token controller's `secrets`; PodDisruptionBudget: its `status`): the
 * reconciler decides them from the metadata alone (`desired-state.ts` `OTHER_WRITERS`), so an
 * update that moved nothing but the resourceVersion cannot change its outcome and is not queued.
 * A PodDisruptionBudget spec edit moves its `generation`, which is metadata.
 */
const METADATA_DECIDES: ReadonlySet<string> = new Set(['ServiceAccount', 'PodDisruptionBudget']);

/** Only the collector pods this operator renders are watched (pods carry the common labels). */
export const POD_SELECTOR = 'app.kubernetes.io/managed-by=alloy-operator,app.kubernetes.io/component=collector';

export interface CollectorControllerOptions {
  /** The reconciler, given a reader over this controller's informer caches. */
  readonly reconciler: Reconciler | ((reader: ObjectReader) => Reconciler);
  /** API for reads the caches cannot serve (kinds without an informer, before sync). */
  readonly api: KubeApi;
  readonly informers: InformerFactory;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: OperatorMetrics;
  /** Parallel reconciles (of different keys). @default 2 */
  readonly workers?: number;
  /** Per-key retry backoff. @default 200 ms .. 60 s */
  readonly backoff?: BackoffOptions;
  /** Informer restart backoff. @default 500 ms .. 30 s */
  readonly informerBackoff?: BackoffOptions;
  /**
   * Periodic re-queue of every Collector (level-based safety net), spread over a tenth of the
   * period (at most 30 s). @default 300000; 0 disables
   */
  readonly resyncMs?: number;
}

const NAME = 'collector';

export class CollectorController {
  readonly queue: WorkQueue;
  /** Cache-backed reads over this controller's informers. */
  readonly reader: ObjectReader;
  readonly #o: CollectorControllerOptions;
  readonly #reconciler: Reconciler;
  readonly #collectors: ResilientInformer<KubeObject>;
  readonly #owned: ResilientInformer<KubeObject>[] = [];
  readonly #pods: ResilientInformer<KubeObject>;
  readonly #configSources: ResilientInformer<KubeObject>;

  /** @throws when `workers` is not a positive integer. */
  constructor(opts: CollectorControllerOptions) {
    const workers = opts.workers ?? 2;
    if (!Number.isInteger(workers) || workers < 1) throw new Error(`CollectorController: option "workers" must be a positive integer, got ${workers}`);
    this.#o = opts;
    this.queue = new WorkQueue({ clock: opts.clock, backoff: opts.backoff ?? { baseMs: 200, maxMs: 60_000 } });
    const informer = (apiVersion: string, kind: string, labelSelector?: string, metadataOnly = false): ResilientInformer<KubeObject> =>
      new ResilientInformer(opts.informers(apiVersion, kind, labelSelector, metadataOnly), {
        name: kind,
        clock: opts.clock,
        ...(opts.informerBackoff !== undefined ? { backoff: opts.informerBackoff } : {}),
        onError: (err, restartInMs) => {
          opts.metrics.informerRestarts.inc({ resource: kind });
          opts.logger.warn('informer failed; restarting', { resource: kind, restartInMs, error: err instanceof Error ? err.message : String(err) });
        },
      });
    this.#collectors = informer(API_VERSION, KIND);
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#collectors.on(event, (o, old) => {
        if (event === 'update' && old !== undefined && onlyStatusChanged(old, o)) return;
        this.#enqueue(`${o.metadata.namespace}/${o.metadata.name}`);
      });
    }
    for (const { apiVersion, kind } of WATCHED_OWNED_KINDS) {
      const inf = informer(apiVersion, kind, OWNED_SELECTOR, METADATA_ONLY_KINDS.has(kind));
      inf.on('update', (o, old) => {
        if (METADATA_DECIDES.has(kind) && old !== undefined && onlyResourceVersionChanged(old, o)) return;
        this.#enqueueOwnersOf(o);
      });
      inf.on('delete', (o) => this.#enqueueOwnersOf(o));
      this.#owned.push(inf);
    }
    this.#configSources = informer('v1', 'ConfigMap', `${CONFIG_SOURCE_LABEL}=true`);
    for (const event of ['add', 'update', 'delete'] as const) this.#configSources.on(event, (o) => this.#enqueueOwnersOf(o));
    // Pod readiness and container states feed the Ready message and the config probe.
    this.#pods = informer('v1', 'Pod', POD_SELECTOR);
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#pods.on(event, (o) => {
        const instance = o.metadata.labels?.['app.kubernetes.io/instance'];
        if (instance !== undefined && o.metadata.namespace !== undefined) this.#enqueue(`${o.metadata.namespace}/${instance}`);
      });
    }
    const caches = new Map<string, ObjectCache>([
      [CacheReader.key(API_VERSION, KIND), this.#collectors],
      [CacheReader.key('v1', 'Pod'), this.#pods],
    ]);
    WATCHED_OWNED_KINDS.forEach(({ apiVersion, kind }, i) => caches.set(CacheReader.key(apiVersion, kind), this.#owned[i]!));
    const configMaps = caches.get(CacheReader.key('v1', 'ConfigMap'));
    // Config sources first: they are whole objects, the owned ConfigMaps metadata only.
    if (configMaps !== undefined) caches.set(CacheReader.key('v1', 'ConfigMap'), new UnionCache([this.#configSources, configMaps]));
    this.reader = new CacheReader(opts.api, caches);
    this.#reconciler = typeof opts.reconciler === 'function' ? opts.reconciler(this.reader) : opts.reconciler;
  }

  /** All informers have listed at least once. */
  get synced(): boolean {
    return this.#collectors.synced && this.#pods.synced && this.#configSources.synced && this.#owned.every((i) => i.synced);
  }

  #enqueue(key: string): void {
    this.#o.metrics.queueAdds.inc({ name: NAME });
    this.queue.add(key);
    this.#o.metrics.queueDepth.set({ name: NAME }, this.queue.depth);
  }

  #enqueueOwnersOf(o: KubeObject): void {
    const ns = o.metadata.namespace;
    if (ns === undefined) return;
    for (const ref of o.metadata.ownerReferences ?? []) {
      if (ref.kind === KIND && ref.apiVersion.startsWith('alloy.dev/') && ref.controller === true) this.#enqueue(`${ns}/${ref.name}`);
    }
    if (o.kind === 'ConfigMap') {
      for (const c of this.#collectors.list(ns)) {
        const ref = (c['spec'] as { configMapRef?: { name?: string } } | undefined)?.configMapRef;
        if (ref?.name === o.metadata.name) this.#enqueue(`${ns}/${c.metadata.name}`);
      }
    }
  }

  async #process(key: string): Promise<void> {
    const { metrics, logger, clock } = this.#o;
    const started = clock.now();
    try {
      const result = await this.#reconciler.reconcile(key);
      this.queue.forget(key);
      if (result.requeueAfterMs !== undefined) {
        this.queue.addAfter(key, result.requeueAfterMs);
        metrics.reconcileTotal.inc({ controller: NAME, result: 'requeue_after' });
      } else {
        metrics.reconcileTotal.inc({ controller: NAME, result: 'success' });
      }
    } catch (e) {
      const delay = this.queue.addRateLimited(key);
      metrics.reconcileTotal.inc({ controller: NAME, result: 'error' });
      metrics.reconcileErrors.inc({ controller: NAME });
      metrics.queueRetries.inc({ name: NAME });
      logger.warn('reconcile failed; retrying', { collector: key, retryInMs: delay, attempt: this.queue.failures(key), error: e instanceof Error ? e.message : String(e) });
    } finally {
      metrics.reconcileTime.observe({ controller: NAME }, (clock.now() - started) / 1000);
      metrics.queueDepth.set({ name: NAME }, this.queue.depth);
    }
  }

  async #worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.#process(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  /**
   * Starts informers and workers; resolves after `signal` aborts, the queue is shut down and
   * in-flight reconciles have finished (graceful shutdown).
   */
  async run(signal: AbortSignal): Promise<void> {
    const { logger, clock } = this.#o;
    const informers = [this.#collectors, this.#pods, this.#configSources, ...this.#owned];
    await Promise.all(informers.map((i) => i.start()));
    logger.info('controller started', { workers: this.#o.workers ?? 2, synced: this.synced });
    const resyncMs = this.#o.resyncMs ?? 300_000;
    let resync: { cancel(): void } | undefined;
    const scheduleResync = (): void => {
      if (resyncMs <= 0 || signal.aborted) return;
      resync = clock.after(resyncMs, () => {
        // Spread over a tenth of the period (at most 30 s) instead of queueing every Collector at
        // once: the same reconciles, without a burst of garbage that grows the heap.
        const all = this.#collectors.list();
        const spreadMs = Math.min(30_000, resyncMs / 10);
        all.forEach((c, i) => this.queue.addAfter(`${c.metadata.namespace}/${c.metadata.name}`, Math.floor((i * spreadMs) / all.length)));
        this.#o.metrics.queueAdds.inc({ name: NAME }, all.length);
        scheduleResync();
      });
    };
    scheduleResync();
    const workers = Array.from({ length: this.#o.workers ?? 2 }, () => this.#worker());
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    resync?.cancel();
    this.queue.shutDown();
    await Promise.all(workers);
    await Promise.all(informers.map((i) => i.stop()));
    logger.info('controller stopped');
  }
}

/** True when `next` is `prev` but for its resourceVersion (and `managedFields`, which the cache keeps only in part). */
export function onlyResourceVersionChanged(prev: KubeObject, next: KubeObject): boolean {
  const strip = (o: KubeObject): unknown => {
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = o.metadata as KubeObject['metadata'] & { managedFields?: unknown };
    void _rv;
    void _mf;
    return { ...o, metadata: meta };
  };
  return stableJson(strip(prev)) === stableJson(strip(next));
}

/** True when `next` differs from `prev` only in status and resourceVersion (same generation, metadata and spec). */
export function onlyStatusChanged(prev: KubeObject, next: KubeObject): boolean {
  const strip = (o: KubeObject): unknown => {
    const { status: _status, metadata, ...rest } = o as KubeObject & { status?: unknown };
    void _status;
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata as KubeObject['metadata'] & { managedFields?: unknown };
    void _rv;
    void _mf;
    return { ...rest, metadata: meta };
  };
  return prev.metadata.generation === next.metadata.generation && stableJson(strip(prev)) === stableJson(strip(next));
}

/** Several label-selected informers of one kind read as one cache (first match wins). */
class UnionCache implements ObjectCache {
  readonly #parts: readonly ObjectCache[];

  constructor(parts: readonly ObjectCache[]) {
    this.#parts = parts;
  }

  get synced(): boolean {
    return this.#parts.every((p) => p.synced);
  }

  get(name: string, namespace?: string): KubeObject | undefined {
    for (const p of this.#parts) {
      const o = p.get(name, namespace);
      if (o !== undefined) return o;
    }
    return undefined;
  }

  list(namespace?: string): KubeObject[] {
    const seen = new Set<string>();
    const out: KubeObject[] = [];
    for (const p of this.#parts) {
      for (const o of p.list(namespace)) {
        const k = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(o);
      }
    }
    return out;
  }
}
