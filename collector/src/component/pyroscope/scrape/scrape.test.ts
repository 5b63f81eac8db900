import { createServer, type Server } from 'node:http';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../runtime/component.js';
import { makePprof } from '../../../pyroscope/pyroscope.test-support.js';
import type { IncomingProfile, Labels, ProfilesReceiver, RawSample } from '../../../pyroscope/types.js';
import { argumentsSchema, PyroscopeScrapeComponent, type Exports } from './scrape.js';
import { buildTargets, inferServiceName } from './target.js';

const log = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
const rec = (l: Labels): Record<string, string> => Object.fromEntries(l.map((x) => [x.name, x.value]));

describe('pyroscope.scrape targets', () => {
  const types = [
    ['goroutine', { enabled: true, path: '/debug/pprof/goroutine', delta: false }],
    ['godeltaprof_memory', { enabled: true, path: '/debug/pprof/delta_heap', delta: false }],
    ['process_cpu', { enabled: true, path: '/debug/pprof/profile', delta: true }],
    ['mutex', { enabled: false, path: '/debug/pprof/mutex', delta: false }],
  ] as const;
  const settings = { jobName: 'pyroscope.scrape.x', scheme: 'http', params: { debug: ['1'] }, pathPrefix: '/mimir', intervalMs: 15_000, deltaSeconds: 14, types };

  it('builds one target per enabled profile type with upstream labels and URLs', () => {
    const { targets, dropped } = buildTargets([{ __address__: 'app:6060', service_name: 'app', team: 'a' }], settings);
    expect(dropped).toStrictEqual([]);
    expect(targets.map((t) => t.url.href)).toStrictEqual([
      'http://app:6060/mimir/debug/pprof/goroutine?debug=1',
      'http://app:6060/mimir/debug/pprof/delta_heap?debug=1',
      'http://app:6060/mimir/debug/pprof/profile?debug=1&seconds=14',
    ]);
    expect(rec(targets[1]!.labels)).toStrictEqual({
      __address__: 'app:6060',
      __name__: 'memory',
      __param_debug: '1',
      __profile_path__: '/debug/pprof/delta_heap',
      __profile_path_prefix__: '/mimir',
      __scheme__: 'http',
      instance: 'app:6060',
      job: 'pyroscope.scrape.x',
      service_name: 'app',
      team: 'a',
    });
  });

  it('marks scraped cumulative profiles __delta__="false" (the loop sends deltas), not seconds= or godeltaprof ones', () => {
    const { targets } = buildTargets([{ __address__: 'app:6060' }], {
      ...settings,
      types: [
        ['memory', { enabled: true, path: '/debug/pprof/allocs', delta: false }],
        ['mutex', { enabled: true, path: '/debug/pprof/mutex', delta: true }],
        ['godeltaprof_block', { enabled: true, path: '/debug/pprof/delta_block', delta: false }],
      ],
    });
    expect(targets.map((t) => [t.profileType, t.cumulative, rec(t.labels)['__delta__']])).toStrictEqual([
      ['memory', true, 'false'],
      ['mutex', false, undefined],
      ['block', false, undefined],
    ]);
  });

  it('adds the scheme default port, infers service_name and drops targets without an address', () => {
    const { targets, dropped } = buildTargets([{ __address__: 'web', __meta_kubernetes_namespace: 'ns', __meta_kubernetes_pod_container_name: 'c' }, { job: 'x' }], { ...settings, types: [types[0]] });
    expect(targets[0]!.url.host).toBe('web');
    expect(rec(targets[0]!.labels)['__address__']).toBe('web:80');
    expect(rec(targets[0]!.labels)['service_name']).toBe('ns/c');
    expect(dropped).toStrictEqual([{ labels: { job: 'x' }, error: 'no address: the target has no __address__ label' }]);
    expect(inferServiceName({ __meta_kubernetes_pod_annotation_pyroscope_io_service_name: 'annotated', __meta_docker_container_name: 'd' })).toBe('annotated');
    expect(inferServiceName({ __meta_docker_container_name: 'd' })).toBe('d');
    expect(inferServiceName({})).toBe('unspecified');
  });
});

describe('pyroscope.scrape arguments', () => {
  const base = { targets: [], forward_to: [] };
  it('has upstream defaults', () => {
    const a = argumentsSchema.parse(base);
    expect([a.scrape_interval, a.scrape_timeout, a.delta_profiling_duration, a.scheme]).toStrictEqual([15_000, 10_000, 14_000, 'http']);
    expect(a.profiling_config['profile.process_cpu']).toStrictEqual({ enabled: true, path: '/debug/pprof/profile', delta: true });
    expect(a.profiling_config['profile.memory']).toStrictEqual({ enabled: true, path: '/debug/pprof/allocs', delta: false });
    expect(a.profiling_config['profile.fgprof']).toStrictEqual({ enabled: false, path: '/debug/fgprof', delta: true });
    expect(a.profiling_config['profile.godeltaprof_memory']).toStrictEqual({ enabled: false, path: '/debug/pprof/delta_heap' });
  });
  it('rejects a scrape_interval under 2s and a delta_profiling_duration not below the interval', () => {
    expect(() => argumentsSchema.parse({ ...base, scrape_interval: '1s' })).toThrow(/scrape_interval must be at least 2 seconds/);
    expect(() => argumentsSchema.parse({ ...base, scrape_interval: '10s', delta_profiling_duration: '10s' })).toThrow(/must be smaller than scrape_interval/);
  });
});

