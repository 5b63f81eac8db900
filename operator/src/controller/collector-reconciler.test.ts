import winston from 'winston';
import { configBlocks } from '../rbac/config-blocks.js';
import type { Collector, CollectorStatus } from '../api/v1alpha1/collector-types.js';
import { FakeKubeApi } from '../kube/fake-kube-api.test-support.js';
import type { ObjectReader } from '../kube/cache-reader.js';
import { KubeError, type KubeObject } from '../kube/kube-api.js';
import { ManualClock } from '../util/clock.js';
import { defaultRegistry } from '../../../collector/src/component/registry.js';
import { configHash, validateConfig } from '../../../collector/src/runtime/index.js';
import { CLUSTER_RBAC_FINALIZER, CollectorReconciler, podHashCandidates, sha256, type ConfigDiagnostic, type ConfigValidator } from './collector-reconciler.js';
import type { PodConfigProbe } from './pod-config-probe.js';
import { KubeEventRecorder } from './event-recorder.js';
import { renderCollector } from '../render/collector-chart.js';

const logger = winston.createLogger({ silent: true });

/** Test validator: every `!!` is an error at its line and column. */
function validate(sources: ReadonlyMap<string, string>): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  for (const [file, text] of sources) {
    text.split('\n').forEach((line, i) => {
      const col = line.indexOf('!!');
      if (col >= 0) out.push({ severity: 'error', message: 'unexpected token "!!"', start: { file, line: i + 1, column: col + 1 } });
    });
  }
  return out;
}

const GOOD = 'logging {\n  level = "info"\n}\n';
const GOOD2 = 'logging {\n  level = "debug"\n}\n';
const BROKEN = 'logging {\n  !! level = "info"\n}\n';

const collectorRef = { apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', namespace: 'obs', name: 'metrics' };
const stsRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'obs', name: 'metrics' };
const cmRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'obs', name: 'metrics-config' };

function setup(spec: Record<string, unknown> = { config: GOOD, replicas: 3 }, podConfigProbe?: PodConfigProbe, validator: ConfigValidator = validate) {
  const api = new FakeKubeApi();
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const renders = { count: 0 };
  const reconciler = new CollectorReconciler({
    render: (props) => (renders.count++, renderCollector(props)),
    api, analyze: configBlocks,
    validate: validator,
    defaultImage: 'docker.io/alloyts/alloy:0.1.0',
    clock,
    logger,
    events: new KubeEventRecorder(api, clock, logger, 'test'),
    ...(podConfigProbe !== undefined ? { podConfigProbe } : {}),
  });
  api.seed({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name: 'metrics', namespace: 'obs' }, spec });
  return { api, clock, reconciler, renders };
}

function collector(api: FakeKubeApi): Collector & KubeObject {
  return api.peek(collectorRef) as unknown as Collector & KubeObject;
}
function condition(api: FakeKubeApi, type: string) {
  return (collector(api).status as CollectorStatus).conditions?.find((c) => c.type === type);
}
function setSpec(api: FakeKubeApi, spec: Record<string, unknown>) {
  const c = collector(api);
  return api.replace({ ...c, spec } as unknown as KubeObject);
}
function events(api: FakeKubeApi) {
  return api.all().filter((o) => o.kind === 'Event').map((e) => `${e['type']}/${e['reason']}`);
}

