import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeError } from './kube-api.js';
import { RestKubeApi } from './rest-kube-api.js';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  accept: string | undefined;
  body: string;
}

/** A loopback HTTP server recording requests and answering from `respond`. */
async function server(respond: (s: Seen) => [number, unknown]): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], accept: req.headers['accept'], body };
      seen.push(s);
      const [status, out] = respond(s);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  const close = (): Promise<void> => new Promise((r) => (srv.closeAllConnections(), srv.close(() => r())));
  open.push(close);
  return { url: `http://127.0.0.1:${port}`, seen, close: async () => undefined };
}

function client(url: string): RestKubeApi {
  return new RestKubeApi({ server: new URL(url), tls: { rejectUnauthorized: false }, source: 'test', credentials: async () => ({ headers: { authorization: 'Bearer t' } }) }, { pageSize: 2 });
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

describe('RestKubeApi', () => {
  it('GIVEN an apply THEN it is a server-side apply PATCH with the field manager and force, status on its subresource', async () => {
    const s = await server(() => [200, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }]);
    const api = client(s.url);
    await api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } });
    await api.apply({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name: 'm', namespace: 'ns' }, status: {} }, 'status');
    expect(s.seen.map((x) => [x.method, x.url, x.contentType])).toStrictEqual([
      ['PATCH', '/api/v1/namespaces/ns/configmaps/c?fieldManager=alloy-operator&force=true', 'application/apply-patch+yaml'],
      ['PATCH', '/apis/alloy.dev/v1alpha1/namespaces/ns/collectors/m/status?fieldManager=alloy-operator&force=true', 'application/apply-patch+yaml'],
    ]);
    await s.close();
  });

  it('GIVEN an apply with metadataOnly THEN it asks for PartialObjectMetadata and answers in the applied kind, whichever form the server sent', async () => {
    const answers: unknown[] = [
      { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name: 's', resourceVersion: '7' } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', resourceVersion: '8' }, spec: {} },
    ];
    const s = await server(() => [200, answers.shift()]);
    const api = client(s.url);
    const obj = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', namespace: 'ns' } };
    const partial = await api.apply(obj, undefined, { metadataOnly: true });
    const whole = await api.apply(obj, undefined, { metadataOnly: true });
    await api.apply(obj);
    expect(s.seen.map((x) => x.accept)).toStrictEqual([
      'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json',
      'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json',
      'application/json',
    ]);
    expect(partial).toStrictEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', resourceVersion: '7' } });
    expect(whole).toStrictEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', resourceVersion: '8' }, spec: {} });
    await s.close();
  });

  it('GIVEN a delete with Orphan propagation THEN the server receives the DeleteOptions body', async () => {
    const s = await server(() => [200, { kind: 'Status' }]);
    await client(s.url).delete({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'ns', name: 'm' }, { propagationPolicy: 'Orphan' });
    expect(s.seen[0]!.method).toBe('DELETE');
    expect(JSON.parse(s.seen[0]!.body)).toStrictEqual({ apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Orphan' });
    await s.close();
  });

  it('GIVEN 404 THEN get resolves undefined and delete resolves; GIVEN 409 THEN a KubeError carries status and message', async () => {
    const s = await server((x) => (x.method === 'PUT' ? [409, { kind: 'Status', reason: 'Conflict', message: 'the object has been modified' }] : [404, { kind: 'Status', reason: 'NotFound', message: 'not found' }]));
    const api = client(s.url);
    await expect(api.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'x' })).resolves.toBeUndefined();
    await expect(api.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'x' })).resolves.toBeUndefined();
    const err = await api.replace({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'ns', resourceVersion: '1' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeError);
    expect((err as KubeError).status).toBe(409);
    expect((err as KubeError).message).toMatch(/PUT \/apis\/coordination.k8s.io\/v1\/namespaces\/ns\/leases\/l.*: the object has been modified/);
    await s.close();
  });
});

describe('RestKubeApi list paging', () => {
  it('GIVEN more objects than a page THEN list follows continue tokens and keeps the first page resourceVersion', async () => {
    const all = ['a', 'b', 'c', 'd', 'e'];
    const s = await server((x) => {
      const u = new URL(x.url, 'http://h');
      const start = Number(u.searchParams.get('continue') ?? '0');
      const limit = Number(u.searchParams.get('limit'));
      const next = start + limit < all.length ? String(start + limit) : undefined;
      return [200, { items: all.slice(start, start + limit).map((name) => ({ metadata: { name } })), metadata: { resourceVersion: `rv${start}`, ...(next !== undefined ? { continue: next } : {}) } }];
    });
    const got = await client(s.url).list('v1', 'ConfigMap', 'ns', 'a=b');
    expect(got.items.map((o) => [o.kind, o.metadata.name])).toStrictEqual(all.map((n) => ['ConfigMap', n]));
    expect(got.resourceVersion).toBe('rv0');
    expect(s.seen.map((x) => x.url)).toStrictEqual([
      '/api/v1/namespaces/ns/configmaps?labelSelector=a%3Db&limit=2',
      '/api/v1/namespaces/ns/configmaps?labelSelector=a%3Db&limit=2&continue=2',
      '/api/v1/namespaces/ns/configmaps?labelSelector=a%3Db&limit=2&continue=4',
    ]);
  });

  it('GIVEN an expired continue token (410) THEN the list starts over', async () => {
    let calls = 0;
    const s = await server((x) => {
      calls++;
      if (x.url.includes('continue=')) return calls === 2 ? [410, { kind: 'Status', reason: 'Expired', message: 'continue token too old' }] : [200, { items: [{ metadata: { name: 'b' } }], metadata: { resourceVersion: '9' } }];
      return [200, { items: [{ metadata: { name: 'a' } }], metadata: { resourceVersion: '8', continue: 't' } }];
    });
    const got = await client(s.url).list('v1', 'ConfigMap');
    expect(got.items.map((o) => o.metadata.name)).toStrictEqual(['a', 'b']);
    expect(calls).toBe(4);
  });
});
