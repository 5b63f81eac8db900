import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { KubeClient, KubeApiError, collectionPath, type KubeObject } from './client.js';
import { loadKubeconfig, resolveConnection } from './config.js';
import { Informer } from './informer.js';
import { fieldSelectorError, labelSelectorError } from './selectors.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void;

async function fakeServer(handler: Handler): Promise<{ url: string; requests: Array<{ url: URL; auth: string | undefined }>; close(): Promise<void> }> {
  const requests: Array<{ url: URL; auth: string | undefined }> = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ url, auth: req.headers.authorization });
    handler(req, res, url);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const pod = (name: string, rv: string, labels: Record<string, string> = {}): KubeObject => ({ metadata: { name, namespace: 'ns', resourceVersion: rv, labels } });

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('kube selectors', () => {
  it.each([
    ['', undefined],
    ['app=web', undefined],
    ['app.kubernetes.io/name in (a, b),!canary,tier!=db,env', undefined],
    ['version>3', undefined],
    ['app=', undefined],
  ])('accepts label selector %j', (s, want) => expect(labelSelectorError(s)).toBe(want));
  it.each(['app===x', 'a b', 'app in (x', '=x', 'app=we b', 'Bad_Prefix/x=y', 'x=-bad-'])('rejects label selector %j', (s) => {
    expect(labelSelectorError(s)).toMatch(/label selector|invalid label/);
  });
  it('checks field selectors', () => {
    expect(fieldSelectorError('spec.nodeName=node-1,status.phase!=Failed')).toBeUndefined();
    expect(fieldSelectorError('metadata.name==x')).toBeUndefined();
    expect(fieldSelectorError('spec.nodeName')).toMatch(/can't understand 'spec.nodeName'/);
  });
});

describe('kube config', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecfg-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the current context of a kubeconfig: server, CA data, token file relative to the file', () => {
    fs.writeFileSync(path.join(dir, 'tok'), 'abc\n');
    const file = path.join(dir, 'config');
    fs.writeFileSync(
      file,
      `apiVersion: v1
kind: Config
current-context: b
clusters:
- name: c1
  cluster: { server: "https://10.0.0.1:6443", certificate-authority-data: ${Buffer.from('CA-PEM').toString('base64')}, tls-server-name: kube }
contexts:
- { name: a, context: { cluster: nope, user: u1 } }
- { name: b, context: { cluster: c1, user: u1 } }
users:
- name: u1
  user: { tokenFile: tok }
`,
    );
    const c = loadKubeconfig(file);
    expect(c.server.href).toBe('https://10.0.0.1:6443/');
    expect(c.settings.tls_config).toMatchObject({ ca: 'CA-PEM', server_name: 'kube', insecure_skip_verify: false });
    expect(c.settings.bearer_token_file).toBe(path.join(dir, 'tok'));
  });

  it('names the problem for unreadable files, missing contexts and exec users', () => {
    expect(() => loadKubeconfig(path.join(dir, 'missing'))).toThrow(/kubeconfig_file .*missing: cannot read/);
    const f = path.join(dir, 'exec');
    fs.writeFileSync(f, 'current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "https://h"}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\n');
    expect(() => loadKubeconfig(f)).toThrow(/uses exec credentials/);
    fs.writeFileSync(f, 'current-context: nope\ncontexts: []\n');
    expect(() => loadKubeconfig(f)).toThrow(/current-context "nope" is not defined/);
  });

  it('builds the in-cluster connection from the environment and the service account files', () => {
    fs.writeFileSync(path.join(dir, 'token'), 't1');
    fs.writeFileSync(path.join(dir, 'ca.crt'), 'PEM');
    const c = resolveConnection({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
    expect(c.server.href).toBe('https://[fd00::1]/');
    expect(c.settings.bearer_token_file).toBe(path.join(dir, 'token'));
    expect(c.settings.tls_config?.ca_file).toBe(path.join(dir, 'ca.crt'));
    expect(() => resolveConnection({ env: {}, serviceAccountDir: dir })).toThrow(/KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined/);
  });
});