describe('CollectorReconciler', () => {
  it('GIVEN no Collector WHEN reconciled THEN it returns early without writes', async () => {
    const { api, reconciler } = setup();
    await expect(reconciler.reconcile('obs/absent')).resolves.toStrictEqual({});
    expect(api.writes).toStrictEqual([]);
  });

  it('GIVEN a new Collector WHEN reconciled THEN it creates its objects and reports status', async () => {
    const { api, reconciler } = setup();
    await reconciler.reconcile('obs/metrics');
    const kinds = api.all().filter((o) => o.kind !== 'Collector').map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toStrictEqual(['ConfigMap/metrics-config', 'Service/metrics', 'Service/metrics-cluster', 'ServiceAccount/metrics', 'StatefulSet/metrics']);
    const status = collector(api).status as CollectorStatus;
    expect(status.configHash).toBe(sha256(GOOD));
    expect(status.observedGeneration).toBe(1);
    expect(status.selector).toBe('app.kubernetes.io/name=alloy,app.kubernetes.io/instance=metrics');
    expect(condition(api, 'ConfigValid')?.status).toBe('True');
    expect(condition(api, 'Ready')).toMatchObject({ status: 'False', reason: 'ReplicasNotReady', message: '0/3 replicas ready' });
  });

  it('GIVEN a reconciled Collector WHEN reconciled again with nothing changed THEN it writes nothing', async () => {
    const { api, reconciler } = setup();
    await reconciler.reconcile('obs/metrics');
    const before = api.writes.length;
    await reconciler.reconcile('obs/metrics');
    expect(api.writes.slice(before)).toStrictEqual([]);
  });

  it('GIVEN unchanged render inputs THEN the objects are not rendered again unless one must be applied; new inputs render at once', async () => {
    const { api, reconciler, renders } = setup();
    await reconciler.reconcile('obs/metrics');
    expect(renders.count).toBe(1);
    // The StatefulSet controller reports progress: status follows, nothing is rendered or applied.
    await api.mergePatch(stsRef, { status: { replicas: 3, readyReplicas: 1, updatedReplicas: 3 } }, 'status');
    await reconciler.reconcile('obs/metrics');
    expect(renders.count).toBe(1);
    expect((collector(api).status as CollectorStatus).readyReplicas).toBe(1);
    // Someone edits the owned ConfigMap: the desired object is rendered to apply it again.
    const good = (api.peek(cmRef) as { data?: Record<string, string> }).data;
    await api.mergePatch(cmRef, { data: { 'config.alloy': GOOD2 } });
    await reconciler.reconcile('obs/metrics');
    expect(renders.count).toBe(2);
    expect((api.peek(cmRef) as { data?: Record<string, string> }).data).toStrictEqual(good);
    // A spec change renders before anything is read.
    await setSpec(api, { config: GOOD2, replicas: 3 });
    await reconciler.reconcile('obs/metrics');
    expect(renders.count).toBe(3);
    expect((api.peek(cmRef) as { data?: Record<string, string> }).data?.['config.alloy']).toBe(GOOD2);
  });

  it('GIVEN an owned object a render no longer produces WHEN a new operator process reconciles THEN it is pruned once, not on every reconcile', async () => {
    const { api, reconciler } = setup({ config: GOOD, podDisruptionBudget: { minAvailable: 1 } });
    await reconciler.reconcile('obs/metrics');
    const pdbRef = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: 'obs', name: 'metrics' };
    expect(api.peek(pdbRef)).toBeDefined();
    // The spec changes while no operator runs; the next process has no plan and prunes.
    await setSpec(api, { config: GOOD });
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const restarted = new CollectorReconciler({ api, analyze: configBlocks, validate, defaultImage: 'docker.io/alloyts/alloy:0.1.0', clock, logger, events: new KubeEventRecorder(api, clock, logger, 'test') });
    const listed: string[] = [];
    const list = api.list.bind(api);
    api.list = (apiVersion, kind, ...rest) => (listed.push(kind), list(apiVersion, kind, ...rest));
    await restarted.reconcile('obs/metrics');
    expect(api.peek(pdbRef)).toBeUndefined();
    expect(listed).toContain('PodDisruptionBudget');
    listed.length = 0;
    await restarted.reconcile('obs/metrics');
    expect(listed).not.toContain('PodDisruptionBudget');
  });

  it('GIVEN the StatefulSet reports all replicas ready WHEN reconciled THEN Ready=True and readyReplicas=3', async () => {
    const { api, reconciler } = setup();
    await reconciler.reconcile('obs/metrics');
    const sts = api.peek(stsRef)!;
    await api.mergePatch(stsRef, { status: { observedGeneration: sts.metadata.generation, replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentRevision: 'r1', updateRevision: 'r1' } }, 'status');
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'Ready')).toMatchObject({ status: 'True', reason: 'AllReplicasReady' });
    expect(condition(api, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
    expect((collector(api).status as CollectorStatus).readyReplicas).toBe(3);
  });

  it('GIVEN a config change WHEN reconciled THEN only the ConfigMap is written, never the StatefulSet', async () => {
    const { api, reconciler } = setup();
    await reconciler.reconcile('obs/metrics');
    const stsVersion = api.peek(stsRef)!.metadata.resourceVersion;
    await setSpec(api, { config: GOOD2, replicas: 3 });
    const before = api.writes.length;
    await reconciler.reconcile('obs/metrics');
    const objectWrites = api.writes.slice(before).filter((w) => w.subresource === undefined && w.kind !== 'Event');
    expect(objectWrites).toStrictEqual([{ verb: 'apply', kind: 'ConfigMap', name: 'metrics-config' }]);
    expect(api.peek(stsRef)!.metadata.resourceVersion).toBe(stsVersion);
    expect((api.peek(cmRef) as unknown as { data: Record<string, string> }).data['config.alloy']).toBe(GOOD2);
  });

  it('GIVEN a broken config WHEN reconciled THEN ConfigValid=False names line:col, the last good ConfigMap stays, an Event is recorded; fixing recovers', async () => {
    const { api, reconciler } = setup();
    await reconciler.reconcile('obs/metrics');
    await setSpec(api, { config: BROKEN, replicas: 3 });
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'ConfigValid')).toMatchObject({ status: 'False', reason: 'InvalidConfig' });
    expect(condition(api, 'ConfigValid')!.message).toMatch(/^config\.alloy:2:3: unexpected token "!!"; pods keep running the last valid config/);
    expect(condition(api, 'Degraded')).toMatchObject({ status: 'True', reason: 'ConfigRejected' });
    expect((api.peek(cmRef) as unknown as { data: Record<string, string> }).data['config.alloy']).toBe(GOOD);
    expect((collector(api).status as CollectorStatus).configHash).toBe(sha256(GOOD));
    expect(events(api)).toStrictEqual(['Warning/InvalidConfig']);

    await reconciler.reconcile('obs/metrics');
    expect(events(api)).toStrictEqual(['Warning/InvalidConfig']);

    await setSpec(api, { config: GOOD2, replicas: 3 });
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'ConfigValid')).toMatchObject({ status: 'True', reason: 'Valid' });
    expect(condition(api, 'Degraded')).toMatchObject({ status: 'False' });
    expect((api.peek(cmRef) as unknown as { data: Record<string, string> }).data['config.alloy']).toBe(GOOD2);
    expect(events(api)).toStrictEqual(['Warning/InvalidConfig', 'Normal/ConfigRecovered']);
  });

  it('GIVEN a broken config and no previous one WHEN reconciled THEN no ConfigMap or StatefulSet is created', async () => {
    const { api, reconciler } = setup({ config: BROKEN });
    await reconciler.reconcile('obs/metrics');
    expect(api.peek(cmRef)).toBeUndefined();
    expect(api.peek(stsRef)).toBeUndefined();
    expect(condition(api, 'Ready')).toMatchObject({ status: 'False', reason: 'NoValidConfig' });
  });

  it('GIVEN an apply conflict WHEN reconciled THEN it throws for a retry with Degraded=ApplyFailed, and the retry converges', async () => {
    const { api, reconciler } = setup();
    api.failNext('apply', 'StatefulSet', new KubeError(409, 'Conflict', 'Operation cannot be fulfilled: the object has been modified'));
    await expect(reconciler.reconcile('obs/metrics')).rejects.toThrow(/StatefulSet obs\/metrics: Operation cannot be fulfilled/);
    expect(condition(api, 'Degraded')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
    await reconciler.reconcile('obs/metrics');
    expect(api.peek(stsRef)).toBeDefined();
    expect(condition(api, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
  });

  it('GIVEN the Collector disappears between events WHEN a get returns NotFound THEN reconcile is a no-op', async () => {
    const { api, reconciler } = setup();
    await reconciler.reconcile('obs/metrics');
    await api.delete(collectorRef);
    expect(api.all()).toStrictEqual([]);
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({});
  });

  it('GIVEN a PodDisruptionBudget is removed from the spec WHEN reconciled THEN the PDB is pruned', async () => {
    const { api, reconciler } = setup({ config: GOOD, podDisruptionBudget: { minAvailable: 1 } });
    await reconciler.reconcile('obs/metrics');
    expect(api.peek({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: 'obs', name: 'metrics' })).toBeDefined();
    await setSpec(api, { config: GOOD });
    await reconciler.reconcile('obs/metrics');
    expect(api.peek({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: 'obs', name: 'metrics' })).toBeUndefined();
  });

  it('GIVEN a config nested too deeply for the real validator WHEN reconciled THEN ConfigValid=False with the diagnostic, no error retry, last good ConfigMap stays', async () => {
    const realValidate: ConfigValidator = async (sources, opts) => (await validateConfig(sources, { registry: defaultRegistry(), ...(opts.stabilityLevel !== undefined ? { stabilityLevel: opts.stabilityLevel } : {}) }));
    const { api, reconciler } = setup(undefined, undefined, realValidate);
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'ConfigValid')).toMatchObject({ status: 'True' });
    await setSpec(api, { config: 'logging {\n  level = ' + '['.repeat(3000) + '"info"' + ']'.repeat(3000) + '\n}\n', replicas: 3 });
    await expect(reconciler.reconcile('obs/metrics')).resolves.toBeDefined();
    expect(condition(api, 'ConfigValid')).toMatchObject({ status: 'False', reason: 'InvalidConfig' });
    expect(condition(api, 'ConfigValid')!.message).toMatch(/^config\.alloy:2:\d+: nesting too deep \(max \d+ /);
    expect((api.peek(cmRef) as unknown as { data: Record<string, string> }).data['config.alloy']).toBe(GOOD);
    expect(events(api)).toStrictEqual(['Warning/InvalidConfig']);
  });

  it('GIVEN a validator that throws WHEN reconciled THEN ConfigValid=False names the failure instead of retrying forever', async () => {
    const throwing: ConfigValidator = (sources) => {
      if ([...sources.values()].some((t) => t.includes('boom'))) throw new RangeError('Maximum call stack size exceeded');
      return [];
    };
    const { api, reconciler } = setup(undefined, undefined, throwing);
    await reconciler.reconcile('obs/metrics');
    await setSpec(api, { config: 'logging { level = "boom" }\n', replicas: 3 });
    await expect(reconciler.reconcile('obs/metrics')).resolves.toBeDefined();
    expect(condition(api, 'ConfigValid')).toMatchObject({ status: 'False', reason: 'InvalidConfig' });
    expect(condition(api, 'ConfigValid')!.message).toMatch(/^config\.alloy:1:1: the config could not be validated \(validator error: Maximum call stack size exceeded\)/);
    expect((api.peek(cmRef) as unknown as { data: Record<string, string> }).data['config.alloy']).toBe(GOOD);
  });

  it('GIVEN configMapRef to a missing ConfigMap WHEN reconciled THEN ConfigValid=False ConfigMapNotFound; creating it recovers', async () => {
    const { api, reconciler } = setup({ configMapRef: { name: 'user-cfg' } });
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'ConfigValid')).toMatchObject({ status: 'False', reason: 'ConfigMapNotFound' });
    api.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'user-cfg', namespace: 'obs' }, data: { 'config.alloy': GOOD } });
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'ConfigValid')).toMatchObject({ status: 'True' });
    expect((api.peek(cmRef) as unknown as { data: Record<string, string> }).data['config.alloy']).toBe(GOOD);

    await api.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'obs', name: 'user-cfg' }, { data: { 'config.alloy': BROKEN } });
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'ConfigValid')!.message).toMatch(/^ConfigMap user-cfg config\.alloy:2:3: unexpected token/);
  });

  it('GIVEN kubernetes discovery WHEN reconciled and deleted THEN cluster RBAC is created under a finalizer and removed on delete', async () => {
    const cfg = 'discovery.kubernetes "pods" {\n  role = "pod"\n}\n';
    const { api, reconciler } = setup({ config: cfg });
    await reconciler.reconcile('obs/metrics');
    expect(collector(api).metadata.finalizers).toStrictEqual([CLUSTER_RBAC_FINALIZER]);
    const roleRef = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'alloy-obs-metrics-discovery' };
    expect(api.peek(roleRef)).toBeDefined();
    await api.delete(collectorRef);
    expect(collector(api).metadata.deletionTimestamp).toBeDefined();
    await reconciler.reconcile('obs/metrics');
    expect(api.peek(roleRef)).toBeUndefined();
    expect(api.all().filter((o) => o.kind !== 'Event')).toStrictEqual([]);
  });

  it('GIVEN a spec with both config and configMapRef WHEN reconciled THEN InvalidSpec is reported and nothing is created', async () => {
    const { api, reconciler } = setup({ config: GOOD, configMapRef: { name: 'x' } });
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'ConfigValid')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: 'invalid Collector spec: set exactly one of spec.config or spec.configMapRef' });
    expect(api.all().map((o) => o.kind).sort()).toStrictEqual(['Collector', 'Event']);
  });

  it('GIVEN a replicas change WHEN reconciled THEN the StatefulSet is updated and observedGeneration follows', async () => {
    const { api, reconciler } = setup();
    await reconciler.reconcile('obs/metrics');
    await setSpec(api, { config: GOOD, replicas: 1 });
    await reconciler.reconcile('obs/metrics');
    expect((api.peek(stsRef) as unknown as { spec: { replicas: number } }).spec.replicas).toBe(1);
    expect((collector(api).status as CollectorStatus).observedGeneration).toBe(2);
  });

  it('GIVEN a storage change the API refuses in place WHEN reconciled THEN the StatefulSet is deleted orphaning pods, then recreated', async () => {
    const { api, reconciler } = setup();
    await reconciler.reconcile('obs/metrics');
    const oldUid = api.peek(stsRef)!.metadata.uid;
    api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'metrics-0', namespace: 'obs', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'metrics', uid: oldUid!, controller: true }] } });
    await setSpec(api, { config: GOOD, replicas: 3, storage: { volumeClaimTemplate: { accessModes: ['ReadWriteOnce'] } } });
    api.failNext('apply', 'StatefulSet', new KubeError(422, 'Invalid', "StatefulSet.apps \"metrics\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({ requeueAfterMs: 500 });
    expect(api.peek(stsRef)).toBeUndefined();
    expect(api.peek({ apiVersion: 'v1', kind: 'Pod', namespace: 'obs', name: 'metrics-0' })).toBeDefined();
    expect(condition(api, 'Ready')).toMatchObject({ status: 'False', reason: 'StatefulSetPending' });
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({});
    const sts = api.peek(stsRef) as unknown as { metadata: { uid: string }; spec: { volumeClaimTemplates: unknown[] } };
    expect(sts.metadata.uid).not.toBe(oldUid);
    expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
    expect(events(api)).toContain('Normal/StatefulSetRecreated');
  });

  it('GIVEN pods without the claim of a recreated StatefulSet WHEN reconciled THEN they are replaced lowest ordinal first, each once the lower ones are Ready', async () => {
    const { api, reconciler } = setup({ config: GOOD, replicas: 2, storage: { volumeClaimTemplate: { accessModes: ['ReadWriteOnce'] } } });
    await reconciler.reconcile('obs/metrics');
    const labels = { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/instance': 'metrics' };
    const pod = (i: number, ready: boolean, claim: boolean): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `metrics-${i}`, namespace: 'obs', labels },
      spec: { containers: [{ name: 'alloy' }], volumes: [{ name: 'config', configMap: { name: 'metrics-config' } }, ...(claim ? [{ name: 'data', persistentVolumeClaim: { claimName: `data-metrics-${i}` } }] : [])] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    const podRef = (i: number) => ({ apiVersion: 'v1', kind: 'Pod', namespace: 'obs', name: `metrics-${i}` });
    api.seed(pod(0, true, false));
    api.seed(pod(1, true, false));
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({ requeueAfterMs: 1000 });
    expect(api.peek(podRef(0))).toBeUndefined();
    expect(api.peek(podRef(1))).toBeDefined();
    expect(api.all().filter((o) => o.kind === 'Event' && o['reason'] === 'PodReplaced').map((e) => e['message'])).toStrictEqual([
      "pod metrics-0 predates the StatefulSet's volumeClaimTemplates and a StatefulSet cannot add a volume to a running pod: deleted so that it comes back with its claim data-metrics-0",
    ]);
    // metrics-0 is back with its claim but not Ready yet: metrics-1 waits
    api.seed(pod(0, false, true));
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({ requeueAfterMs: 1000 });
    expect(api.peek(podRef(1))).toBeDefined();
    api.seed(pod(0, true, true));
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({ requeueAfterMs: 1000 });
    expect(api.peek(podRef(1))).toBeUndefined();
    api.seed(pod(1, true, true));
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({});
    expect(api.all().filter((o) => o.kind === 'Event' && o['reason'] === 'PodReplaced')).toHaveLength(2);
  });

  it('GIVEN a cache that still shows a pod the StatefulSet has already recreated with its claim WHEN reconciled THEN the new pod is not deleted', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    let stalePods: KubeObject[] = [];
    const reader: ObjectReader = {
      get: (ref) => api.get(ref),
      list: async <T extends KubeObject>(apiVersion: string, kind: string, namespace?: string, labelSelector?: string) =>
        kind === 'Pod' ? { items: stalePods as T[], resourceVersion: '1' } : api.list<T>(apiVersion, kind, namespace, labelSelector),
    };
    const reconciler = new CollectorReconciler({ api, reader, analyze: configBlocks, validate, defaultImage: 'docker.io/alloyts/alloy:0.1.0', clock, logger, events: new KubeEventRecorder(api, clock, logger, 'test') });
    api.seed({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name: 'metrics', namespace: 'obs' }, spec: { config: GOOD, replicas: 1, storage: { volumeClaimTemplate: { accessModes: ['ReadWriteOnce'] } } } });
    await reconciler.reconcile('obs/metrics');
    const labels = { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/instance': 'metrics' };
    const old: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'metrics-0', namespace: 'obs', uid: 'old-uid', labels }, spec: { containers: [{ name: 'alloy' }] }, status: { phase: 'Running' } } as KubeObject;
    stalePods = [old];
    const recreated = api.seed({ ...old, metadata: { ...old.metadata, uid: 'new-uid' }, spec: { containers: [{ name: 'alloy' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-metrics-0' } }] } } as KubeObject);
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({ requeueAfterMs: 1000 });
    expect(api.peek({ apiVersion: 'v1', kind: 'Pod', namespace: 'obs', name: 'metrics-0' })?.metadata.uid).toBe(recreated.metadata.uid);
    expect(api.all().filter((o) => o.kind === 'Event' && o['reason'] === 'PodReplaced')).toHaveLength(0);
  });

  it('GIVEN a config THEN the hashes a pod may report include the runtime formula behind alloy_config_hash', () => {
    const candidates = podHashCandidates(GOOD);
    expect(candidates.has(sha256(GOOD))).toBe(true);
    expect(candidates.has(configHash(new Map([['/etc/alloy/config.alloy', GOOD]])))).toBe(true);
  });

  it('GIVEN pods reporting a hash of no known formula WHEN reconciled THEN the ConfigMap hash is reported and nothing polls', async () => {
    const probe: PodConfigProbe = { observe: async (pods) => new Map(pods.map((p) => [p.name, 'f'.repeat(64)])) };
    const { api, reconciler } = setup({ config: GOOD, replicas: 1 }, probe);
    api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'metrics-0', namespace: 'obs', labels: { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/instance': 'metrics' } }, status: { podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] } });
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({});
    expect((collector(api).status as CollectorStatus).configHash).toBe(sha256(GOOD));
  });

  it('GIVEN pods still running the old config WHEN reconciled THEN Progressing=ConfigReloading, configHash stays old, and it polls until they reload', async () => {
    const running = new Map<string, string>();
    const probe: PodConfigProbe = { observe: async (pods) => new Map(pods.map((p) => [p.name, running.get(p.name) ?? sha256(GOOD)])) };
    const { api, reconciler } = setup({ config: GOOD, replicas: 2 }, probe);
    await reconciler.reconcile('obs/metrics');
    const sts = api.peek(stsRef)!;
    await api.mergePatch(stsRef, { status: { observedGeneration: sts.metadata.generation, replicas: 2, readyReplicas: 2, updatedReplicas: 2 } }, 'status');
    for (const [i, ip] of ['127.0.1.3', '127.0.1.4'].entries()) {
      api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `metrics-${i}`, namespace: 'obs', labels: { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/instance': 'metrics' } }, status: { podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] } });
    }
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({});
    expect(condition(api, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutComplete' });

    await setSpec(api, { config: GOOD2, replicas: 2 });
    running.set('metrics-1', sha256(GOOD2));
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({ requeueAfterMs: 2000 });
    expect(condition(api, 'Progressing')).toMatchObject({ status: 'True', reason: 'ConfigReloading', message: `1/2 pods run config sha256 ${sha256(GOOD2).slice(0, 12)}` });
    expect((collector(api).status as CollectorStatus).configHash).toBe(sha256(GOOD));

    running.set('metrics-0', sha256(GOOD2));
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({});
    expect(condition(api, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
    expect((collector(api).status as CollectorStatus).configHash).toBe(sha256(GOOD2));
  });

  it('GIVEN pods that cannot be reached WHEN reconciled THEN the ConfigMap hash is reported and nothing polls', async () => {
    const probe: PodConfigProbe = { observe: async (pods) => new Map(pods.map((p) => [p.name, new Error('connect ETIMEDOUT')])) };
    const { api, reconciler } = setup({ config: GOOD, replicas: 1 }, probe);
    api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'metrics-0', namespace: 'obs', labels: { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/instance': 'metrics' } }, status: { podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] } });
    await expect(reconciler.reconcile('obs/metrics')).resolves.toStrictEqual({});
    expect((collector(api).status as CollectorStatus).configHash).toBe(sha256(GOOD));
  });

  it('GIVEN pods failing to start WHEN reconciled THEN the Ready message names the pods and their waiting reasons', async () => {
    const { api, reconciler } = setup({ config: GOOD, replicas: 2 });
    await reconciler.reconcile('obs/metrics');
    const labels = { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/instance': 'metrics' };
    api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'metrics-0', namespace: 'obs', labels }, status: { phase: 'Running', containerStatuses: [{ name: 'alloy', ready: false, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container' } } }, { name: 'config-reloader', ready: true }] } });
    api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'metrics-1', namespace: 'obs', labels }, status: { phase: 'Running', containerStatuses: [{ name: 'alloy', ready: true }, { name: 'config-reloader', ready: true }] } });
    await api.mergePatch(stsRef, { status: { replicas: 2, readyReplicas: 1 } }, 'status');
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ReplicasNotReady',
      message: '1/2 replicas ready; metrics-0: alloy CrashLoopBackOff (back-off 10s restarting failed container)',
    });
  });
});

type Sts = KubeObject & { spec: { template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: Record<string, unknown> & { containers: Array<Record<string, unknown>> } } } };
const podSpec = (s: Sts) => s.spec.template.spec;
const alloy = (s: Sts) => podSpec(s).containers[0]!;
const reloaderC = (s: Sts) => podSpec(s).containers.find((c) => c['name'] === 'config-reloader');

/**
 * Every spec field that reaches the StatefulSet: set it, reconcile, remove it (or one of its
 * entries), reconcile, and the live object must no longer carry it. `probe` reads the value
 * the field puts in the StatefulSet; it must be defined before and undefined after.
 */
const REMOVALS: ReadonlyArray<{ field: string; with: Record<string, unknown>; without: Record<string, unknown>; probe: (s: Sts) => unknown }> = [
  { field: 'nodeSelector', with: { nodeSelector: { disk: 'ssd' } }, without: {}, probe: (s) => podSpec(s)['nodeSelector'] },
  { field: 'nodeSelector key', with: { nodeSelector: { disk: 'ssd', zone: 'a' } }, without: { nodeSelector: { disk: 'ssd' } }, probe: (s) => (podSpec(s)['nodeSelector'] as Record<string, string>)['zone'] },
  { field: 'podAnnotations key', with: { podAnnotations: { a: '1', b: '2' } }, without: { podAnnotations: { a: '1' } }, probe: (s) => s.spec.template.metadata.annotations['b'] },
  { field: 'podAnnotations', with: { podAnnotations: { b: '2' } }, without: {}, probe: (s) => s.spec.template.metadata.annotations['b'] },
  { field: 'podLabels key', with: { podLabels: { team: 'x', tier: 'y' } }, without: { podLabels: { team: 'x' } }, probe: (s) => s.spec.template.metadata.labels['tier'] },
  { field: 'tolerations entry', with: { tolerations: [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Exists' }] }, without: { tolerations: [{ key: 'a', operator: 'Exists' }] }, probe: (s) => (podSpec(s)['tolerations'] as unknown[] | undefined)?.[1] },
  { field: 'tolerations', with: { tolerations: [{ key: 'a', operator: 'Exists' }] }, without: {}, probe: (s) => podSpec(s)['tolerations'] },
  { field: 'toleration effect (inside an atomic list)', with: { tolerations: [{ key: 'a', operator: 'Exists', effect: 'NoSchedule' }] }, without: { tolerations: [{ key: 'a', operator: 'Exists' }] }, probe: (s) => (podSpec(s)['tolerations'] as Array<Record<string, unknown>>)[0]!['effect'] },
  { field: 'resources limit', with: { resources: { requests: { cpu: '100m' }, limits: { memory: '1Gi' } } }, without: { resources: { requests: { cpu: '100m' } } }, probe: (s) => (alloy(s)['resources'] as { limits?: unknown }).limits },
  { field: 'resources', with: { resources: { limits: { memory: '1Gi' } } }, without: {}, probe: (s) => alloy(s)['resources'] },
  { field: 'affinity', with: { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } } }, without: {}, probe: (s) => podSpec(s)['affinity'] },
  { field: 'affinity inner value', with: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['a', 'b'] }] }] } } } }, without: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['a'] }] }] } } } }, probe: (s) => JSON.stringify(podSpec(s)['affinity']).includes('"b"') || undefined },
  { field: 'topologySpreadConstraints', with: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway' }] }, without: {}, probe: (s) => podSpec(s)['topologySpreadConstraints'] },
  { field: 'env entry', with: { env: [{ name: 'A', value: '1' }] }, without: {}, probe: (s) => (alloy(s)['env'] as Array<{ name: string }>).find((e) => e.name === 'A') },
  { field: 'envFrom', with: { envFrom: [{ configMapRef: { name: 'x' } }] }, without: {}, probe: (s) => alloy(s)['envFrom'] },
  { field: 'extraArgs', with: { extraArgs: ['--disable-reporting'] }, without: {}, probe: (s) => (alloy(s)['args'] as string[]).find((a) => a === '--disable-reporting') },
  { field: 'ports', with: { ports: [{ name: 'loki', port: 3100 }] }, without: {}, probe: (s) => (alloy(s)['ports'] as Array<{ name: string }>).find((p) => p.name === 'loki') },
  { field: 'podSecurityContext override', with: { podSecurityContext: { supplementalGroups: [5] } }, without: {}, probe: (s) => (podSpec(s)['securityContext'] as Record<string, unknown>)['supplementalGroups'] },
  { field: 'securityContext override', with: { securityContext: { procMount: 'Default' } }, without: {}, probe: (s) => (alloy(s)['securityContext'] as Record<string, unknown>)['procMount'] },
  { field: 'reloader.resources limit', with: { reloader: { enabled: true, resources: { limits: { memory: '48Mi', cpu: '1' } } } }, without: { reloader: { enabled: true, resources: { limits: { memory: '48Mi' } } } }, probe: (s) => ((reloaderC(s)!['resources'] as { limits: Record<string, string> }).limits)['cpu'] },
  { field: 'reloader.enabled', with: {}, without: { reloader: { enabled: false } }, probe: (s) => reloaderC(s) },
  { field: 'clustering.enabled', with: {}, without: { clustering: { enabled: false } }, probe: (s) => (alloy(s)['args'] as string[]).find((a) => a.startsWith('--cluster.enabled')) },
  { field: 'image', with: { image: 'example.com/alloy:custom' }, without: {}, probe: (s) => (alloy(s)['image'] === 'example.com/alloy:custom' ? true : undefined) },
  { field: 'serviceAccountName', with: { serviceAccountName: 'mine' }, without: {}, probe: (s) => (podSpec(s)['serviceAccountName'] === 'mine' ? true : undefined) },
  { field: 'stabilityLevel', with: { stabilityLevel: 'experimental' }, without: {}, probe: (s) => (alloy(s)['args'] as string[]).find((a) => a === '--stability.level=experimental') },
  { field: 'replicas', with: { replicas: 3 }, without: {}, probe: (s) => ((s.spec as { replicas?: number }).replicas === 3 ? true : undefined) },
  { field: 'storage.volumeClaimTemplate', with: { storage: { volumeClaimTemplate: { accessModes: ['ReadWriteOnce'] } } }, without: {}, probe: (s) => (s.spec as { volumeClaimTemplates?: unknown[] }).volumeClaimTemplates },
];

