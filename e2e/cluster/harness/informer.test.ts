import { Informer } from './informer.js';
import { KubeClient, RESOURCES } from './kube-client.js';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.js';
import type { ConfigMap } from './k8s-types.js';
import { waitFor } from './wait.js';

describe('Informer', () => {
  let api: FakeApiServer;
  let client: KubeClient;
  const ac = new AbortController();
  beforeAll(async () => {
    api = await startFakeApiServer();
    client = new KubeClient({ server: api.url });
  });
  afterAll(async () => {
    ac.abort();
    await api.close();
  });

  it('lists, watches, resumes after a dropped stream and relists after 410 Gone', async () => {
    await client.create<ConfigMap>(RESOURCES.configmaps, 'default', { metadata: { name: 'a' }, data: { k: '1' } });
    const inf = new Informer<ConfigMap>(client, RESOURCES.configmaps, { minBackoffMs: 5, maxBackoffMs: 20 });
    const seen: string[] = [];
    inf.on((ev, o) => seen.push(`${ev}:${o.metadata.name}:${o.data?.k ?? ''}`));
    void inf.run(ac.signal);
    await inf.waitSynced();
    expect(inf.get('default/a')?.data).toEqual({ k: '1' });

    await client.mergePatch(RESOURCES.configmaps, 'default', 'a', { data: { k: '2' } });
    await waitFor(() => inf.get('default/a')?.data?.k === '2', { timeoutMs: 2000, what: 'update through watch' });

    api.dropWatches();
    await client.create<ConfigMap>(RESOURCES.configmaps, 'default', { metadata: { name: 'b' }, data: { k: 'b' } });
    await waitFor(() => inf.get('default/b') !== undefined, { timeoutMs: 2000, what: 'resume after dropped stream' });
    expect(inf.lists).toBe(1);

    api.compact();
    api.dropWatches();
    await client.delete(RESOURCES.configmaps, 'default', 'a');
    await waitFor(() => inf.get('default/a') === undefined, { timeoutMs: 2000, what: 'delete seen' });
    await client.create<ConfigMap>(RESOURCES.configmaps, 'default', { metadata: { name: 'c' } });
    await waitFor(() => inf.get('default/c') !== undefined, { timeoutMs: 2000, what: 'after 410' });
    expect(inf.lists).toBe(2);
    expect(seen).toContain('delete:a:2');
    expect(seen.filter((s) => s.startsWith('add:b')).length).toBe(1);
  }, 30_000);
});
