// The outbound transport against real loopback peers: an HTTP server, an HTTPS server with a
// throw-away CA (openssl), an absolute-form proxy and a CONNECT proxy.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../prom/remotewrite/remotewrite.test-support.js';
import { Authorizer } from './auth.js';
import { HttpTransport, readResponse } from './client.js';
import { ProxySelector } from './proxy.js';
import { classifyStatus, parseRetryAfter } from './retry.js';
import { tlsOptions } from './tls.js';

const closers: (() => void)[] = [];
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'transport-'));
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) c();
  rmSync(dir, { recursive: true, force: true });
});

async function listen(srv: net.Server): Promise<number> {
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => {
    (srv as http.Server).closeAllConnections?.();
    srv.close();
  });
  const a = srv.address();
  return typeof a === 'object' && a ? a.port : 0;
}

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly socketPort: number;
}

function recorder(seen: Seen[], status = 200): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString(), socketPort: req.socket.remotePort ?? 0 });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`answer ${seen.length}`);
    });
  };
}

function transport(o: ConstructorParameters<typeof HttpTransport>[0] = {}): HttpTransport {
  const t = new HttpTransport(o);
  closers.push(() => t.close());
  return t;
}

async function get(t: HttpTransport, url: string, extra: Partial<Parameters<HttpTransport['request']>[1]> = {}): Promise<{ status: number; body: string }> {
  const res = await t.request(new URL(url), { method: 'GET', ...extra });
  return { status: res.statusCode ?? 0, body: (await readResponse(res)).toString() };
}

