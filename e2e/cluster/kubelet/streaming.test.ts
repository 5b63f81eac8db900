// The kubelet's /exec, /attach and /portForward endpoints, driven over HTTPS + SPDY/3.1 as the API server drives them.
import type http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import { startKubeletServer, type KubeletServer } from './kubelet-server.js';
import { SpdySession, type SpdyStream } from './spdy.js';
import { errorStreamPayload, negotiateProtocol, remoteCommandOptions, StreamingError, type AttachSession, type StreamingRuntime } from './streaming.js';
import { execInContainer, type RunningContainer } from './container-streams.js';
import { certificates, haveOpenssl, readAll, type Pem } from './test-support.js';

/** Opens a client stream and starts reading it at once (a stream still unread when the session ends loses its data). */
async function open(s: SpdySession, headers: Record<string, string[]>): Promise<SpdyStream & { text: Promise<string> }> {
  const stream = await s.openStream(headers);
  return Object.assign(stream, { text: readAll(stream) });
}

type Answer = { kind: 'upgraded'; session: SpdySession; protocol: string } | { kind: 'refused'; status: number; body: string; headers: http.IncomingHttpHeaders };

describe('remote command protocol details', () => {
  it('negotiates the first client protocol the server supports, like httpstream.Handshake', () => {
    expect(negotiateProtocol(['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io'], ['v4.channel.k8s.io', 'v3.channel.k8s.io'])).toBe('v4.channel.k8s.io');
    expect(negotiateProtocol([], ['v4.channel.k8s.io'])).toBe('');
    expect(() => negotiateProtocol(['v9'], ['v4.channel.k8s.io', 'channel.k8s.io'])).toThrow('unable to upgrade: unable to negotiate protocol: client supports [v9], server accepts [v4.channel.k8s.io channel.k8s.io]');
  });

  it('reads the stream flags the API server forwards (a TTY drops stderr)', () => {
    expect(remoteCommandOptions(new URLSearchParams('input=1&output=1&error=1'))).toStrictEqual({ stdin: true, stdout: true, stderr: true, tty: false });
    expect(remoteCommandOptions(new URLSearchParams('output=1&error=1&tty=1'))).toStrictEqual({ stdin: false, stdout: true, stderr: false, tty: true });
    expect(() => remoteCommandOptions(new URLSearchParams('tty=1'))).toThrow('you must specify at least 1 of stdin, stdout, stderr');
  });

  it('writes the error stream as v4 metav1.Status JSON, as text before v4', () => {
    expect(JSON.parse(errorStreamPayload({ kind: 'exit', code: 0, description: '' }, 'v4.channel.k8s.io')!)).toStrictEqual({ metadata: {}, status: 'Success' });
    expect(JSON.parse(errorStreamPayload({ kind: 'exit', code: 3, description: 'exit code 3' }, 'v4.channel.k8s.io')!)).toStrictEqual({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: exit code 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
    expect(errorStreamPayload({ kind: 'exit', code: 0, description: '' }, 'v2.channel.k8s.io')).toBeUndefined();
    expect(errorStreamPayload({ kind: 'exit', code: 2, description: 'exit code 2' }, 'v2.channel.k8s.io')).toBe('command terminated with non-zero exit code: exit code 2');
  });
});

(haveOpenssl ? describe : describe.skip)("the kubelet's streaming endpoints", () => {
  let dir: string;
  let certs: ReturnType<typeof certificates>;
  let server: KubeletServer;
  let echo: net.Server;
  let echoPort = 0;
  const attachOutput = new PassThrough();
  const attachStdin = new PassThrough();
  const dialed: number[] = [];

  const container = (): RunningContainer => ({ name: 'app', pid: process.pid, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: dir, mountNamespace: false, stdinOnce: false, exited: new Promise(() => undefined), taps: new Set() });
  const runtime: StreamingRuntime = {
    check: (ns, pod, c) => {
      if (ns !== 'demo' || pod !== 'web') throw new StreamingError(404, 'pod does not exist');
      if (c !== undefined && c !== 'app') throw new StreamingError(404, `container not found (${JSON.stringify(c)})`);
      return { uid: 'uid-1' };
    },
    exec: (_ns, _pod, _c, argv, o) => execInContainer(container(), argv, o),
    attach: (_ns, _pod, _c, o): AttachSession => {
      const listeners: ((s: 'stdout' | 'stderr', c: Buffer) => void)[] = [];
      const onData = (c: Buffer): void => listeners.forEach((l) => l(c.toString().startsWith('E') ? 'stderr' : 'stdout', c));
      attachOutput.on('data', onData);
      return { ...(o.stdin ? { stdin: attachStdin } : {}), onOutput: (l) => void listeners.push(l), ended: new Promise(() => undefined), detach: () => void attachOutput.off('data', onData) };
    },
    dial: (_ns, _pod, port) => {
      dialed.push(port);
      return new Promise<Duplex>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: port === 1 ? echoPort : port });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    },
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-streaming-'));
    certs = certificates(dir);
    server = await startKubeletServer({ host: '127.0.0.1', tls: { ca: certs.ca, ...certs.serving }, authorizedUsers: ['kube-apiserver-kubelet-client'], logs: { containersOf: () => undefined, open: () => undefined }, streaming: runtime });
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    echoPort = (echo.address() as net.AddressInfo).port;
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    echo?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** An upgrade request as the API server sends it. */
  const upgrade = (p: string, opts: { as?: Pem | undefined; protocols?: string[]; upgrade?: string } = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const as = 'as' in opts ? opts.as : certs.apiserver;
      const headers: Record<string, string | string[]> = { connection: 'Upgrade', upgrade: opts.upgrade ?? 'SPDY/3.1' };
      if (opts.protocols) headers['x-stream-protocol-version'] = opts.protocols;
      const req = https.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: p, ca: certs.ca, ...(as ?? {}), agent: false, headers });
      req.on('upgrade', (res, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        resolve({ kind: 'upgraded', session: new SpdySession(socket, { role: 'client' }), protocol: String(res.headers['x-stream-protocol-version'] ?? '') });
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ kind: 'refused', status: res.statusCode ?? 0, body, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });

  const session = async (p: string, protocols = ['v4.channel.k8s.io']): Promise<{ session: SpdySession; protocol: string }> => {
    const a = await upgrade(p, { protocols });
    if (a.kind !== 'upgraded') throw new Error(`not upgraded: ${a.status} ${a.body}`);
    return a;
  };

  it('exec: stdout, stderr and the exit status on the error stream (v4)', async () => {
    const { session: s, protocol } = await session('/exec/demo/web/app?command=sh&command=-c&command=echo%20out%3B%20echo%20err%20%3E%262%3B%20exit%203&output=1&error=1', ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
    expect(protocol).toBe('v4.channel.k8s.io');
    const error = await open(s, { streamtype: ['error'] });
    const stdout = await open(s, { streamtype: ['stdout'] });
    const stderr = await open(s, { streamtype: ['stderr'] });
    const [e, o, r] = await Promise.all([error.text, stdout.text, stderr.text]);
    expect([o, r]).toEqual(['out\n', 'err\n']);
    expect(JSON.parse(e)).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  });

  it('exec: stdin reaches the command and its end is EOF; success is a Success status', async () => {
    const { session: s } = await session('/exec/demo/web/app?command=tr&command=a-z&command=A-Z&input=1&output=1');
    const error = await open(s, { streamtype: ['error'] });
    const stdin = await open(s, { streamtype: ['stdin'] });
    const stdout = await open(s, { streamtype: ['stdout'] });
    const out = stdout.text;
    stdin.end('piped text\n');
    expect(await out).toBe('PIPED TEXT\n');
    expect(JSON.parse(await error.text)).toStrictEqual({ metadata: {}, status: 'Success' });
  });

  it('exec with an older client protocol (v2): text errors, nothing on success', async () => {
    const { session: s, protocol } = await session('/exec/demo/web/app?command=false&output=1', ['v2.channel.k8s.io']);
    expect(protocol).toBe('v2.channel.k8s.io');
    const error = await open(s, { streamtype: ['error'] });
    await open(s, { streamtype: ['stdout'] });
    expect(await error.text).toMatch(/^command terminated with non-zero exit code: .*exit code 1$/);
  });

  it('exec with a TTY: the command runs on a terminal of the first size the client sends', async () => {
    const { session: s } = await session('/exec/demo/web/app?command=sh&command=-c&command=tty%3B%20stty%20size&output=1&tty=1');
    const error = await open(s, { streamtype: ['error'] });
    const stdout = await open(s, { streamtype: ['stdout'] });
    const resize = await open(s, { streamtype: ['resize'] });
    const out = stdout.text;
    resize.write(JSON.stringify({ Width: 99, Height: 22 }));
    expect(await out).toMatch(/^\/dev\/pts\/\d+\r\n22 99\r\n$/);
    expect(JSON.parse(await error.text)).toMatchObject({ status: 'Success' });
  });

  it('exec with a TTY: a later resize reaches the running command', async () => {
    const script = 'stty size; i=0; while [ "$(stty size)" = "22 99" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; stty size';
    const { session: s } = await session(`/exec/demo/web/app?command=sh&command=-c&command=${encodeURIComponent(script)}&output=1&tty=1`);
    const error = await open(s, { streamtype: ['error'] });
    const stdout = await open(s, { streamtype: ['stdout'] });
    const resize = await open(s, { streamtype: ['resize'] });
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    resize.write(JSON.stringify({ Width: 99, Height: 22 }));
    const deadline = Date.now() + 5000;
    while (!out.includes('22 99') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    resize.write(JSON.stringify({ Width: 132, Height: 50 }));
    expect(JSON.parse(await error.text)).toMatchObject({ status: 'Success' });
    expect(out).toBe('22 99\r\n50 132\r\n');
  });

  it('attach: output from now on, stdin passed to the container', async () => {
    const { session: s } = await session('/attach/demo/web/app?input=1&output=1&error=1');
    const error = await open(s, { streamtype: ['error'] });
    const stdin = await open(s, { streamtype: ['stdin'] });
    const stdout = await open(s, { streamtype: ['stdout'] });
    const stderr = await open(s, { streamtype: ['stderr'] });
    let out = '';
    let err = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    const typed = new Promise<string>((resolve) => attachStdin.once('data', (c: Buffer) => resolve(c.toString())));
    // The streams are all there once the server has replied to each; then output flows.
    await new Promise((r) => setTimeout(r, 100));
    attachOutput.write('line one\n');
    attachOutput.write('E-line\n');
    stdin.write('typed\n');
    expect(await typed).toBe('typed\n');
    const deadline = Date.now() + 5000;
    while ((out !== 'line one\n' || err !== 'E-line\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect([out, err]).toEqual(['line one\n', 'E-line\n']);
    stdin.end();
    expect(JSON.parse(await error.text)).toStrictEqual({ metadata: {}, status: 'Success' });
  });

  it('port-forward: a (data, error) pair per requestID reaches the port; a failed dial is written to the error stream', async () => {
    const a = await upgrade('/portForward/demo/web', { protocols: ['portforward.k8s.io'] });
    if (a.kind !== 'upgraded') throw new Error(`not upgraded: ${a.status} ${a.body}`);
    const s = a.session;
    expect(a.protocol).toBe('portforward.k8s.io');
    const error = await open(s, { streamtype: ['error'], port: ['1'], requestid: ['0'] });
    const data = await open(s, { streamtype: ['data'], port: ['1'], requestid: ['0'] });
    const echoed = data.text;
    data.end('round trip');
    expect(await echoed).toBe('round trip');
    expect(await error.text).toBe('');

    const closedPort = await new Promise<number>((resolve) => {
      const t = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (t.address() as net.AddressInfo).port;
        t.close(() => resolve(p));
      });
    });
    const error2 = await open(s, { streamtype: ['error'], port: [String(closedPort)], requestid: ['1'] });
    await open(s, { streamtype: ['data'], port: [String(closedPort)], requestid: ['1'] });
    expect(await error2.text).toBe(`error forwarding port ${closedPort} to pod web_demo, uid uid-1: connect ECONNREFUSED 127.0.0.1:${closedPort}`);

    // A stream without a port is refused (RST_STREAM); the session goes on.
    const bad = await open(s, { streamtype: ['data'], requestid: ['2'] });
    await new Promise<void>((resolve) => bad.once('close', () => resolve()));
    expect(dialed).toEqual([1, closedPort]);
    s.close();
  });

  it.each([
    ['no common protocol', '/exec/demo/web/app?command=true&output=1', { protocols: ['v9.channel.k8s.io'] }, 403, 'unable to upgrade: unable to negotiate protocol: client supports [v9.channel.k8s.io], server accepts [v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io]'],
    ['a WebSocket upgrade', '/exec/demo/web/app?command=true&output=1', { upgrade: 'websocket', protocols: ['v4.channel.k8s.io'] }, 400, 'unable to upgrade: WebSocket streaming is not served by this kubelet; use SPDY/3.1 (clients fall back to it)'],
    ['an unknown pod', '/exec/demo/gone/app?command=true&output=1', {}, 404, 'pod does not exist'],
    ['an unknown container', '/attach/demo/web/nope?output=1', {}, 404, 'container not found ("nope")'],
    ['no streams asked for', '/exec/demo/web/app?command=true', {}, 400, 'you must specify at least 1 of stdin, stdout, stderr'],
    ['no client certificate', '/exec/demo/web/app?command=true&output=1', { as: undefined }, 401, 'Unauthorized'],
    ['a user other than the API server', '/portForward/demo/web', { as: 'other' }, 403, 'Forbidden (user=system:node:dev-node, verb=create, resource=nodes, subresource=proxy)'],
    ['an unknown path', '/run/demo/web/app', {}, 404, '404 page not found'],
  ] as const)('refuses %s before upgrading', async (_what, p, o, status, body) => {
    const opts = { ...o, ...('as' in o ? { as: o.as === 'other' ? certs.other : undefined } : {}) } as { as?: Pem; protocols?: string[]; upgrade?: string };
    const a = await upgrade(p, { protocols: ['v4.channel.k8s.io'], ...opts });
    expect(a.kind === 'refused' ? [a.status, a.body] : a.kind).toEqual([status, body]);
    if (status === 403 && body.startsWith('unable')) expect(a.kind === 'refused' && a.headers['x-accepted-stream-protocol-versions']).toBe('v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io');
  });

  it('answers a streaming path without upgrade headers with 400', async () => {
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/exec/demo/web/app?command=true&output=1', ca: certs.ca, ...certs.apiserver, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(r).toStrictEqual({ status: 400, body: 'unable to upgrade: missing upgrade headers in request' });
  });
});
