import { createHash } from 'node:crypto';
import winston from 'winston';
import { configBlocks } from '../rbac/config-blocks.js';
import { FakeKubeApi } from '../kube/fake-kube-api.test-support.js';
import { listWatchFor } from '../kube/resilient-informer.js';
import { cacheTransform } from '../kube/cache-transform.js';
import { FIELD_MANAGER } from '../render/labels.js';
import type { ObjectReader } from '../kube/cache-reader.js';
import { OperatorMetrics } from '../metrics/operator-metrics.js';
import { ManualClock, flushMicrotasks } from '../util/clock.js';
import { CollectorController, onlyResourceVersionChanged, onlyStatusChanged, type Reconciler } from './collector-controller.js';
import { CollectorReconciler } from './collector-reconciler.js';
import { KubeEventRecorder } from './event-recorder.js';

const logger = winston.createLogger({ silent: true });

function collectorObj(name: string, spec: Record<string, unknown> = { config: 'logging {}' }) {
  return { apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name, namespace: 'obs' }, spec };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await flushMicrotasks();
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('CollectorController', () => {
  it('GIVEN Collectors and owned objects WHEN events arrive THEN the owning Collector is reconciled', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock();
    const seen: string[] = [];
    const metrics = new OperatorMetrics();
    const spy = (reader: ObjectReader): Reconciler => {
      const reconciler = new CollectorReconciler({ api, analyze: configBlocks, reader, validate: () => [], defaultImage: 'img:1', clock, logger, events: new KubeEventRecorder(api, clock, logger, 't') });
      return { reconcile: (key) => (seen.push(key), reconciler.reconcile(key)) };
    };
    const controller = new CollectorController({ api, reconciler: spy, informers: (v, k, labelSelector) => listWatchFor(api, v, k, { delay: (ms) => clock.sleep(ms), ...(labelSelector !== undefined ? { labelSelector } : {}) }), clock, logger, metrics, resyncMs: 0 });
    api.seed(collectorObj('a'));
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    await until(() => api.peek({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'obs', name: 'a' }) !== undefined, 'StatefulSet');
    expect(controller.synced).toBe(true);

    // The StatefulSet controller reports progress: the owner is reconciled and status follows.
    seen.length = 0;
    await api.mergePatch({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'obs', name: 'a' }, { status: { replicas: 1, readyReplicas: 1, updatedReplicas: 1 } }, 'status');
    await until(() => seen.includes('obs/a'), 'reconcile after StatefulSet status change');
    await until(() => (api.peek({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', namespace: 'obs', name: 'a' })?.['status'] as { readyReplicas?: number })?.readyReplicas === 1, 'readyReplicas=1');

    stop.abort();
    await running;
    const total = await metrics.registry.getSingleMetricAsString('controller_runtime_reconcile_total');
    expect(total).toMatch(/controller_runtime_reconcile_total\{controller="collector",result="success"\} [1-9]/);
  });

  it('GIVEN events that cannot change the outcome THEN they are not enqueued: a status-only Collector update, an owned object created', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock();
    const seen: string[] = [];
    const controller = new CollectorController({ api, reconciler: { reconcile: async (key) => (seen.push(key), {}) }, informers: (v, k, labelSelector) => listWatchFor(api, v, k, labelSelector !== undefined ? { labelSelector } : {}), clock, logger, metrics: new OperatorMetrics(), resyncMs: 0 });
    api.seed(collectorObj('a'));
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    await until(() => seen.length === 1, 'the first reconcile');
    const ref = { apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', namespace: 'obs', name: 'a' };
    await api.mergePatch(ref, { status: { observedGeneration: 1 } }, 'status');
    const owned = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a-config', namespace: 'obs', labels: { 'app.kubernetes.io/managed-by': 'alloy-operator' }, ownerReferences: [{ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', name: 'a', uid: 'u', controller: true }] }, data: { x: '1' } };
    await api.apply(owned);
    await flushMicrotasks();
    expect(controller.queue.depth).toBe(0);
    // A spec change, and a change or deletion of an owned object, are enqueued.
    await api.mergePatch(ref, { spec: { config: 'logging { level = "debug" }' } });
    await until(() => seen.length === 2, 'a reconcile after the spec change');
    await api.apply({ ...owned, data: { x: '2' } });
    await until(() => seen.length === 3, 'a reconcile after the owned object changed');
    await api.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'obs', name: 'a-config' });
    await until(() => seen.length === 4, 'a reconcile after the owned object was deleted');
    expect(seen).toStrictEqual(['obs/a', 'obs/a', 'obs/a', 'obs/a']);
    stop.abort();
    await running;
  });

  it('GIVEN the resync period elapses THEN every Collector is reconciled again, spread over a tenth of the period', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock();
    const seen: string[] = [];
    const controller = new CollectorController({ api, reconciler: { reconcile: async (key) => (seen.push(key), {}) }, informers: (v, k, labelSelector) => listWatchFor(api, v, k, labelSelector !== undefined ? { labelSelector } : {}), clock, logger, metrics: new OperatorMetrics(), resyncMs: 10_000 });
    for (const name of ['a', 'b', 'c', 'd']) api.seed(collectorObj(name));
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    await until(() => seen.length === 4, 'the first reconciles');
    seen.length = 0;
    await clock.advance(10_000);
    await until(() => seen.length === 1, 'the first resync reconcile');
    // 4 Collectors over 1,000 ms: one now, then one every 250 ms.
    await clock.advance(249);
    for (let i = 0; i < 20; i++) await flushMicrotasks();
    expect(seen).toHaveLength(1);
    await clock.advance(1);
    await until(() => seen.length === 2, 'the second after 250 ms');
    await clock.advance(500);
    await until(() => seen.length === 4, 'all four within a tenth of the period');
    expect([...seen].sort()).toStrictEqual(['obs/a', 'obs/b', 'obs/c', 'obs/d']);
    stop.abort();
    await running;
  });

  it('onlyStatusChanged: status and resourceVersion differences only', () => {
    const base = { apiVersion: 'v', kind: 'Collector', metadata: { name: 'a', generation: 2, resourceVersion: '1', finalizers: ['f'] }, spec: { replicas: 1 }, status: { x: 1 } };
    expect(onlyStatusChanged(base, { ...base, metadata: { ...base.metadata, resourceVersion: '2' }, status: { x: 2 } })).toBe(true);
    expect(onlyStatusChanged(base, { ...base, metadata: { ...base.metadata, generation: 3 } })).toBe(false);
    expect(onlyStatusChanged(base, { ...base, metadata: { ...base.metadata, finalizers: [] } })).toBe(false);
    expect(onlyStatusChanged(base, { ...base, metadata: { ...base.metadata, deletionTimestamp: 't' } })).toBe(false);
  });

  it('onlyResourceVersionChanged: the resourceVersion and managedFields only', () => {
    const base = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a', resourceVersion: '1', labels: { x: '1' }, managedFields: [{ manager: 'm' }] } };
    expect(onlyResourceVersionChanged(base, { ...base, metadata: { ...base.metadata, resourceVersion: '2', managedFields: [] } })).toBe(true);
    expect(onlyResourceVersionChanged(base, { ...base, metadata: { ...base.metadata, resourceVersion: '2', labels: {} } })).toBe(false);
    expect(onlyResourceVersionChanged(base, { ...base, metadata: { ...base.metadata, generation: 2 } })).toBe(false);
    expect(onlyResourceVersionChanged(base, { ...base, secrets: [] })).toBe(false);
  });

  it('GIVEN a Collector referencing a ConfigMap WHEN that ConfigMap changes THEN the Collector is reconciled', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock();
    const seen: string[] = [];
    const controller = new CollectorController({
      api,
      reconciler: { reconcile: async (key) => (seen.push(key), {}) },
      informers: (v, k) => listWatchFor(api, v, k),
      clock,
      logger,
      metrics: new OperatorMetrics(),
      resyncMs: 0,
    });
    api.seed(collectorObj('b', { configMapRef: { name: 'user-cfg' } }));
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    await until(() => seen.includes('obs/b'), 'initial reconcile');
    seen.length = 0;
    api.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'user-cfg', namespace: 'obs' }, data: { 'config.alloy': 'x' } });
    await until(() => seen.includes('obs/b'), 'reconcile after referenced ConfigMap change');
    stop.abort();
    await running;
  });

  it('GIVEN a collector pod WHEN its status changes THEN its Collector is reconciled', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock();
    const seen: string[] = [];
    const controller = new CollectorController({
      api,
      reconciler: { reconcile: async (key) => (seen.push(key), {}) },
      informers: (v, k, labelSelector) => listWatchFor(api, v, k, labelSelector !== undefined ? { labelSelector } : {}),
      clock,
      logger,
      metrics: new OperatorMetrics(),
      resyncMs: 0,
    });
    const labels = { 'app.kubernetes.io/instance': 'p', 'app.kubernetes.io/managed-by': 'alloy-operator', 'app.kubernetes.io/component': 'collector' };
    api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p-0', namespace: 'obs', labels }, status: { phase: 'Pending' } });
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    await until(() => seen.includes('obs/p'), 'reconcile from the listed pod');
    seen.length = 0;
    await api.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace: 'obs', name: 'p-0' }, { status: { phase: 'Running' } }, 'status');
    await until(() => seen.includes('obs/p'), 'reconcile after the pod status change');
    stop.abort();
    await running;
  });

  it('GIVEN a reconcile that keeps failing WHEN retried THEN the backoff doubles and is capped', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock();
    const times: number[] = [];
    const controller = new CollectorController({
      api,
      reconciler: {
        reconcile: async () => {
          times.push(clock.now());
          throw new Error('API server unavailable');
        },
      },
      informers: (v, k) => listWatchFor(api, v, k),
      clock,
      logger,
      metrics: new OperatorMetrics(),
      backoff: { baseMs: 100, maxMs: 800 },
      resyncMs: 0,
    });
    api.seed(collectorObj('c'));
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    await until(() => times.length === 1, 'first attempt');
    for (let i = 0; i < 6; i++) await clock.advance(1000);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.slice(0, 6)).toStrictEqual([100, 200, 400, 800, 800, 800]);
    stop.abort();
    await running;
  });

  it('GIVEN workers=0 THEN the constructor names the option', () => {
    expect(
      () => new CollectorController({ api: new FakeKubeApi(), reconciler: { reconcile: async () => ({}) }, informers: (v, k) => listWatchFor(new FakeKubeApi(), v, k), clock: new ManualClock(), logger, metrics: new OperatorMetrics(), workers: 0 }),
    ).toThrow(/option "workers"/);
  });
});