describe('KubeClient and Informer', () => {
  it('re-reads the token file for every request and reports the server message of a 403', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubetok-'));
    const tok = path.join(dir, 'token');
    fs.writeFileSync(tok, 'first');
    const srv = await fakeServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: 'pods is forbidden: User "system:serviceaccount:mon:alloy" cannot list resource "pods" in API group "" at the cluster scope' }));
    });
    const client = new KubeClient({ server: new URL(srv.url), settings: { follow_redirects: true, bearer_token_file: tok }, source: 'test' });
    const signal = new AbortController().signal;
    const err1 = await client.list('/api/v1/pods', {}, signal).catch((e: unknown) => e);
    fs.writeFileSync(tok, 'second\n');
    await client.list('/api/v1/pods', {}, signal).catch(() => undefined);
    expect(err1).toBeInstanceOf(KubeApiError);
    expect((err1 as KubeApiError).status).toBe(403);
    expect((err1 as Error).message).toBe('listing pods (cluster-wide): 403 Forbidden: pods is forbidden: User "system:serviceaccount:mon:alloy" cannot list resource "pods" in API group "" at the cluster scope');
    expect(srv.requests.map((r) => r.auth)).toEqual(['Bearer first', 'Bearer second']);
    client.close();
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists in pages, watches from the list version, follows bookmarks, resumes after the stream ends and relists on 410', async () => {
    const watches: URL[] = [];
    let phase = 0;
    const srv = await fakeServer((_req, res, url) => {
      res.setHeader('content-type', 'application/json');
      if (url.searchParams.get('watch') !== 'true') {
        if (phase === 0) {
          // first list: two pages
          if (!url.searchParams.get('continue')) return void res.end(JSON.stringify({ metadata: { resourceVersion: '10', continue: 'p2' }, items: [pod('a', '5')] }));
          return void res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [pod('b', '6')] }));
        }
        // relist after 410: a is gone, b changed, c is new
        return void res.end(JSON.stringify({ metadata: { resourceVersion: '30' }, items: [pod('b', '25', { v: '2' }), pod('c', '26')] }));
      }
      watches.push(url);
      res.writeHead(200);
      if (watches.length === 1) {
        res.write(JSON.stringify({ type: 'MODIFIED', object: pod('a', '11', { v: '1' }) }) + '\n');
        res.write(JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } }) + '\n');
        res.end();
      } else if (watches.length === 2) {
        phase = 1;
        res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 15 (20)' } }) + '\n');
      } else {
        res.write(JSON.stringify({ type: 'DELETED', object: pod('c', '31') }) + '\n');
        // keep the stream open
      }
    });
    const client = new KubeClient({ server: new URL(srv.url), settings: { follow_redirects: true }, source: 'test' });
    const events: string[] = [];
    const ac = new AbortController();
    const inf = new Informer<KubeObject>({
      client,
      path: collectionPath('', 'v1', 'pods', 'ns'),
      labelSelector: 'app=web',
      onEvent: (t, o) => events.push(`${t} ${o.metadata.name}@${o.metadata.resourceVersion}`),
    });
    const done = inf.run(ac.signal);
    await until(() => events.includes('delete c@31'));
    expect(events).toEqual(['add a@5', 'add b@6', 'update a@11', 'update b@25', 'add c@26', 'delete a@11', 'delete c@31']);
    expect(watches[0]!.searchParams.get('resourceVersion')).toBe('10');
    expect(watches[0]!.searchParams.get('allowWatchBookmarks')).toBe('true');
    expect(watches[0]!.searchParams.get('labelSelector')).toBe('app=web');
    expect(watches[1]!.searchParams.get('resourceVersion')).toBe('15');
    expect(watches[2]!.searchParams.get('resourceVersion')).toBe('30');
    expect(inf.synced).toBe(true);
    expect([...inf.values()].map((o) => o.metadata.name)).toEqual(['b']);
    ac.abort();
    await done;
    client.close();
    await srv.close();
  });

  it('transforms each list page as it arrives (before the next page is requested) and every watched object', async () => {
    const srv = await fakeServer((_req, res, url) => {
      res.setHeader('content-type', 'application/json');
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200);
        res.write(JSON.stringify({ type: 'ADDED', object: pod('c', '12', { big: 'x' }) }) + '\n');
        return; // keep the stream open
      }
      if (!url.searchParams.get('continue')) return void res.end(JSON.stringify({ metadata: { resourceVersion: '10', continue: 'p2' }, items: [pod('a', '5', { big: 'x' })] }));
      res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [pod('b', '6', { big: 'x' })] }));
    });
    const client = new KubeClient({ server: new URL(srv.url), settings: { follow_redirects: true }, source: 'test' });
    const requestsWhenTransformed = new Map<string, number>();
    const ac = new AbortController();
    const inf = new Informer<KubeObject>({
      client,
      path: collectionPath('', 'v1', 'pods', 'ns'),
      onEvent: () => undefined,
      transform: (o) => {
        requestsWhenTransformed.set(o.metadata.name, srv.requests.length);
        return { metadata: { name: o.metadata.name, namespace: o.metadata.namespace!, resourceVersion: o.metadata.resourceVersion! } };
      },
    });
    const done = inf.run(ac.signal);
    await until(() => inf.get('ns/c') !== undefined);
    expect(requestsWhenTransformed.get('a')).toBe(1); // page 1 transformed before page 2 was asked for
    expect(requestsWhenTransformed.get('b')).toBe(2);
    expect(requestsWhenTransformed.get('c')).toBe(3);
    expect([...inf.values()].map((o) => o.metadata.labels)).toEqual([undefined, undefined, undefined]);
    ac.abort();
    await done;
    client.close();
    await srv.close();
  });

  it('keeps its store on failures, backs off with a cap and recovers', async () => {
    let fail = 3;
    const srv = await fakeServer((_req, res, url) => {
      res.setHeader('content-type', 'application/json');
      if (fail > 0 && url.searchParams.get('watch') === 'true') {
        fail--;
        res.writeHead(503);
        return void res.end(JSON.stringify({ kind: 'Status', code: 503, message: 'etcd unavailable' }));
      }
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200);
        return void res.write('');
      }
      res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [pod('a', '1')] }));
    });
    const client = new KubeClient({ server: new URL(srv.url), settings: { follow_redirects: true }, source: 'test' });
    const delays: number[] = [];
    const statuses: string[] = [];
    const ac = new AbortController();
    const inf = new Informer<KubeObject>({
      client,
      path: '/api/v1/pods',
      onEvent: () => undefined,
      onStatus: (s) => statuses.push(s.ok ? 'ok' : s.error.message),
      initialBackoffMs: 100,
      maxBackoffMs: 250,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const done = inf.run(ac.signal);
    await until(() => fail === 0 && statuses.at(-1) === 'ok');
    expect(delays).toEqual([100, 200, 250]);
    expect(statuses).toContain('watching pods (cluster-wide): 503 Service Unavailable: etcd unavailable');
    expect(inf.get('ns/a')).toBeDefined();
    expect(inf.lastError).toBeUndefined();
    ac.abort();
    await done;
    client.close();
    await srv.close();
  });

  it('streams a followed pod log until the caller stops', async () => {
    const srv = await fakeServer((_req, res, url) => {
      expect(url.pathname).toBe('/api/v1/namespaces/ns/pods/p/log');
      expect(url.searchParams.get('follow')).toBe('true');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('line 1\n');
      setTimeout(() => res.write('line 2\n'), 20);
    });
    const client = new KubeClient({ server: new URL(srv.url), settings: { follow_redirects: true }, source: 'test' });
    const ac = new AbortController();
    const stream = await client.stream('/api/v1/namespaces/ns/pods/p/log', { follow: 'true', container: 'c' }, ac.signal);
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    stream.on('error', () => undefined);
    await until(() => text === 'line 1\nline 2\n');
    ac.abort();
    stream.destroy();
    client.close();
    await srv.close();
  });
});
