import { KubeError, type KubeApi, type KubeObject } from './kube-api.js';
import { FakeKubeApi } from './fake-kube-api.test-support.js';
import { ListWatch } from './list-watch.js';
import { flushMicrotasks } from '../util/clock.js';

const cm = (name: string, rv: string, data: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv }, data });

/** A scripted API: lists answer from `lists`, each watch call is recorded with its query and callbacks. */
class ScriptedApi {
  lists: Array<{ items: KubeObject[]; resourceVersion: string } | Error> = [];
  watches: Array<{ query: Record<string, unknown>; onEvent: (type: string, obj: KubeObject) => void; done: (err: unknown) => void; aborted: boolean }> = [];
  async list(): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const next = this.lists.shift();
    if (next === undefined) throw new Error('unexpected list');
    if (next instanceof Error) throw next;
    return next;
  }
  async watch(_path: string, query: Record<string, unknown>, onEvent: (type: string, obj: KubeObject) => void, done: (err: unknown) => void): Promise<AbortController> {
    const c = new AbortController();
    const w = { query, onEvent, done, aborted: false };
    c.signal.addEventListener('abort', () => (w.aborted = true));
    this.watches.push(w);
    return c;
  }
}

function informer(api: ScriptedApi, transform?: (o: KubeObject) => KubeObject): { lw: ListWatch; events: string[]; errors: unknown[] } {
  const lw = new ListWatch(api as unknown as KubeApi, 'v1', 'ConfigMap', '/api/v1/configmaps', { labelSelector: 'a=b', delay: async () => undefined, ...(transform !== undefined ? { transform } : {}) });
  const events: string[] = [];
  const errors: unknown[] = [];
  for (const verb of ['add', 'update', 'delete'] as const) lw.on(verb, (o) => events.push(`${verb} ${o.metadata.name}@${o.metadata.resourceVersion}`));
  lw.on('error', (e) => errors.push(e));
  return { lw, events, errors };
}

describe('ListWatch', () => {
  it('GIVEN a list THEN it caches the items and watches from the list resourceVersion with the label selector', async () => {
    const api = new ScriptedApi();
    api.lists.push({ items: [cm('a', '5')], resourceVersion: '10' });
    const { lw, events } = informer(api);
    await lw.start();
    expect(events).toStrictEqual(['add a@5']);
    expect(api.watches[0]!.query).toStrictEqual({ resourceVersion: '10', labelSelector: 'a=b' });
    api.watches[0]!.onEvent('MODIFIED', cm('a', '11'));
    api.watches[0]!.onEvent('ADDED', cm('b', '12'));
    api.watches[0]!.onEvent('BOOKMARK', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { resourceVersion: '20' } });
    api.watches[0]!.onEvent('DELETED', cm('a', '21'));
    expect(events).toStrictEqual(['add a@5', 'update a@11', 'add b@12', 'delete a@21']);
    expect(lw.list().map((o) => o.metadata.name)).toStrictEqual(['b']);
    expect(lw.get('b', 'ns')?.kind).toBe('ConfigMap');
    await lw.stop();
  });

  it('GIVEN the server ends a watch THEN it re-watches from the last resourceVersion (bookmarks count) without relisting', async () => {
    const api = new ScriptedApi();
    api.lists.push({ items: [], resourceVersion: '10' });
    const { lw } = informer(api);
    await lw.start();
    api.watches[0]!.onEvent('BOOKMARK', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { resourceVersion: '30' } });
    api.watches[0]!.done(null);
    await flushMicrotasks();
    expect(api.watches).toHaveLength(2);
    expect(api.watches[1]!.query['resourceVersion']).toBe('30');
    await lw.stop();
    expect(api.watches[1]!.aborted).toBe(true);
  });

  it('GIVEN 410 Gone THEN it relists, emitting deletes for objects gone meanwhile and updates for changed ones', async () => {
    const api = new ScriptedApi();
    api.lists.push({ items: [cm('a', '1'), cm('b', '2')], resourceVersion: '10' });
    api.lists.push({ items: [cm('b', '40'), cm('c', '41')], resourceVersion: '50' });
    const { lw, events } = informer(api);
    await lw.start();
    api.watches[0]!.onEvent('ERROR', { code: 410, metadata: {} } as unknown as KubeObject);
    api.watches[0]!.done(null);
    await flushMicrotasks();
    expect(events).toStrictEqual(['add a@1', 'add b@2', 'update b@40', 'add c@41', 'delete a@1']);
    expect(api.watches[1]!.query['resourceVersion']).toBe('50');
    await lw.stop();
  });

  it('GIVEN another watch error THEN it reports it and stops watching; a failed list rejects start', async () => {
    const api = new ScriptedApi();
    api.lists.push({ items: [], resourceVersion: '10' });
    const { lw, errors } = informer(api);
    await lw.start();
    api.watches[0]!.done(new KubeError(403, 'Forbidden', 'no'));
    await flushMicrotasks();
    expect(errors).toHaveLength(1);
    expect(api.watches).toHaveLength(1);
    api.lists.push(new KubeError(500, 'InternalError', 'etcd'));
    await expect(lw.start()).rejects.toThrow('etcd');
  });

  it('GIVEN a transform THEN cached objects and handler arguments are transformed', async () => {
    const api = new ScriptedApi();
    api.lists.push({ items: [cm('a', '1', { big: 'x'.repeat(100) })], resourceVersion: '10' });
    const seen: KubeObject[] = [];
    const { lw } = informer(api, (o) => ({ ...o, data: { size: String(JSON.stringify(o['data']).length) } }));
    lw.on('add', (o) => seen.push(o));
    await lw.start();
    expect(lw.get('a', 'ns')?.['data']).toStrictEqual({ size: '110' });
    expect(seen[0]?.['data']).toStrictEqual({ size: '110' });
    await lw.stop();
  });

  it('GIVEN the in-memory fake API THEN writes arrive as events', async () => {
    const api = new FakeKubeApi();
    api.seed(cm('a', ''));
    const lw = new ListWatch(api, 'v1', 'ConfigMap', '/api/v1/configmaps', { delay: async () => undefined });
    const added: string[] = [];
    lw.on('add', (o) => added.push(o.metadata.name ?? ''));
    await lw.start();
    await api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'ns' } });
    expect(added).toStrictEqual(['a', 'b']);
    await lw.stop();
  });
});