/** A forward proxy: absolute-form requests and CONNECT tunnels, recording what it saw. */
async function proxyServer(log: string[], refuseConnect = false): Promise<number> {
  const proxy = http.createServer((req, res) => {
    log.push(`${req.method} ${req.url} auth=${req.headers['proxy-authorization'] ?? ''}`);
    const up = http.request(req.url!, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  const tunnels: net.Socket[] = [];
  closers.push(() => tunnels.forEach((s) => s.destroy()));
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    log.push(`CONNECT ${req.url} auth=${req.headers['proxy-authorization'] ?? ''} token=${req.headers['x-proxy-token'] ?? ''}`);
    tunnels.push(client);
    if (refuseConnect) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    const [h, p] = (req.url ?? '').split(':');
    const up = net.connect(Number(p), h, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    tunnels.push(up);
    up.on('error', () => client.destroy());
  });
  return listen(proxy);
}

describe('HttpTransport', () => {
  it('sends method, headers and body, and keeps the connection alive between requests', async () => {
    const seen: Seen[] = [];
    const port = await listen(http.createServer(recorder(seen)));
    const t = transport();
    const res = await t.request(new URL(`http://127.0.0.1:${port}/p?q=1`), { method: 'POST', headers: { 'x-a': 'b' }, body: 'hello' });
    expect(res.statusCode).toBe(200);
    expect((await readResponse(res)).toString()).toBe('answer 1');
    await get(t, `http://127.0.0.1:${port}/again`);
    expect(seen.map((s) => [s.method, s.url, s.body, s.headers['x-a'], s.headers['host']])).toEqual([
      ['POST', '/p?q=1', 'hello', 'b', `127.0.0.1:${port}`],
      ['GET', '/again', '', undefined, `127.0.0.1:${port}`],
    ]);
    expect(seen[1]!.socketPort).toBe(seen[0]!.socketPort);
  });

  it('dials the address `dial` names while Host stays as written', async () => {
    const seen: Seen[] = [];
    const port = await listen(http.createServer(recorder(seen)));
    const t = transport({ dial: (hp) => (hp === 'alloy.internal:80' ? `127.0.0.1:${port}` : hp) });
    expect((await get(t, 'http://alloy.internal/metrics')).status).toBe(200);
    expect(seen[0]!.headers['host']).toBe('alloy.internal');
  });

  it('rejects with the deadline message, also while the body is still streaming', async () => {
    const silent = await listen(http.createServer(() => undefined));
    const t = transport();
    await expect(get(t, `http://127.0.0.1:${silent}/`, { timeoutMs: 100, timeoutMessage: 'deadline passed' })).rejects.toThrow('deadline passed');
    const trickle = await listen(
      http.createServer((_req, res) => {
        res.writeHead(200);
        res.write('partial');
      }),
    );
    await expect(get(t, `http://127.0.0.1:${trickle}/`, { timeoutMs: 150, timeoutMessage: 'deadline passed' })).rejects.toThrow('deadline passed');
  });

  it('rejects at once when the signal aborts', async () => {
    const silent = await listen(http.createServer(() => undefined));
    const ac = new AbortController();
    const p = get(transport(), `http://127.0.0.1:${silent}/`, { signal: ac.signal });
    ac.abort(new Error('component stopped'));
    await expect(p).rejects.toThrow('component stopped');
    await expect(get(transport(), `http://127.0.0.1:${silent}/`, { signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
  });

  it('sends http targets to the proxy in absolute form with Proxy-Authorization, except no_proxy hosts', async () => {
    const seen: Seen[] = [];
    const port = await listen(http.createServer(recorder(seen)));
    const log: string[] = [];
    const pport = await proxyServer(log);
    const t = transport({ proxy: { proxyUrl: `http://u%40x:p@127.0.0.1:${pport}`, noProxy: 'localhost, .internal' } });
    await get(t, `http://127.0.0.1:${port}/via`);
    await get(t, `http://localhost:${port}/direct`);
    expect(log).toEqual([`GET http://127.0.0.1:${port}/via auth=Basic ${Buffer.from('u@x:p').toString('base64')}`]);
    expect(seen.map((s) => s.url)).toEqual(['/via', '/direct']);
  });

  it('reads HTTP_PROXY/HTTPS_PROXY by scheme and NO_PROXY per request with proxy_from_environment', () => {
    const saved = { ...process.env };
    try {
      process.env['HTTP_PROXY'] = 'http://plain-proxy:3128';
      process.env['HTTPS_PROXY'] = 'http://tls-proxy:3128';
      process.env['NO_PROXY'] = 'skip.example.com';
      const sel = new ProxySelector({ proxyFromEnvironment: true });
      expect(sel.proxyFor(new URL('http://a.example.com/'))?.host).toBe('plain-proxy:3128');
      expect(sel.proxyFor(new URL('https://a.example.com/'))?.host).toBe('tls-proxy:3128');
      expect(sel.proxyFor(new URL('https://x.skip.example.com/'))).toBeUndefined();
      process.env['NO_PROXY'] = '*';
      expect(sel.proxyFor(new URL('http://a.example.com/'))).toBeUndefined();
      expect(new ProxySelector({}).proxyFor(new URL('http://a.example.com/'))).toBeUndefined();
    } finally {
      process.env = saved;
    }
  });

  it('names unusable settings', () => {
    expect(() => new HttpTransport({ proxy: { proxyUrl: 'not a url' } })).toThrow(/^proxy_url: invalid URL/);
    expect(() => new HttpTransport({ proxy: { proxyUrl: 'socks5://127.0.0.1:1080' } })).toThrow('proxy_url: scheme socks5: is not supported; use an http:// proxy');
    expect(() => new HttpTransport({ tls: { caFile: join(dir, 'missing.pem') } })).toThrow(/^tls_config: cannot read ca_file .*missing\.pem/);
    expect(() => tlsOptions({ ca: 'x', caFile: '/x' })).toThrow('tls_config: set at most one of ca_pem and ca_file');
    expect(() => tlsOptions({ cert: 'x' }, 'oauth2.tls_config')).toThrow(/^oauth2.tls_config: a client certificate and its key must be set together/);
    expect(() => tlsOptions({ minVersion: 'TLS9' })).toThrow(/min_version "TLS9" is invalid/);
    expect(tlsOptions({ minVersion: 'TLS12', insecureSkipVerify: true, serverName: 'x' })).toEqual({ minVersion: 'TLSv1.2', rejectUnauthorized: false, servername: 'x' });
  });

  const openssl = requireTool('/usr/bin/openssl', 'generating a TLS test certificate');
  (openssl ? it : it.skip)('verifies https with a custom CA and tunnels it through CONNECT (with connect headers), reusing the tunnel', async () => {
    execFileSync(openssl!, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=t.test', '-addext', 'subjectAltName=DNS:t.test,IP:127.0.0.1'], { stdio: 'ignore' });
    const seen: Seen[] = [];
    const port = await listen(https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, recorder(seen)));
    const url = `https://127.0.0.1:${port}/secure`;
    await expect(get(transport(), url)).rejects.toThrow(/self-signed|certificate/);
    expect((await get(transport({ tls: { caFile: join(dir, 'cert.pem') } }), url)).status).toBe(200);
    expect((await get(transport({ tls: { insecureSkipVerify: true } }), url)).status).toBe(200);
    const log: string[] = [];
    const pport = await proxyServer(log);
    const t = transport({ tls: { caFile: join(dir, 'cert.pem') }, proxy: { proxyUrl: `http://u:p@127.0.0.1:${pport}`, proxyConnectHeaders: { 'x-proxy-token': 'tok' } } });
    expect((await get(t, url)).body).toBe('answer 3');
    expect((await get(t, url)).body).toBe('answer 4');
    expect(log).toEqual([`CONNECT 127.0.0.1:${port} auth=Basic ${Buffer.from('u:p').toString('base64')} token=tok`]);
    const refused: string[] = [];
    const rport = await proxyServer(refused, true);
    await expect(get(transport({ tls: { caFile: join(dir, 'cert.pem') }, proxy: { proxyUrl: `http://127.0.0.1:${rport}` } }), url)).rejects.toThrow(`proxy CONNECT to 127.0.0.1:${port} failed: 407`);
  });
});

describe('Authorizer', () => {
  const signal = new AbortController().signal;
  it('builds each kind of header, re-reading credential files', async () => {
    writeFileSync(join(dir, 'tok'), 'one\n');
    const fromFile = new Authorizer({ bearerTokenFile: join(dir, 'tok') });
    expect(await fromFile.header(signal)).toBe('Bearer one');
    writeFileSync(join(dir, 'tok'), 'two\n');
    expect(await fromFile.header(signal)).toBe('Bearer two');
    expect(await new Authorizer({ bearerToken: { reveal: () => 's3cret' } }).header(signal)).toBe('Bearer s3cret');
    expect(await new Authorizer({ basicAuth: { username: 'u', password: 'p' } }).header(signal)).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(await new Authorizer({ authorization: { type: 'Token', credentials: 'abc' } }).header(signal)).toBe('Token abc');
    expect(await new Authorizer({ authorization: { credentials: 'abc' } }).header(signal)).toBe('Bearer abc');
    expect(await new Authorizer({}).header(signal)).toBeUndefined();
    await expect(new Authorizer({ basicAuth: { username: 'u', passwordFile: join(dir, 'nope') } }).header(signal)).rejects.toThrow(/^unable to read basic_auth.password_file .*nope/);
  });

  it('fetches OAuth2 client-credentials tokens and caches them until expiry', async () => {
    let calls = 0;
    const port = await listen(
      http.createServer((req, res) => {
        calls++;
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          expect(new URLSearchParams(body).get('grant_type')).toBe('client_credentials');
          expect(req.headers['authorization']).toBe(`Basic ${Buffer.from('id:sec').toString('base64')}`);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `t${calls}`, token_type: 'bearer', expires_in: 3600 }));
        });
      }),
    );
    const a = new Authorizer({ oauth2: { clientId: 'id', clientSecret: 'sec', tokenUrl: `http://127.0.0.1:${port}/token` } });
    expect(await a.header(signal)).toBe('Bearer t1');
    expect(await a.header(signal)).toBe('Bearer t1');
    expect(calls).toBe(1);
  });
});

describe('retry classification', () => {
  it('retries 5xx and (when asked) 429, fails other statuses', () => {
    expect([200, 204, 400, 404, 429, 500, 503].map((s) => classifyStatus(s, true))).toEqual(['ok', 'ok', 'fail', 'fail', 'retry', 'retry', 'retry']);
    expect(classifyStatus(429, false)).toBe('fail');
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7', 0)).toBe(7000);
    expect(parseRetryAfter(new Date(60_000).toUTCString(), 0)).toBe(60_000);
    expect(parseRetryAfter(new Date(0).toUTCString(), 10_000)).toBe(0);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});