describe('pyroscope.scrape loops', () => {
  let srv: Server;
  let port = 0;
  const hits: string[] = [];
  const auth: string[] = [];
  beforeAll(async () => {
    srv = createServer((req, res) => {
      hits.push(req.url ?? '');
      auth.push(req.headers.authorization ?? '');
      if ((req.url ?? '').startsWith('/debug/pprof/goroutine')) return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(makePprof());
      if ((req.url ?? '').startsWith('/debug/pprof/allocs')) return void res.writeHead(200).end('<html>not a profile</html>');
      res.writeHead(404).end('404 page not found');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    port = (srv.address() as { port: number }).port;
  });
  afterAll(async () => {
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  });

  it('forwards valid profiles and marks bad answers down with the reason', async () => {
    const got: Array<{ labels: Record<string, string>; bytes: number }> = [];
    const recv: ProfilesReceiver = { append: async (l: Labels, s: readonly RawSample[]) => void got.push({ labels: rec(l), bytes: s[0]!.rawProfile.length }), appendIngest: async (_p: IncomingProfile) => undefined };
    const opts: ComponentOptions<Exports> = { id: 'pyroscope.scrape.t', logger: log, registry: new Registry(), dataPath: '/x', onStateChange: () => undefined, setHealth: () => undefined, getService: () => { throw new Error('none'); } };
    const c = new PyroscopeScrapeComponent(
      opts,
      argumentsSchema.parse({
        targets: [{ __address__: `127.0.0.1:${port}`, service_name: 'svc' }],
        forward_to: [recv],
        scrape_interval: '2s',
        scrape_timeout: '1s',
        bearer_token: 'tok',
        profiling_config: { 'profile.process_cpu': { enabled: false }, 'profile.block': { enabled: true }, 'profile.mutex': { enabled: false } },
      }),
    );
    const ac = new AbortController();
    const running = c.run(ac.signal);
    try {
      const end = Date.now() + 8000;
      while ((c.debugInfo().target.length < 3 || c.debugInfo().target.some((t) => t.health === 'unknown')) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      const byPath = Object.fromEntries(c.debugInfo().target.map((t) => [new URL(t.url).pathname, t]));
      expect(byPath['/debug/pprof/goroutine']).toMatchObject({ health: 'up', last_error: '' });
      expect(byPath['/debug/pprof/allocs']).toMatchObject({ health: 'down' });
      expect(byPath['/debug/pprof/allocs']!.last_error).toMatch(/invalid profile data/);
      expect(byPath['/debug/pprof/block']!.last_error).toMatch(/HTTP status \(404\) 404 page not found/);
      expect(got[0]!.labels).toMatchObject({ __name__: 'goroutine', service_name: 'svc', job: 'pyroscope.scrape.t', instance: `127.0.0.1:${port}` });
      expect(auth.every((a) => a === 'Bearer tok')).toBe(true);
    } finally {
      ac.abort();
      await running;
    }
  });

  it('scrapes only the targets this cluster node owns when clustering is enabled', async () => {
    const recv: ProfilesReceiver = { append: async () => undefined, appendIngest: async () => undefined };
    const cluster = { enabled: true, owns: (key: string) => key.includes('mine'), onChange: () => () => undefined };
    const opts: ComponentOptions<Exports> = {
      id: 'pyroscope.scrape.c',
      logger: log,
      registry: new Registry(),
      dataPath: '/x',
      onStateChange: () => undefined,
      setHealth: () => undefined,
      getService: <T,>(name: string): T => {
        if (name === 'cluster') return cluster as unknown as T;
        throw new Error('none');
      },
    };
    const targets = [
      { __address__: `127.0.0.1:${port}`, service_name: 'mine' },
      { __address__: `127.0.0.2:${port}`, service_name: 'theirs' },
    ];
    const c = new PyroscopeScrapeComponent(opts, argumentsSchema.parse({ targets, forward_to: [recv], clustering: { enabled: true }, profiling_config: { 'profile.process_cpu': { enabled: false }, 'profile.block': { enabled: false }, 'profile.mutex': { enabled: false }, 'profile.memory': { enabled: false } } }));
    const ac = new AbortController();
    const running = c.run(ac.signal);
    try {
      const end = Date.now() + 3000;
      while (c.debugInfo().target.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(c.debugInfo().target.map((t) => t.labels['service_name'])).toStrictEqual(['mine']);
      expect(c.debugInfo().clustering_enabled).toBe(true);
    } finally {
      ac.abort();
      await running;
    }
  });
});