describe('CollectorReconciler: removed settings leave the live objects (server-side apply field removal)', () => {
  it.each(REMOVALS)('GIVEN $field set and reconciled WHEN it is removed from the spec THEN the StatefulSet no longer has it', async (c) => {
    const { api, reconciler } = setup({ config: GOOD, replicas: 1, ...c.with });
    await reconciler.reconcile('obs/metrics');
    expect(c.probe(api.peek<Sts>(stsRef)!)).toBeDefined();
    await setSpec(api, { config: GOOD, replicas: 1, ...c.without });
    await reconciler.reconcile('obs/metrics');
    expect(c.probe(api.peek<Sts>(stsRef)!)).toBeUndefined();
    // And the next resync writes nothing.
    const before = api.writes.length;
    await reconciler.reconcile('obs/metrics');
    expect(api.writes.slice(before).filter((w) => w.verb !== 'get' && w.subresource === undefined)).toStrictEqual([]);
  });

  it('GIVEN a Service port removed from spec.ports WHEN reconciled THEN the receiver Service is pruned', async () => {
    const { api, reconciler } = setup({ config: GOOD, replicas: 1, ports: [{ name: 'loki', port: 3100 }, { name: 'otlp', port: 4317 }] });
    await reconciler.reconcile('obs/metrics');
    const svc = { apiVersion: 'v1', kind: 'Service', namespace: 'obs', name: 'metrics' };
    expect((api.peek(svc)!['spec'] as { ports: unknown[] }).ports).toHaveLength(3);
    await setSpec(api, { config: GOOD, replicas: 1, ports: [{ name: 'loki', port: 3100 }] });
    await reconciler.reconcile('obs/metrics');
    expect((api.peek(svc)!['spec'] as { ports: Array<{ name: string }> }).ports.map((p) => p.name)).toStrictEqual(['http-metrics', 'loki']);
  });

  it('GIVEN a PodDisruptionBudget switched from minAvailable to maxUnavailable WHEN reconciled THEN minAvailable is gone', async () => {
    const { api, reconciler } = setup({ config: GOOD, replicas: 3, podDisruptionBudget: { minAvailable: 2 } });
    await reconciler.reconcile('obs/metrics');
    await setSpec(api, { config: GOOD, replicas: 3, podDisruptionBudget: { maxUnavailable: 1 } });
    await reconciler.reconcile('obs/metrics');
    const pdb = api.peek({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: 'obs', name: 'metrics' })!;
    expect(pdb['spec']).toMatchObject({ maxUnavailable: 1 });
    expect((pdb['spec'] as Record<string, unknown>)['minAvailable']).toBeUndefined();
  });

  it('GIVEN another writer changed a field the operator owns WHEN reconciled THEN the operator applies again (drift), and not on the next resync', async () => {
    const { api, reconciler } = setup({ config: GOOD, replicas: 1, nodeSelector: { disk: 'ssd' } });
    await reconciler.reconcile('obs/metrics');
    await api.mergePatch(stsRef, { spec: { template: { spec: { nodeSelector: { disk: 'hdd' } } } } });
    const before = api.writesOf('apply').length;
    await reconciler.reconcile('obs/metrics');
    expect(api.writesOf('apply').slice(before).map((w) => w.kind)).toContain('StatefulSet');
    expect(podSpec(api.peek<Sts>(stsRef)!)['nodeSelector']).toStrictEqual({ disk: 'ssd' });
  });
});

