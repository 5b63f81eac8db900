import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRetryAfter, RemoteWriteClient, type ClientConfig, type SendResult } from './client.js';
import { requireTool } from './remotewrite.test-support.js';

interface Seen {
  headers: IncomingHttpHeaders;
  url: string;
  body: Buffer;
}

async function listen(srv: net.Server): Promise<number> {
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const a = srv.address();
  return typeof a === 'object' && a ? a.port : 0;
}

function handler(seen: Seen[], status = 204, extra: Record<string, string> = {}): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, url: req.url ?? '', body: Buffer.concat(chunks) });
      res.writeHead(status, extra).end(status === 204 ? undefined : 'server says no');
    });
  };
}

const send = (cfg: ClientConfig, body = Buffer.from('payload')): Promise<SendResult> => {
  const c = new RemoteWriteClient(cfg);
  return c.send(body, new AbortController().signal).finally(() => c.close());
};

describe('RemoteWriteClient', () => {
  let dir: string;
  const servers: net.Server[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rwc-'));
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      (s as http.Server).closeAllConnections?.();
      await new Promise((r) => s.close(r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function server(status = 204, extra: Record<string, string> = {}): Promise<{ port: number; seen: Seen[] }> {
    const seen: Seen[] = [];
    const srv = http.createServer(handler(seen, status, extra));
    servers.push(srv);
    return { port: await listen(srv), seen };
  }

  it('sends the body with remote-write headers, custom headers and each kind of auth', async () => {
    const { port, seen } = await server();
    const url = `http://127.0.0.1:${port}/api/v1/push?x=1`;
    const base = { url, timeoutMs: 2000, retryOn429: true, headers: { 'X-Scope-OrgID': 't1' } };
    expect(await send({ ...base, basicAuth: { username: 'u', password: 'p' } })).toStrictEqual({ kind: 'ok', status: 204 });
    writeFileSync(join(dir, 'pw'), 'from-file\n');
    await send({ ...base, basicAuth: { username: 'u', passwordFile: join(dir, 'pw') } });
    writeFileSync(join(dir, 'tok'), 'tok-from-file\n');
    await send({ ...base, bearerTokenFile: join(dir, 'tok') });
    await send({ ...base, authorization: { type: 'Token', credentials: 'abc' } });
    expect(seen[0]!.url).toBe('/api/v1/push?x=1');
    expect(seen[0]!.body.toString()).toBe('payload');
    const h = seen[0]!.headers;
    expect(h['content-encoding']).toBe('snappy');
    expect(h['content-type']).toBe('application/x-protobuf');
    expect(h['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(h['x-scope-orgid']).toBe('t1');
    expect(h['authorization']).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(seen[1]!.headers['authorization']).toBe(`Basic ${Buffer.from('u:from-file').toString('base64')}`);
    expect(seen[2]!.headers['authorization']).toBe('Bearer tok-from-file');
    expect(seen[3]!.headers['authorization']).toBe('Token abc');
  });

  it('classifies answers: 5xx and 429 retry (with Retry-After), other 4xx fail, errors retry', async () => {
    const s503 = await server(503, { 'retry-after': '3' });
    const s429 = await server(429);
    const s400 = await server(400);
    const mk = (port: number, retryOn429 = true): ClientConfig => ({ url: `http://127.0.0.1:${port}/w`, timeoutMs: 2000, retryOn429 });
    expect(await send(mk(s503.port))).toMatchObject({ kind: 'retry', status: 503, retryAfterMs: 3000 });
    expect(await send(mk(s429.port))).toMatchObject({ kind: 'retry', status: 429 });
    expect(await send(mk(s429.port, false))).toMatchObject({ kind: 'fail', status: 429 });
    const bad = await send(mk(s400.port));
    expect(bad).toMatchObject({ kind: 'fail', status: 400 });
    expect(bad.kind === 'fail' && bad.message).toMatch(/server says no/);
    const tmp = net.createServer();
    const closed = await listen(tmp);
    await new Promise((r) => tmp.close(r));
    expect((await send(mk(closed))).kind).toBe('retry');
  });

  it('times out after remote_timeout', async () => {
    const srv = http.createServer(() => undefined);
    servers.push(srv);
    const port = await listen(srv);
    const r = await send({ url: `http://127.0.0.1:${port}/`, timeoutMs: 100, retryOn429: true });
    expect(r).toMatchObject({ kind: 'retry' });
    expect(r.kind === 'retry' && r.message).toMatch(/remote_timeout/);
  });

  it('goes through an HTTP proxy (absolute-form) and honours no_proxy', async () => {
    const { port, seen } = await server();
    const proxied: string[] = [];
    const proxy = http.createServer((req, res) => {
      proxied.push(`${req.method} ${req.url} ${req.headers['proxy-authorization'] ?? ''}`);
      const up = http.request(req.url!, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    servers.push(proxy);
    const pport = await listen(proxy);
    const url = `http://127.0.0.1:${port}/api/v1/push`;
    expect((await send({ url, timeoutMs: 2000, retryOn429: true, proxyUrl: `http://user:pw@127.0.0.1:${pport}` })).kind).toBe('ok');
    expect(proxied).toStrictEqual([`POST ${url} Basic ${Buffer.from('user:pw').toString('base64')}`]);
    await send({ url, timeoutMs: 2000, retryOn429: true, proxyUrl: `http://127.0.0.1:${pport}`, noProxy: '127.0.0.1' });
    expect(proxied).toHaveLength(1);
    expect(seen).toHaveLength(2);
  });

  it('rejects invalid settings naming the option', () => {
    expect(() => new RemoteWriteClient({ url: 'not a url', timeoutMs: 1, retryOn429: true })).toThrow(/url: invalid/);
    expect(() => new RemoteWriteClient({ url: 'ftp://x/', timeoutMs: 1, retryOn429: true })).toThrow(/unsupported scheme/);
    expect(() => new RemoteWriteClient({ url: 'http://x/', timeoutMs: 1, retryOn429: true, bearerToken: 'a', basicAuth: { username: 'u' } })).toThrow(/at most one of/);
    expect(() => new RemoteWriteClient({ url: 'https://x/', timeoutMs: 1, retryOn429: true, tls: { caFile: '/nonexistent/ca.pem' } })).toThrow(/tls_config: cannot read ca_file/);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7', 0)).toBe(7000);
    expect(parseRetryAfter(new Date(60_000).toUTCString(), 0)).toBe(60_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });

  const openssl = requireTool('/usr/bin/openssl', 'generating a TLS test certificate');
  (openssl ? it : it.skip)('speaks TLS with a custom CA, and tunnels https through CONNECT', async () => {
    execFileSync(openssl!, [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=rw.test', '-addext', 'subjectAltName=DNS:rw.test,IP:127.0.0.1',
    ], { stdio: 'ignore' });
    const seen: Seen[] = [];
    const srv = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, handler(seen));
    servers.push(srv);
    const port = await listen(srv);
    const url = `https://127.0.0.1:${port}/api/v1/push`;
    const untrusted = await send({ url, timeoutMs: 2000, retryOn429: true });
    expect(untrusted.kind).toBe('retry');
    expect((await send({ url, timeoutMs: 2000, retryOn429: true, tls: { caFile: join(dir, 'cert.pem') } })).kind).toBe('ok');
    expect((await send({ url, timeoutMs: 2000, retryOn429: true, tls: { insecureSkipVerify: true } })).kind).toBe('ok');
    // CONNECT proxy.
    const tunnels: string[] = [];
    const sockets: net.Socket[] = [];
    const proxy = http.createServer();
    proxy.on('connect', (req, client: net.Socket, head: Buffer) => {
      tunnels.push(req.url ?? '');
      sockets.push(client);
      const [h, p] = (req.url ?? '').split(':');
      const up = net.connect(Number(p), h, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(client);
        client.pipe(up);
      });
      up.on('error', () => client.destroy());
    });
    servers.push(proxy);
    const pport = await listen(proxy);
    const r = await send({ url, timeoutMs: 2000, retryOn429: true, tls: { caFile: join(dir, 'cert.pem') }, proxyUrl: `http://127.0.0.1:${pport}` });
    expect(r.kind).toBe('ok');
    expect(tunnels).toStrictEqual([`127.0.0.1:${port}`]);
    expect(seen).toHaveLength(3);
    for (const s of sockets) s.destroy();
  });
});