describe('CollectorController with metadata-only caches of owned objects (as main.ts wires them)', () => {
  const ref = (kind: string, name: string, apiVersion = 'v1') => ({ apiVersion, kind, namespace: 'obs', name });
  const cmRef = ref('ConfigMap', 'a-config');
  const stsRef = ref('StatefulSet', 'a', 'apps/v1');
  const svcRef = ref('Service', 'a');

  /** Test validator: a config containing `!!` is invalid. */
  const validate = (sources: ReadonlyMap<string, string>) =>
    [...sources].filter(([, text]) => text.includes('!!')).map(([file]) => ({ severity: 'error', message: 'unexpected "!!"', start: { file, line: 1, column: 1 } }));

  /** Runs the controller with the real reconciler; `seen`, when given, records every reconciled key. */
  function start(api: FakeKubeApi, seen?: string[]) {
    const clock = new ManualClock();
    const controller = new CollectorController({
      api,
      reconciler: (reader) => {
        const r = new CollectorReconciler({ api, reader, analyze: configBlocks, validate, defaultImage: 'img:1', clock, logger, events: new KubeEventRecorder(api, clock, logger, 't') });
        return seen === undefined ? r : { reconcile: (key) => (seen.push(key), r.reconcile(key)) };
      },
      informers: (v, k, labelSelector, metadataOnly) =>
        listWatchFor(api, v, k, { metadataOnly, transform: cacheTransform(k, FIELD_MANAGER, metadataOnly), delay: (ms) => clock.sleep(ms), ...(labelSelector !== undefined ? { labelSelector } : {}) }),
      clock,
      logger,
      metrics: new OperatorMetrics(),
      resyncMs: 0,
    });
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    return { controller, stop: async () => (stop.abort(), await running) };
  }
  const applies = (api: FakeKubeApi, kind?: string) => api.writesOf('apply').filter((w) => w.subresource === undefined && (kind === undefined || w.kind === kind)).length;
  const configOf = (api: FakeKubeApi) => (api.peek(cmRef) as { data?: Record<string, string> } | undefined)?.data?.['config.alloy'];
  async function settled(api: FakeKubeApi, controller: CollectorController): Promise<void> {
    await until(() => api.peek(stsRef) !== undefined && controller.queue.depth === 0, 'objects applied and the queue drained');
    for (let i = 0; i < 20; i++) await flushMicrotasks();
  }

  it('GIVEN owned objects WHEN cached THEN the caches hold their metadata only (PartialObjectMetadata), StatefulSets their status too', async () => {
    const api = new FakeKubeApi();
    api.seed(collectorObj('a'));
    const { controller, stop } = start(api);
    await settled(api, controller);
    const cm = await controller.reader.get(cmRef);
    expect(Object.keys(cm!).sort()).toStrictEqual(['apiVersion', 'kind', 'metadata']);
    expect(cm!.metadata.annotations?.['alloy.dev/config-hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(cm!.metadata.managedFields).toStrictEqual([{ manager: 'alloy-operator', operation: 'Apply', time: expect.any(String) }]);
    expect(Object.keys((await controller.reader.get(svcRef))!).sort()).toStrictEqual(['apiVersion', 'kind', 'metadata']);
    expect(Object.keys((await controller.reader.get(stsRef))!).sort()).toStrictEqual(['apiVersion', 'kind', 'metadata']); // no status reported yet
    await stop();
  });

  it('GIVEN a converged Collector WHEN an owned object is edited or deleted by someone else THEN exactly that object is applied again; status updates of the StatefulSet apply nothing', async () => {
    const api = new FakeKubeApi();
    api.seed(collectorObj('a'));
    const { controller, stop } = start(api);
    await settled(api, controller);
    const before = applies(api);
    expect(before).toBe(5); // ConfigMap, StatefulSet, two Services, ServiceAccount
    // The StatefulSet controller reports progress: the Collector's status follows, nothing is applied.
    await api.mergePatch(stsRef, { status: { replicas: 1, readyReplicas: 1, updatedReplicas: 1 } }, 'status');
    await until(() => (api.peek(ref('Collector', 'a', 'alloy.dev/v1alpha1'))?.['status'] as { readyReplicas?: number } | undefined)?.readyReplicas === 1, 'readyReplicas=1');
    expect(applies(api)).toBe(before);

    // Someone edits the config in the owned ConfigMap: the operator's version is restored.
    const good = configOf(api);
    await api.mergePatch(cmRef, { data: { 'config.alloy': 'logging { level = "debug" }' } });
    await until(() => configOf(api) === good, 'the ConfigMap restored');
    expect(applies(api, 'ConfigMap')).toBe(2);

    // Someone deletes the receiver Service: it is created again.
    await api.delete(svcRef);
    await until(() => api.peek(svcRef) !== undefined, 'the Service re-created');
    expect(applies(api, 'Service')).toBe(3);

    // Someone edits the StatefulSet spec: restored.
    await api.mergePatch(stsRef, { spec: { replicas: 5 } });
    await until(() => (api.peek(stsRef)?.['spec'] as { replicas?: number }).replicas === 1, 'the StatefulSet spec restored');
    expect(applies(api, 'StatefulSet')).toBe(2);
    await settled(api, controller);
    expect(applies(api)).toBe(before + 3);
    await stop();
  });

  it('GIVEN another controller writing what the operator does not apply to a ServiceAccount THEN nothing is queued; a metadata edit is queued and restored', async () => {
    const api = new FakeKubeApi();
    const seen: string[] = [];
    api.seed(collectorObj('a'));
    const { controller, stop } = start(api, seen);
    await settled(api, controller);
    const saRef = ref('ServiceAccount', 'a');
    const reconciles = seen.length;
    // The token controller of Kubernetes before 1.24 lists the token Secret: a new resourceVersion, the same metadata.
    await api.mergePatch(saRef, { secrets: [{ name: 'a-token-x' }] });
    for (let i = 0; i < 20; i++) await flushMicrotasks();
    expect(seen.length).toBe(reconciles);
    expect(controller.queue.depth).toBe(0);
    // An edit of what the operator applies there (its metadata) is queued and restored.
    await api.mergePatch(saRef, { metadata: { labels: { 'app.kubernetes.io/managed-by': 'alloy-operator', extra: 'x' }, annotations: { 'alloy.dev/applied-hash': 'edited' } } });
    await until(() => api.peek(saRef)?.metadata.annotations?.['alloy.dev/applied-hash'] !== 'edited', 'the ServiceAccount restored');
    expect(seen.length).toBeGreaterThan(reconciles);
    await stop();
  });

  it('GIVEN an operator restart over converged objects THEN only the drift that happened meanwhile is applied (objects without a record are compared whole)', async () => {
    const api = new FakeKubeApi();
    api.seed(collectorObj('a'));
    const first = start(api);
    await settled(api, first.controller);
    await first.stop();
    const before = applies(api);
    const good = configOf(api);
    // Edited while no operator ran.
    await api.mergePatch(cmRef, { data: { 'config.alloy': 'edited' } });
    const second = start(api);
    await settled(api, second.controller);
    await until(() => configOf(api) === good, 'the ConfigMap restored after the restart');
    expect(applies(api)).toBe(before + 1);
    await second.stop();
  });

  it('GIVEN a converged Collector WHEN its config turns invalid THEN the last good config (read whole, the cache has only its hash) stays and the status names its hash', async () => {
    const api = new FakeKubeApi();
    api.seed(collectorObj('a', { config: 'logging {}' }));
    const { controller, stop } = start(api);
    await settled(api, controller);
    const c = api.peek(ref('Collector', 'a', 'alloy.dev/v1alpha1'))!;
    await api.replace({ ...c, spec: { ...(c['spec'] as object), config: 'logging { !! }' } });
    const condition = () => ((api.peek(ref('Collector', 'a', 'alloy.dev/v1alpha1'))?.['status'] as { conditions?: Array<{ type: string; status: string; message: string }> } | undefined)?.conditions ?? []).find((x) => x.type === 'ConfigValid');
    await until(() => condition()?.status === 'False', 'ConfigValid=False');
    expect(condition()!.message).toContain(`pods keep running the last valid config (sha256 ${createHash('sha256').update('logging {}').digest('hex').slice(0, 12)})`);
    expect(configOf(api)).toBe('logging {}');
    await stop();
  });
});