describe('CollectorReconciler: config delivery and state that survives a restart', () => {
  const podLabels = { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/instance': 'metrics' };
  function readyCollector(probe?: PodConfigProbe) {
    const env = setup({ config: GOOD, replicas: 2 }, probe);
    return {
      ...env,
      async start() {
        await env.reconciler.reconcile('obs/metrics');
        const sts = env.api.peek(stsRef)!;
        await env.api.mergePatch(stsRef, { status: { observedGeneration: sts.metadata.generation, replicas: 2, readyReplicas: 2, updatedReplicas: 2 } }, 'status');
        for (const [i, ip] of ['127.0.1.3', '127.0.1.4'].entries()) {
          env.api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `metrics-${i}`, namespace: 'obs', labels: podLabels }, status: { podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] } });
        }
        await env.reconciler.reconcile('obs/metrics');
      },
    };
  }
  const podAnnotation = (api: FakeKubeApi, i: number) => api.peek({ apiVersion: 'v1', kind: 'Pod', namespace: 'obs', name: `metrics-${i}` })!.metadata.annotations?.['alloy.dev/config-hash'];

  it('GIVEN running pods WHEN the config changes THEN each pod is annotated with the new config hash (the kubelet syncs it at once), once', async () => {
    const { api, reconciler, start } = readyCollector();
    await start();
    expect([podAnnotation(api, 0), podAnnotation(api, 1)]).toStrictEqual([sha256(GOOD), sha256(GOOD)]);
    await setSpec(api, { config: GOOD2, replicas: 2 });
    await reconciler.reconcile('obs/metrics');
    expect([podAnnotation(api, 0), podAnnotation(api, 1)]).toStrictEqual([sha256(GOOD2), sha256(GOOD2)]);
    const before = api.writes.length;
    await reconciler.reconcile('obs/metrics');
    expect(api.writes.slice(before).filter((w) => w.kind === 'Pod')).toStrictEqual([]);
  });

  it('GIVEN a pod created after the config was last written THEN it is not nudged (it started with that config); one created before is', async () => {
    const { api, reconciler, start } = readyCollector();
    await start();
    // The fake stamps every apply at the epoch; pods created later need no nudge.
    api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'metrics-2', namespace: 'obs', labels: podLabels, creationTimestamp: '2026-01-01T00:00:00Z' } });
    api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'metrics-3', namespace: 'obs', labels: podLabels, creationTimestamp: '1970-01-01T00:00:00Z' } });
    const before = api.writes.length;
    await reconciler.reconcile('obs/metrics');
    expect(api.writes.slice(before).filter((w) => w.kind === 'Pod').map((w) => w.name)).toStrictEqual(['metrics-3']);
    expect(podAnnotation(api, 2)).toBeUndefined();
  });

  it('GIVEN nudgePods=false WHEN the config changes THEN pods are not touched', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock(0);
    const reconciler = new CollectorReconciler({ api, analyze: configBlocks, validate, defaultImage: 'img', clock, logger, events: new KubeEventRecorder(api, clock, logger, 'test'), nudgePods: false });
    api.seed({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name: 'metrics', namespace: 'obs' }, spec: { config: GOOD, replicas: 1 } });
    api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'metrics-0', namespace: 'obs', labels: podLabels } });
    await reconciler.reconcile('obs/metrics');
    expect(api.writes.filter((w) => w.kind === 'Pod')).toStrictEqual([]);
  });

  it('GIVEN an operator restart mid-reload WHEN pods still report the old config THEN the new operator reports ConfigReloading, not an unknown hash', async () => {
    const running = new Map<string, string>();
    const probe: PodConfigProbe = { observe: async (pods) => new Map(pods.map((p) => [p.name, running.get(p.name) ?? sha256(GOOD)])) };
    const { api, reconciler, clock, start } = readyCollector(probe);
    await start();
    await setSpec(api, { config: GOOD2, replicas: 2 });
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'Progressing')).toMatchObject({ reason: 'ConfigReloading' });

    // A new operator process (leader change): nothing in memory, only the API's state.
    const restarted = new CollectorReconciler({ api, analyze: configBlocks, validate, defaultImage: 'docker.io/alloyts/alloy:0.1.0', clock, logger, events: new KubeEventRecorder(api, clock, logger, 'test'), podConfigProbe: probe });
    await expect(restarted.reconcile('obs/metrics')).resolves.toStrictEqual({ requeueAfterMs: 2000 });
    expect(condition(api, 'Progressing')).toMatchObject({ status: 'True', reason: 'ConfigReloading', message: `0/2 pods run config sha256 ${sha256(GOOD2).slice(0, 12)}` });
    expect((collector(api).status as CollectorStatus).configHash).toBe(sha256(GOOD));

    running.set('metrics-0', sha256(GOOD2)).set('metrics-1', sha256(GOOD2));
    await expect(restarted.reconcile('obs/metrics')).resolves.toStrictEqual({});
    expect(condition(api, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
    expect((collector(api).status as CollectorStatus).configHash).toBe(sha256(GOOD2));
  });
});

