import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { waitFor } from '../harness/wait.js';
import { certificates, haveOpenssl, type Pem } from './test-support.js';
import { parseLogQuery, startKubeletServer, type ContainerLogSource, type KubeletServer } from './kubelet-server.js';
import type { PodLogRequest } from './kubelet.js';

(haveOpenssl ? describe : describe.skip)("the kubelet's /containerLogs endpoint", () => {
  let dir: string;
  let certs: ReturnType<typeof certificates>;
  let server: KubeletServer;
  const opened: { container: string; opts: PodLogRequest; stream: PassThrough }[] = [];
  const source: ContainerLogSource = {
    containersOf: (ns, pod) => (ns === 'demo' && pod === 'web' ? ['app', 'init'] : undefined),
    open: (_ns, _pod, container, opts) => {
      if (container === 'init') return undefined;
      const stream = new PassThrough();
      opened.push({ container, opts, stream });
      if (!opts.follow) Readable.from(['one\n', 'two\n']).pipe(stream);
      return stream;
    },
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-server-'));
    certs = certificates(dir);
    server = await startKubeletServer({ host: '127.0.0.1', tls: { ca: certs.ca, ...certs.serving }, authorizedUsers: ['kube-apiserver-kubelet-client'], logs: source });
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** GET with client certificate `as` (none when undefined); verifies the serving certificate against the CA. */
  const get = (p: string, as: Pem | undefined, onData?: (s: string, req: import('node:http').ClientRequest) => void): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: server.port, path: p, ca: certs.ca, ...(as ?? {}), agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
          onData?.(body, req);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });

  it('serves a container log to the API server identity, passing the query through', async () => {
    expect(await get('/containerLogs/demo/web/app?timestamps=true&tailLines=2&limitBytes=100', certs.apiserver)).toStrictEqual({ status: 200, body: 'one\ntwo\n' });
    expect(opened.at(-1)).toMatchObject({ container: 'app', opts: { follow: false, previous: false, timestamps: true, tailLines: 2, limitBytes: 100 } });
  });

  it('follows until the client goes away, then closes the log stream', async () => {
    const done = get('/containerLogs/demo/web/app?follow=true&sinceTime=2026-01-01T00:00:00Z', certs.apiserver, (body, req) => {
      if (body.includes('second')) req.destroy();
    }).catch(() => ({ status: -1, body: '' }));
    const entry = await waitFor(() => opened.find((o) => o.opts.follow), { timeoutMs: 5000, what: 'the follow request to open the log' });
    expect(entry.opts).toMatchObject({ follow: true, sinceTime: '2026-01-01T00:00:00Z' });
    entry.stream.write('first\n');
    entry.stream.write('second\n');
    await done;
    await waitFor(() => entry.stream.destroyed, { timeoutMs: 5000, what: 'the log stream destroyed after the client left' });
  });

  it('refuses clients without a certificate of the cluster CA (401) and users it does not authorize (403)', async () => {
    expect(await get('/containerLogs/demo/web/app', undefined)).toStrictEqual({ status: 401, body: 'Unauthorized' });
    expect(await get('/containerLogs/demo/web/app', certs.stranger)).toStrictEqual({ status: 401, body: 'Unauthorized' });
    expect(await get('/containerLogs/demo/web/app', certs.other)).toStrictEqual({ status: 403, body: 'Forbidden (user=system:node:dev-node, verb=get, resource=nodes, subresource=proxy)' });
  });

  it.each([
    ['/containerLogs/demo/gone/app', 404, 'pod "gone" does not exist'],
    ['/containerLogs/demo/web/nope', 404, 'container "nope" not found in pod "web"'],
    ['/containerLogs/demo/web/', 400, 'Missing container name.'],
    ['/containerLogs/demo/web/init', 400, 'container "init" in pod "web" is waiting to start: ContainerCreating'],
    ['/containerLogs/demo/web/init?previous=true', 400, 'previous terminated container "init" in pod "web" not found'],
    ['/containerLogs/demo/web/app?follow=yes', 400, 'Unable to decode query: follow: invalid boolean "yes"'],
    ['/containerLogs/demo/web/app?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z', 400, 'at most one of sinceTime or sinceSeconds may be specified'],
    ['/stats/summary', 404, '404 page not found'],
  ])('GET %s → %i %s', async (p, status, body) => {
    expect(await get(p, certs.apiserver)).toStrictEqual({ status, body });
  });

  it('parses the forwarded query like the API server sends it', () => {
    expect(parseLogQuery(new URLSearchParams('follow=true&previous=false&sinceSeconds=10'))).toStrictEqual({ follow: true, previous: false, timestamps: false, sinceSeconds: 10 });
    expect(() => parseLogQuery(new URLSearchParams('tailLines=x'))).toThrow('Unable to decode query: tailLines: invalid integer "x"');
    expect(() => parseLogQuery(new URLSearchParams('limitBytes=0'))).toThrow('limitBytes: must be greater than 0');
    expect(() => parseLogQuery(new URLSearchParams('sinceTime=yesterday'))).toThrow('parsing time "yesterday" as RFC3339');
  });
});
