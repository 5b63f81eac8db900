import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Counter, Registry } from 'prom-client';
import { z } from 'zod';
import { LogManager } from '../logging/logger.js';
import { Runtime } from '../runtime/runtime.js';
import { ComponentRegistry } from '../runtime/registry.js';
import { syntaxEvaluator } from '../runtime/evaluator.js';
import { SingleNodeCluster } from '../runtime/cluster-service.js';
import { duration, secret } from '../syntax/index.js';
import type { ComponentDefinition, ServiceName } from '../runtime/component.js';
import type { HttpService } from '../runtime/services.js';
import { AlloyHttpServer, parseListenAddr } from './http-server.js';

interface EchoArgs {
  readonly greeting: string;
  readonly password?: unknown;
}

/** Test-only: mounts a handler on the main server, counts requests in its own registry. */
const echo: ComponentDefinition<EchoArgs, { url: string }> = {
  name: 'test.echo',
  stability: 'generally-available',
  args: z.object({ greeting: z.string(), password: secret().optional(), timeout: duration().default(5_000) }),
  exports: ['url'],
  build(opts, args) {
    const http = opts.getService<HttpService>('http');
    const hits = new Counter({ name: 'test_echo_requests_total', help: 'Requests.', registers: [opts.registry] });
    let greeting = args.greeting;
    const unmount = http.mount(opts.id, (_req, res, sub) => {
      hits.inc();
      res.end(`${greeting} ${sub}`);
    });
    opts.onStateChange({ url: `http://${http.listenAddr}${http.pathFor(opts.id)}` });
    return {
      run: (signal) =>
        new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => {
            unmount();
            resolve();
          }),
        ),
      update: (a) => {
        greeting = a.greeting;
      },
    };
  },
};

const sick: ComponentDefinition<object, object> = {
  name: 'test.sick',
  stability: 'generally-available',
  args: z.object({}),
  exports: [],
  build(opts) {
    opts.setHealth('unhealthy', 'upstream unreachable');
    return { run: (s) => new Promise<void>((r) => s.addEventListener('abort', () => r())), update: () => undefined };
  },
};