describe('CollectorReconciler: volume claims a StatefulSet cannot change', () => {
  it('GIVEN existing claims of 1Gi WHEN the volumeClaimTemplate asks for 5Gi THEN Degraded=VolumeClaimsOutdated names each claim; matching claims clear it', async () => {
    const claimSpec = (storage: string) => ({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } });
    const { api, reconciler } = setup({ config: GOOD, replicas: 2, storage: { volumeClaimTemplate: claimSpec('1Gi') } });
    await reconciler.reconcile('obs/metrics');
    for (const i of [0, 1]) api.seed({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `data-metrics-${i}`, namespace: 'obs' }, spec: claimSpec('1Gi') });
    api.seed({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-metrics-other-0', namespace: 'obs' }, spec: claimSpec('1Gi') });
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'Degraded')).toMatchObject({ status: 'False' });

    await setSpec(api, { config: GOOD, replicas: 2, storage: { volumeClaimTemplate: claimSpec('5Gi') } });
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'Degraded')).toMatchObject({ status: 'True', reason: 'VolumeClaimsOutdated' });
    expect(condition(api, 'Degraded')?.message).toContain('data-metrics-0: storage 1Gi (template 5Gi); data-metrics-1: storage 1Gi (template 5Gi)');
    expect(condition(api, 'Degraded')?.message).not.toContain('metrics-other');

    for (const i of [0, 1]) await api.mergePatch({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'obs', name: `data-metrics-${i}` }, { spec: { resources: { requests: { storage: '5Gi' } } } });
    await reconciler.reconcile('obs/metrics');
    expect(condition(api, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
  });
});

