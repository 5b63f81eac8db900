// StatefulSet controller rules against the fake API server; a tiny stand-in kubelet marks every
// pod Running+Ready so only the controller's decisions are under test.
import { ControllerManager } from './manager.js';
import { KubeClient, RESOURCES } from '../harness/kube-client.js';
import { Informer } from '../harness/informer.js';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.js';
import type { Pod, StatefulSet } from '../harness/k8s-types.js';
import { waitFor } from '../harness/wait.js';

describe('StatefulSetController', () => {
  let api: FakeApiServer;
  let client: KubeClient;
  let manager: ControllerManager;
  let pods: Informer<Pod>;
  const ac = new AbortController();
  let autoReady = true;

  const sts = (name: string, spec: Partial<StatefulSet['spec']>): StatefulSet => ({
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 3,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'harness/node', env: [{ name: 'V', value: '1' }] }] } },
      ...spec,
    },
  });
  const podsOf = (app: string): Pod[] => pods.list().filter((p) => p.metadata.labels?.app === app).sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const revOf = (p: Pod): string => p.metadata.labels?.['controller-revision-hash'] ?? '';
  const getSts = (name: string): Promise<StatefulSet> => client.get<StatefulSet>(RESOURCES.statefulsets, 'default', name);
  const setEnv = (name: string, v: string): Promise<unknown> => getSts(name).then((s) => {
    s.spec.template.spec.containers[0]!.env = [{ name: 'V', value: v }];
    return client.replace(RESOURCES.statefulsets, s);
  });

  beforeAll(async () => {
    api = await startFakeApiServer();
    client = new KubeClient({ server: api.url });
    manager = new ControllerManager({ server: api.url });
    await manager.start();
    pods = new Informer<Pod>(client, RESOURCES.pods);
    pods.on((ev, p) => {
      if (ev === 'delete' || !autoReady || p.status?.phase === 'Running') return;
      void client.mergePatch(RESOURCES.pods, 'default', p.metadata.name ?? '', { status: { phase: 'Running', podIP: '127.99.0.1', conditions: [{ type: 'Ready', status: 'True' }] } }, 'status').catch(() => undefined);
    });
    void pods.run(ac.signal);
    await pods.waitSynced();
  });
  afterAll(async () => {
    ac.abort();
    await manager.stop();
    await api.close();
  });

  it('Parallel creates every ordinal at once, without waiting for readiness', async () => {
    autoReady = false;
    await client.create(RESOURCES.statefulsets, 'default', sts('par', { podManagementPolicy: 'Parallel' }));
    await waitFor(() => podsOf('par').length === 3, { what: '3 parallel pods' });
    expect(podsOf('par').map((p) => p.metadata.name)).toEqual(['par-0', 'par-1', 'par-2']);
    expect(podsOf('par').every((p) => p.status?.phase !== 'Running')).toBe(true);
    autoReady = true;
  }, 30_000);

  it('OrderedReady waits for each ordinal to be Ready before the next', async () => {
    autoReady = false;
    await client.create(RESOURCES.statefulsets, 'default', sts('ord', {}));
    await waitFor(() => podsOf('ord').length === 1, { what: 'ord-0' });
    // Window, not synchronisation: proves ord-1 is not created while ord-0 is not Ready.
    await new Promise((r) => setTimeout(r, 200));
    expect(podsOf('ord').map((p) => p.metadata.name)).toEqual(['ord-0']);
    autoReady = true;
    await client.mergePatch(RESOURCES.pods, 'default', 'ord-0', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }, 'status');
    await waitFor(() => podsOf('ord').length === 3, { what: 'ord-1, ord-2 after ord-0 Ready' });
  }, 30_000);

  it('partition limits the rolling update to ordinals >= partition; lowering it finishes the roll', async () => {
    await client.create(RESOURCES.statefulsets, 'default', sts('part', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }));
    await waitFor(async () => (await getSts('part')).status?.readyReplicas === 3, { what: 'part ready' });
    const v1 = (await getSts('part')).status!.updateRevision!;
    await setEnv('part', '2');
    const s = await waitFor(async () => {
      const x = await getSts('part');
      return x.status?.updatedReplicas === 1 && x.status.readyReplicas === 3 ? x : undefined;
    }, { what: 'one pod updated' });
    expect(s.status!.currentRevision).toBe(v1);
    expect(podsOf('part').map(revOf)).toEqual([v1, v1, s.status!.updateRevision]);

    const latest = await getSts('part');
    latest.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
    await client.replace(RESOURCES.statefulsets, latest);
    const done = await waitFor(async () => {
      const x = await getSts('part');
      return x.status?.updatedReplicas === 3 && x.status.currentRevision === x.status.updateRevision ? x : undefined;
    }, { what: 'roll complete' });
    expect(done.status!.currentReplicas).toBe(3);
    expect(done.status!.observedGeneration).toBe(done.metadata.generation);
  }, 30_000);

  it('OnDelete changes pods only when they are deleted', async () => {
    await client.create(RESOURCES.statefulsets, 'default', sts('od', { updateStrategy: { type: 'OnDelete' } }));
    await waitFor(async () => (await getSts('od')).status?.readyReplicas === 3, { what: 'od ready' });
    const v1 = (await getSts('od')).status!.updateRevision!;
    await setEnv('od', '2');
    const v2 = await waitFor(async () => {
      const x = await getSts('od');
      return x.status?.updateRevision !== v1 ? x.status?.updateRevision : undefined;
    }, { what: 'new update revision' });
    // Window, not synchronisation: proves OnDelete replaces no pod by itself.
    await new Promise((r) => setTimeout(r, 200));
    expect(podsOf('od').map(revOf)).toEqual([v1, v1, v1]);
    await client.delete(RESOURCES.pods, 'default', 'od-1');
    await waitFor(() => revOf(podsOf('od').find((p) => p.metadata.name === 'od-1') ?? ({ metadata: {} } as Pod)) === v2, { what: 'od-1 recreated at the new revision' });
    expect(podsOf('od').map(revOf)).toEqual([v1, v2, v1]);
  }, 30_000);

  it('adopts orphaned pods of a re-created StatefulSet and rolls them onto its revision', async () => {
    for (const n of ['adopt-0', 'adopt-1']) {
      await client.create<Pod>(RESOURCES.pods, 'default', { metadata: { name: n, labels: { app: 'adopt' } }, spec: { containers: [{ name: 'c', image: 'harness/node' }] } });
    }
    await waitFor(() => podsOf('adopt').length === 2 && podsOf('adopt').every((p) => p.status?.phase === 'Running'), { what: 'orphans running' });
    const created = await client.create<StatefulSet>(RESOURCES.statefulsets, 'default', sts('adopt', { replicas: 2 }));
    const done = await waitFor(async () => {
      const x = await getSts('adopt');
      const ps = podsOf('adopt');
      return x.status?.updatedReplicas === 2 && x.status.readyReplicas === 2 && ps.length === 2 && ps.every((p) => revOf(p) === x.status!.updateRevision) ? x : undefined;
    }, { what: 'orphans adopted and rolled' });
    for (const p of podsOf('adopt')) expect(p.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'StatefulSet', uid: created.metadata.uid, controller: true })]);
    expect(done.status!.replicas).toBe(2);
  }, 30_000);

  it('stops at an adopted pod that lacks a claim of its templates (FailedUpdate, as the API server forbids adding the volume) until that pod is deleted', async () => {
    for (const n of ['claim-0', 'claim-1']) {
      await client.create<Pod>(RESOURCES.pods, 'default', { metadata: { name: n, labels: { app: 'claim' } }, spec: { containers: [{ name: 'c', image: 'harness/node' }] } });
    }
    await waitFor(() => podsOf('claim').length === 2 && podsOf('claim').every((p) => p.status?.phase === 'Running'), { what: 'orphans running' });
    const uids = podsOf('claim').map((p) => p.metadata.uid);
    await client.create<StatefulSet>(RESOURCES.statefulsets, 'default', sts('claim', { replicas: 2, podManagementPolicy: 'Parallel', volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] }));
    type Ev = { reason?: string; message?: string; involvedObject?: { name?: string } };
    const failedUpdates = async (): Promise<string[]> =>
      ((await client.list<Ev & Pod>(RESOURCES.events, 'default')).items as Ev[]).filter((e) => e.reason === 'FailedUpdate' && e.involvedObject?.name === 'claim').map((e) => e.message ?? '');
    await waitFor(async () => (await failedUpdates()).some((m) => m.startsWith('update Pod claim-0 in StatefulSet claim failed error: Pod "claim-0" is invalid: spec: Forbidden: pod updates may not change fields')), { what: 'FailedUpdate for claim-0' });
    // stuck at claim-0: neither pod replaced, claim-1 not even tried (the sync stops at the first)
    expect(podsOf('claim').map((p) => p.metadata.uid)).toEqual(uids);
    expect((await failedUpdates()).some((m) => m.includes('claim-1'))).toBe(false);
    await client.delete(RESOURCES.pods, 'default', 'claim-0');
    const claimOf = (p: Pod | undefined): string | undefined => p?.spec.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName;
    await waitFor(() => claimOf(podsOf('claim').find((p) => p.metadata.name === 'claim-0')) === 'data-claim-0', { what: 'claim-0 recreated with its claim' });
    await waitFor(async () => (await failedUpdates()).some((m) => m.includes('Pod claim-1 in StatefulSet claim failed')), { what: 'FailedUpdate for claim-1' });
    expect(podsOf('claim').find((p) => p.metadata.name === 'claim-1')?.metadata.uid).toBe(uids[1]);
    await client.delete(RESOURCES.pods, 'default', 'claim-1');
    await waitFor(async () => {
      const x = await getSts('claim');
      return x.status?.updatedReplicas === 2 && x.status.readyReplicas === 2 && podsOf('claim').map(claimOf).join() === 'data-claim-0,data-claim-1';
    }, { what: 'both pods at the update revision with their claims' });
  }, 30_000);
});