describe('AlloyHttpServer with a Runtime', () => {
  let dir: string;
  let cfg: string;
  let server: AlloyHttpServer;
  let runtime: Runtime;
  let base: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'srv-'));
    cfg = path.join(dir, 'config.alloy');
    const logs = new LogManager({ stream: new PassThrough() });
    server = new AlloyHttpServer({ listenAddr: '127.0.0.1:0', logger: logs.root });
    base = `http://${await server.listen()}`;
    const cluster = new SingleNodeCluster({ enabled: false, nodeName: 'node-a', advertiseAddress: '10.0.0.7:12345', joinAddresses: [], discoverPeers: '', rejoinIntervalMs: 1, maxJoinPeers: 1, name: '' });
    server.setCluster(cluster);
    const services = new Map<ServiceName, unknown>([
      ['http', server],
      ['cluster', cluster],
    ]);
    runtime = new Runtime({
      configPath: cfg,
      storagePath: path.join(dir, 'data'),
      stabilityLevel: 'generally-available',
      logs,
      registry: new Registry(),
      services,
      components: new ComponentRegistry([echo, sick]),
      evaluator: syntaxEvaluator(),
      buildInfo: { version: 'v0.0.0-test', revision: 'r', branch: 'b' },
    });
    server.setRuntime(runtime);
  });

  afterEach(async () => {
    await runtime.stop();
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const get = async (p: string, method = 'GET'): Promise<{ status: number; body: string }> => {
    const r = await fetch(base + p, { method });
    return { status: r.status, body: await r.text() };
  };

  it('is not ready before the first load, ready after; reload reports diagnostics with line:col and keeps the old graph', async () => {
    expect((await get('/-/ready')).status).toBe(503);
    await fs.writeFile(cfg, 'test.echo "a" {\n  greeting = "hello"\n  password = "hunter2"\n}\n');
    expect((await runtime.load()).ok).toBe(true);
    expect(await get('/-/ready')).toEqual({ status: 200, body: 'Alloy is ready.\n' });
    expect(await get('/api/v0/component/test.echo.a/x/y')).toEqual({ status: 200, body: 'hello /x/y' });

    await fs.writeFile(cfg, 'test.echo "a" {\n  greeting = true\n}\n');
    const bad = await get('/-/reload', 'POST');
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('config.alloy:2:14');
    expect(await get('/api/v0/component/test.echo.a/')).toEqual({ status: 200, body: 'hello /' });

    await fs.writeFile(cfg, 'test.echo "a" {\n  greeting = "bonjour"\n}\ntest.echo "b" {\n  greeting = "hi"\n}\n');
    expect(await get('/-/reload')).toEqual({ status: 200, body: 'config reloaded\n' });
    expect((await get('/api/v0/component/test.echo.a/')).body).toBe('bonjour /');
    expect((await get('/api/v0/component/test.echo.b/')).body).toBe('hi /');
  });

  it('answers /-/reload of a too-deeply nested config with 400 and the diagnostic; the old graph keeps serving', async () => {
    await fs.writeFile(cfg, 'test.echo "a" {\n  greeting = "hello"\n}\n');
    expect((await runtime.load()).ok).toBe(true);
    await fs.writeFile(cfg, 'test.echo "a" {\n  greeting = ' + '('.repeat(5000) + '"x"' + ')'.repeat(5000) + '\n}\n');
    const bad = await get('/-/reload', 'POST');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/config\.alloy:2:\d+: nesting too deep \(max \d+ /);
    expect(await get('/api/v0/component/test.echo.a/')).toEqual({ status: 200, body: 'hello /' });
  });

  it('serves components in the upstream Alloy API shape: typed Alloy JSON bodies, secrets redacted, durations as written', async () => {
    await fs.writeFile(cfg, 'test.echo "a" {\n  greeting = "hello"\n  password = "hunter2"\n  timeout = "90s"\n}\n');
    await runtime.load();
    await get('/api/v0/component/test.echo.a/');
    const list = JSON.parse((await get('/api/v0/web/components')).body) as Array<Record<string, unknown>>;
    // The list carries identity and health only (upstream: InfoOptions{GetHealth: true}).
    expect(list).toEqual([
      {
        name: 'test.echo',
        type: 'block',
        localID: 'test.echo.a',
        moduleID: '',
        label: 'a',
        referencesTo: [],
        referencedBy: [],
        health: { state: 'healthy', message: expect.any(String), updatedTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
        original: '',
        liveDebuggingEnabled: false,
        id: 'test.echo.a',
        dataPath: expect.any(String),
      },
    ]);
    const one = JSON.parse((await get('/api/v0/web/components/test.echo.a')).body) as Record<string, unknown>;
    expect(one).toMatchObject({ localID: 'test.echo.a', moduleID: '', name: 'test.echo', label: 'a', health: { state: 'healthy' }, referencesTo: [], referencedBy: [] });
    expect(one.arguments).toEqual([
      { name: 'greeting', type: 'attr', value: { type: 'string', value: 'hello' } },
      { name: 'password', type: 'attr', value: { type: 'capsule', value: '(secret)' } },
      { name: 'timeout', type: 'attr', value: { type: 'string', value: '1m30s' } },
    ]);
    expect(JSON.stringify(one)).not.toContain('hunter2');
    expect(one.exports).toEqual([{ name: 'url', type: 'attr', value: { type: 'string', value: `${base}/api/v0/component/test.echo.a/` } }]);
    expect(one).not.toHaveProperty('debugInfo');
    expect((await get('/api/v0/web/components/nope')).status).toBe(404);

    const metrics = (await get('/metrics')).body;
    expect(metrics).toContain('test_echo_requests_total{component_id="test.echo.a"} 1');
    expect(metrics).toContain('alloy_config_last_load_successful 1');
    expect(metrics).toMatch(/alloy_config_hash\{sha256="[0-9a-f]{64}"\} 1/);
    expect(metrics).toContain('alloy_component_controller_running_components{health_type="healthy"} 1');
    expect(metrics).toMatch(/alloy_build_info\{version="v0.0.0-test"/);
  });

  it('answers /-/healthy 500 naming unhealthy components, 404 JSON for unknown API paths, 405 for bad methods', async () => {
    await fs.writeFile(cfg, 'test.sick "s" {}\ntest.echo "ok" { greeting = "x" }\n');
    await runtime.load();
    const h = await get('/-/healthy');
    expect(h.status).toBe(500);
    expect(h.body).toBe('unhealthy components: test.sick.s (unhealthy: upstream unreachable)\n');
    // Under the UI (prefix "/") an unknown page is a styled HTML 404; API paths answer JSON.
    const page = await get('/nope');
    expect(page.status).toBe(404);
    expect(page.body).toContain('<h1>Page not found</h1>');
    const nf = await get('/api/v0/nope');
    expect(nf.status).toBe(404);
    expect(JSON.parse(nf.body)).toEqual({ error: '/api/v0/nope not found' });
    for (const name of ['__proto__', 'constructor', 'toString']) expect((await get(`/assets/${name}`)).status).toBe(404);
    expect((await get('/api/v0/web/components/__proto__')).status).toBe(404);
    expect((await get('/api/v0/component/__proto__/')).status).toBe(404);
    expect((await get('/-/reload', 'DELETE')).status).toBe(405);
    expect((await get('/api/v0/component/missing/')).status).toBe(404);
  });

  it('answers 503 + Retry-After (not 404) for unserved paths while starting and while stopping', async () => {
    const post = async (p: string): Promise<Response> => fetch(base + p, { method: 'POST', body: 'x' });
    // Starting: a receiver's route is not registered until its component is built.
    const starting = await post('/api/v1/metrics/write');
    expect(starting.status).toBe(503);
    expect(starting.headers.get('retry-after')).toBe('1');
    expect(await starting.text()).toMatch(/collector is starting/);
    expect((await post('/api/v0/component/test.echo.a/')).status).toBe(503);

    let served = 0;
    const unroute = server.route('/api/v1/metrics/write', (_req, res) => {
      served++;
      res.writeHead(204).end();
    });
    await fs.writeFile(cfg, 'test.echo "a" {\n  greeting = "hello"\n}\n');
    expect((await runtime.load()).ok).toBe(true);
    // Ready: routed paths are served, others are plain 404s.
    expect((await post('/api/v1/metrics/write')).status).toBe(204);
    expect((await post('/nope')).status).toBe(404);
    expect((await post('/api/v0/component/test.echo.zzz/')).status).toBe(404);

    // Stopping: routes still present keep serving; once removed, 503 with Connection: close.
    server.beginShutdown();
    expect((await get('/-/ready')).status).toBe(503);
    expect((await post('/api/v1/metrics/write')).status).toBe(204);
    unroute();
    const stopping = await post('/api/v1/metrics/write');
    expect(stopping.status).toBe(503);
    expect(stopping.headers.get('retry-after')).toBe('1');
    expect(stopping.headers.get('connection')).toBe('close');
    expect(await stopping.text()).toMatch(/shutting down/);
    expect(served).toBe(2);
  });

  it('serves the HTML UI (components, component detail with redacted secrets, clustering) and peers JSON', async () => {
    await fs.writeFile(cfg, 'test.echo "a" {\n  greeting = "<b>hi</b>"\n  password = "hunter2"\n}\n');
    await runtime.load();
    const home = await get('/');
    expect(home.status).toBe(200);
    expect(home.body).toContain('<a href="/component/test.echo.a">test.echo.a</a>');
    expect(home.body).toContain('<span class="badge healthy">healthy</span>');
    const detail = await get('/component/test.echo.a');
    expect(detail.body).toContain('&#60;b&#62;hi&#60;/b&#62;');
    expect(detail.body).not.toContain('hunter2');
    const clustering = await get('/clustering');
    expect(clustering.body).toContain('clustering disabled: single node');
    expect(clustering.body).toMatch(/<td class="mono">node-a<\/td><td class="mono">10\.0\.0\.7:12345<\/td>.*This node/);
    expect(JSON.parse((await get('/api/v0/web/peers')).body)).toEqual([{ name: 'node-a', addr: '10.0.0.7:12345', isSelf: true, state: 'participant' }]);
  });

  it('routes handlers of components inside custom components by their nested id', async () => {
    await fs.writeFile(cfg, 'declare "wrap" {\n  argument "g" { }\n  test.echo "inner" { greeting = argument.g.value }\n}\nwrap "w1" { g = "one" }\nwrap "w2" { g = "two" }\ntest.echo "a" { greeting = "top" }\n');
    expect((await runtime.load()).message).toBe('');
    expect(await get('/api/v0/component/wrap.w1/test.echo.inner/x')).toEqual({ status: 200, body: 'one /x' });
    expect(await get('/api/v0/component/wrap.w2/test.echo.inner/')).toEqual({ status: 200, body: 'two /' });
    expect(await get('/api/v0/component/test.echo.a/y')).toEqual({ status: 200, body: 'top /y' });
    expect((await get('/api/v0/component/wrap.w3/test.echo.inner/')).status).toBe(404);
  });

  it('counts load failures', async () => {
    await fs.writeFile(cfg, 'nope.nope "x" {}\n');
    const r = await runtime.load();
    expect(r.ok).toBe(false);
    expect(r.message).toContain('config.alloy:1:1: cannot find the definition of component name "nope.nope"');
    const metrics = (await get('/metrics')).body;
    expect(metrics).toContain('alloy_config_load_failures_total 1');
    expect(metrics).toContain('alloy_config_last_load_successful 0');
    expect((await get('/-/ready')).status).toBe(503);
  });
});

describe('/-/reload when the runtime throws', () => {
  it('answers 500 naming the error instead of a bare handler failure', async () => {
    const logs = new LogManager({ stream: new PassThrough().resume() });
    const server = new AlloyHttpServer({ listenAddr: '127.0.0.1:0', logger: logs.root });
    const base = `http://${await server.listen()}`;
    server.setRuntime({
      isReady: () => true,
      reload: () => Promise.reject(new RangeError('Maximum call stack size exceeded')),
      components: () => [],
      registries: () => [],
      toJSON: (v) => v,
      encodeBody: () => [],
    });
    try {
      const r = await fetch(`${base}/-/reload`, { method: 'POST' });
      expect(r.status).toBe(500);
      expect(await r.text()).toBe('reload failed with an unexpected error (not a configuration diagnostic): Maximum call stack size exceeded\n');
    } finally {
      await server.close();
    }
  });
});

describe('http service addresses', () => {
  it('maps the memory address to the dialable listener and leaves others alone', async () => {
    const s = new AlloyHttpServer({ listenAddr: '127.0.0.1:0', logger: new LogManager({ stream: new PassThrough() }).root });
    const addr = await s.listen();
    const port = addr.split(':').pop();
    expect(s.memoryAddr).toBe('alloy.internal:12345');
    expect(s.dialAddress('alloy.internal:12345')).toBe(`127.0.0.1:${port}`);
    expect(s.dialAddress('10.1.2.3:9100')).toBe('10.1.2.3:9100');
    await s.close();
  });
});

describe('parseListenAddr', () => {
  it.each([
    ['127.0.0.1:12345', { host: '127.0.0.1', port: 12345 }],
    [':9533', { host: '0.0.0.0', port: 9533 }],
    ['[::1]:80', { host: '::1', port: 80 }],
  ])('%s', (a, want) => expect(parseListenAddr(a)).toEqual(want));
  it('rejects garbage with the expected form', () => {
    expect(() => parseListenAddr('localhost')).toThrow('expected host:port');
  });
});

describe('componentJSON', () => {
  it('splits a module component id into moduleID and localID, as upstream', async () => {
    const { componentJSON } = await import('./http-server.js');
    const { Registry } = await import('prom-client');
    const info = {
      id: 'wrap.w3/test.echo.inner',
      name: 'test.echo',
      label: 'inner',
      health: { state: 'healthy' as const, message: '', updatedAt: new Date(0) },
      arguments: {},
      argumentsSchema: z.object({}),
      exports: {},
      referencesTo: [],
      referencedBy: [],
      debugInfo: undefined,
      liveDebugging: false,
      dataPath: '/d',
      registry: new Registry(),
      instance: { run: async () => undefined, update: () => undefined },
    };
    expect(componentJSON(info, { encodeBody: () => [] }, false)).toMatchObject({ localID: 'test.echo.inner', moduleID: 'wrap.w3', id: 'wrap.w3/test.echo.inner', health: { updatedTime: '1970-01-01T00:00:00.000Z' }, liveDebuggingEnabled: false });
    expect(componentJSON({ ...info, liveDebugging: true }, { encodeBody: () => [] }, false)).toMatchObject({ liveDebuggingEnabled: true });
  });
});