describe('CollectorReconciler: least-privilege RBAC from the config', () => {
  const rbacObjects = (api: FakeKubeApi) =>
    api.all().filter((o) => o.kind.includes('Role')).map((o) => ({ id: `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, rules: o['rules'] }));
  const READ = ['get', 'list', 'watch'];

  it('GIVEN a config without Kubernetes components THEN no Role, no ClusterRole, no finalizer, no Event', async () => {
    const { api, reconciler } = setup({ config: GOOD });
    await reconciler.reconcile('obs/metrics');
    expect(rbacObjects(api)).toStrictEqual([]);
    expect(collector(api).metadata.finalizers).toBeUndefined();
    expect(events(api)).toStrictEqual([]);
  });

  it('GIVEN pod discovery in namespace apps plus log tailing WHEN the config changes to node discovery THEN rules follow, stale Roles elsewhere are pruned, an Event and the ServiceAccount name the grants', async () => {
    const pods = 'discovery.kubernetes "p" {\n  role = "pod"\n  namespaces {\n    names = ["apps"]\n  }\n}\nloki.source.kubernetes "l" {\n  targets = discovery.kubernetes.p.targets\n  forward_to = []\n}\n';
    const { api, reconciler } = setup({ config: pods, replicas: 1 });
    await reconciler.reconcile('obs/metrics');
    expect(rbacObjects(api)).toStrictEqual([
      { id: 'Role/apps/alloy-obs-metrics-discovery', rules: [{ apiGroups: [''], resources: ['pods'], verbs: READ }, { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }] },
      { id: 'RoleBinding/apps/alloy-obs-metrics-discovery', rules: undefined },
    ]);
    expect(collector(api).metadata.finalizers).toStrictEqual([CLUSTER_RBAC_FINALIZER]);
    const sa = api.peek({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'obs', name: 'metrics' })!;
    expect(sa.metadata.annotations?.['alloy.dev/granted-access']).toBe('namespace apps: get,list,watch pods; get pods/log');
    expect(api.all().filter((o) => o.kind === 'Event').map((e) => e['message'])).toStrictEqual(['Kubernetes API access of the collector pods: namespace apps: get,list,watch pods; get pods/log']);

    await setSpec(api, { config: 'discovery.kubernetes "n" {\n  role = "node"\n}\n', replicas: 1 });
    await reconciler.reconcile('obs/metrics');
    expect(rbacObjects(api)).toStrictEqual([
      { id: 'ClusterRole//alloy-obs-metrics-discovery', rules: [{ apiGroups: [''], resources: ['nodes'], verbs: READ }, { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] }] },
      { id: 'ClusterRoleBinding//alloy-obs-metrics-discovery', rules: undefined },
    ]);
    expect(events(api).filter((e) => e === 'Normal/RBACUpdated')).toHaveLength(2);

    await setSpec(api, { config: GOOD, replicas: 1 });
    await reconciler.reconcile('obs/metrics');
    expect(rbacObjects(api)).toStrictEqual([]);
  });

  it('GIVEN serviceAccountName THEN the operator grants nothing and leaves the account alone', async () => {
    const { api, reconciler } = setup({ config: 'discovery.kubernetes "p" {\n  role = "pod"\n}\n', serviceAccountName: 'mine' });
    await reconciler.reconcile('obs/metrics');
    expect(rbacObjects(api)).toStrictEqual([]);
    expect(api.all().some((o) => o.kind === 'ServiceAccount')).toBe(false);
  });
});
