import { CacheReader, matchesLabels, type ObjectCache } from './cache-reader.js';
import { FakeKubeApi } from './fake-kube-api.test-support.js';
import type { KubeObject } from './kube-api.js';

function cache(objects: KubeObject[], synced = true): ObjectCache {
  return {
    synced,
    get: (name, ns) => objects.find((o) => o.metadata.name === name && o.metadata.namespace === ns),
    list: (ns) => objects.filter((o) => ns === undefined || o.metadata.namespace === ns),
  };
}

const cm = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'a', labels } });

describe('CacheReader', () => {
  it('GIVEN a synced cache WHEN reading THEN the API is not called', async () => {
    const api = new FakeKubeApi();
    api.failNext('get', 'ConfigMap', new Error('must not be called'));
    const reader = new CacheReader(api, new Map([[CacheReader.key('v1', 'ConfigMap'), cache([cm('x', { app: 'y' }), cm('z')])]]));
    expect((await reader.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'a', name: 'x' }))?.metadata.name).toBe('x');
    expect(await reader.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'a', name: 'missing' })).toBeUndefined();
    expect((await reader.list('v1', 'ConfigMap', 'a', 'app=y')).items.map((o) => o.metadata.name)).toStrictEqual(['x']);
  });

  it('GIVEN an unsynced cache or an uncached kind WHEN reading THEN the API answers', async () => {
    const api = new FakeKubeApi();
    api.seed(cm('from-api'));
    api.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' } });
    const reader = new CacheReader(api, new Map([[CacheReader.key('v1', 'ConfigMap'), cache([], false)]]));
    expect((await reader.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'a', name: 'from-api' }))?.metadata.name).toBe('from-api');
    expect((await reader.list('v1', 'Pod', 'a')).items).toHaveLength(1);
  });

  it('GIVEN label selectors THEN equality terms and existence terms match', () => {
    expect(matchesLabels({ a: '1', b: '2' }, 'a=1,b=2')).toBe(true);
    expect(matchesLabels({ a: '1' }, 'a=1,b=2')).toBe(false);
    expect(matchesLabels({ a: '1' }, 'a')).toBe(true);
    expect(matchesLabels(undefined, '')).toBe(true);
    expect(matchesLabels({ b: '2' }, 'a')).toBe(false);
    expect(matchesLabels({ a: '2' }, 'a=1')).toBe(false);
    expect(matchesLabels(undefined, 'a=1')).toBe(false);
  });
});
