import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeError } from './kube-api.js';
import { RestKubeApi } from './rest-kube-api.js';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
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
      const s = { method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body };
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
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: url, skipTLSVerify: true }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return new RestKubeApi(kc);
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
