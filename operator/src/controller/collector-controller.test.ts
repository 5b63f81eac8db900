import winston from 'winston';
import { configBlocks } from '../rbac/config-blocks.js';
import { FakeKubeApi } from '../kube/fake-kube-api.test-support.js';
import { listWatchFor } from '../kube/resilient-informer.js';
import type { ObjectReader } from '../kube/cache-reader.js';
import { OperatorMetrics } from '../metrics/operator-metrics.js';
import { ManualClock, flushMicrotasks } from '../util/clock.js';
import { CollectorController, onlyStatusChanged, type Reconciler } from './collector-controller.js';
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

  it('onlyStatusChanged: status and resourceVersion differences only', () => {
    const base = { apiVersion: 'v', kind: 'Collector', metadata: { name: 'a', generation: 2, resourceVersion: '1', finalizers: ['f'] }, spec: { replicas: 1 }, status: { x: 1 } };
    expect(onlyStatusChanged(base, { ...base, metadata: { ...base.metadata, resourceVersion: '2' }, status: { x: 2 } })).toBe(true);
    expect(onlyStatusChanged(base, { ...base, metadata: { ...base.metadata, generation: 3 } })).toBe(false);
    expect(onlyStatusChanged(base, { ...base, metadata: { ...base.metadata, finalizers: [] } })).toBe(false);
    expect(onlyStatusChanged(base, { ...base, metadata: { ...base.metadata, deletionTimestamp: 't' } })).toBe(false);
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
