import winston from 'winston';
import { Registry } from 'prom-client';
import { Profile } from 'pprof-format';
import { gunzipSync } from 'node:zlib';
import type { ComponentOptions } from '../../../runtime/component.js';
import { makePprof, PyroscopeSink } from '../../../pyroscope/pyroscope.test-support.js';
import { ProfilesWriteError, type Labels } from '../../../pyroscope/types.js';
import { argumentsSchema } from './arguments.js';
import { PyroscopeWriteComponent, type Exports } from './write.js';
import { eventually } from '../../../clock/eventually.test-support.js';

const log = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
const L = (r: Record<string, string>): Labels => Object.entries(r).map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : 1));

async function metric(reg: Registry, name: string): Promise<number> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  return ((m?.values ?? []) as { value: number }[]).reduce((s, x) => s + x.value, 0);
}

describe('pyroscope.write', () => {
  let sink: PyroscopeSink;
  const stops: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    sink = new PyroscopeSink();
    await sink.start();
  });
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await sink.stop();
  });

  function start(cfg: Record<string, unknown>): { c: PyroscopeWriteComponent; exports: Exports; registry: Registry } {
    const registry = new Registry();
    let ex: Exports | undefined;
    const opts: ComponentOptions<Exports> = {
      id: 'pyroscope.write.test',
      logger: log,
      registry,
      dataPath: '/nonexistent',
      onStateChange: (e) => (ex = e),
      setHealth: () => undefined,
      getService: () => {
        throw new Error('no services');
      },
    };
    const c = PyroscopeWriteComponent.create(opts, argumentsSchema.parse(cfg));
    const ac = new AbortController();
    const running = c.run(ac.signal);
    stops.push(async () => {
      ac.abort();
      await running;
    });
    return { c, exports: ex!, registry };
  }

  const fast = { min_backoff_period: '10ms', max_backoff_period: '40ms' };

  it('pushes over Connect to a connect-node server: labels filtered, external labels win, profile bytes unchanged', async () => {
    const { exports, registry } = start({ endpoint: [{ url: sink.url, headers: { 'X-Scope-OrgID': 'team-a' } }], external_labels: { env: 'test', job: 'override' } });
    const profile = makePprof({ seed: 7 });
    await exports.receiver.append(L({ __name__: 'process_cpu', __delta__: 'false', __address__: 'x:1', service_name: 'svc', job: 'scrape' }), [{ rawProfile: profile }]);
    expect(sink.pushes).toHaveLength(1);
    expect(sink.pushes[0]!.labels).toEqual({ __name__: 'process_cpu', __delta__: 'false', service_name: 'svc', job: 'override', env: 'test' });
    expect(sink.pushes[0]!.headers['x-scope-orgid']).toBe('team-a');
    expect(Buffer.from(sink.pushes[0]!.samples[0]!)).toEqual(profile);
    expect(Profile.decode(gunzipSync(sink.pushes[0]!.samples[0]!)).sample).toHaveLength(20);
    expect(await metric(registry, 'pyroscope_write_sent_profiles_total')).toBe(1);
  });

  it('retries 503 and 429 with backoff and resolves only once the sink accepted', async () => {
    const { exports, registry } = start({ endpoint: [{ url: sink.url, ...fast }] });
    sink.statuses.push(503, 429, 500);
    await exports.receiver.append(L({ service_name: 'a' }), [{ rawProfile: makePprof() }]);
    expect(sink.requests).toBe(4);
    expect(sink.pushes).toHaveLength(1);
    expect(await metric(registry, 'pyroscope_write_retries_total')).toBe(3);
  });

  it('never retries a 400 or, with retry_on_http_429 = false, a 429', async () => {
    const { exports } = start({ endpoint: [{ url: sink.url, ...fast, retry_on_http_429: false }] });
    sink.statuses.push(400);
    const err = await exports.receiver.append(L({ service_name: 'a' }), [{ rawProfile: makePprof() }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProfilesWriteError);
    expect((err as ProfilesWriteError).status).toBe(400);
    expect((err as ProfilesWriteError).message).toMatch(/not retryable/);
    sink.statuses.push(429);
    await expect(exports.receiver.append(L({ service_name: 'a' }), [{ rawProfile: makePprof() }])).rejects.toMatchObject({ status: 429 });
    expect(sink.requests).toBe(2);
  });

  it('gives up after max_backoff_retries attempts and counts the drop', async () => {
    const { exports, registry } = start({ endpoint: [{ url: sink.url, ...fast, max_backoff_retries: 3 }] });
    sink.down = 503;
    await expect(exports.receiver.append(L({ service_name: 'a' }), [{ rawProfile: makePprof() }])).rejects.toThrow(/gave up after 3 attempts/);
    expect(sink.requests).toBe(3);
    expect(await metric(registry, 'pyroscope_write_dropped_profiles_total')).toBe(1);
  });

  it("stops retrying when the caller's signal aborts (a push deadline) and rejects with 504", async () => {
    const { exports } = start({ endpoint: [{ url: sink.url, ...fast, max_backoff_retries: 0 }] });
    sink.down = 503;
    const t0 = Date.now();
    const err = await exports.receiver.append(L({ service_name: 'a' }), [{ rawProfile: makePprof() }], AbortSignal.timeout(300)).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 504, code: 'deadline_exceeded' });
    expect(Date.now() - t0).toBeLessThan(5000);
    // Windows, not synchronisation: a request already on the wire may still land in the first;
    // the second proves no further attempt follows.
    await new Promise((r) => setTimeout(r, 100));
    const n = sink.requests;
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.requests).toBe(n);
  });

  it('retries a refused connection until the sink is back', async () => {
    const port = sink.port;
    await sink.stop();
    const { exports, registry } = start({ endpoint: [{ url: `http://127.0.0.1:${port}`, ...fast, max_backoff_retries: 0 }] });
    const pending = exports.receiver.append(L({ service_name: 'a' }), [{ rawProfile: makePprof() }]);
    await eventually(async () => (await metric(registry, 'pyroscope_write_retries_total')) >= 1, 5_000, 'a retry after the refused connection');
    sink = new PyroscopeSink();
    await sink.start(port);
    await pending;
    expect(sink.pushes).toHaveLength(1);
  });

  it('rejects profiles without labels with 400 before sending', async () => {
    const { exports } = start({ endpoint: [{ url: sink.url }] });
    await expect(exports.receiver.append(L({ __address__: 'x' }), [{ rawProfile: makePprof() }])).rejects.toMatchObject({ status: 400 });
    await expect(exports.receiver.append(L({ 'bad-name': 'x' }), [{ rawProfile: makePprof() }])).rejects.toThrow(/invalid label name/);
    expect(sink.requests).toBe(0);
  });

  it('forwards /ingest bodies unchanged with name rewritten from labels and external labels', async () => {
    const { exports } = start({ endpoint: [{ url: `${sink.url}/` }, { url: sink.url, name: 'second' }], external_labels: { cluster: 'c1' } });
    const body = makePprof();
    const query = new URLSearchParams({ name: 'ignored', format: 'pprof', from: '100', until: '110', spyName: 'nodespy' });
    await exports.receiver.appendIngest({ body, contentType: ['application/octet-stream'], path: '/ingest', query, labels: L({ __name__: 'app.cpu', service_name: 'app.cpu', env: 'prod' }) });
    expect(sink.ingests).toHaveLength(2);
    for (const i of sink.ingests) {
      expect(i.body).toEqual(body);
      expect(i.contentType).toBe('application/octet-stream');
      expect(Object.fromEntries(i.query)).toEqual({ name: 'app.cpu{cluster=c1,env=prod,service_name=app.cpu}', format: 'pprof', from: '100', until: '110', spyName: 'nodespy' });
    }
  });

  it('rejects a duplicate endpoint name in the config', () => {
    expect(() => start({ endpoint: [{ url: sink.url, name: 'a' }, { url: sink.url, name: 'a' }] })).toThrow(/configured twice/);
  });
});
