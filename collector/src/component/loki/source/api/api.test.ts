import { gzipSync } from 'node:zlib';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../../runtime/component.js';
import { formatStreamLabels, parseStreamLabels } from '../../../../loki/labels.js';
import { PushRequestEncoder } from '../../../../loki/push.js';
import type { LogEntry, LogsReceiver } from '../../../../loki/types.js';
import { compress } from '../../../../prom/snappy/snappy.js';
import { argumentsSchema, LokiSourceApiComponent, type Exports } from './api.js';

const log = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });

class Collect implements LogsReceiver {
  readonly got: LogEntry[] = [];
  fail = false;
  async append(entries: readonly LogEntry[]): Promise<void> {
    if (this.fail) throw new Error('downstream is full');
    this.got.push(...entries);
  }
}

function options(): ComponentOptions<Exports> {
  return {
    id: 'loki.source.api.test',
    logger: log,
    registry: new Registry(),
    dataPath: '/nonexistent',
    onStateChange: () => undefined,
    setHealth: () => undefined,
    getService: () => {
      throw new Error('no services');
    },
  };
}

describe('loki.source.api', () => {
  let sink: Collect;
  let c: LokiSourceApiComponent;
  let ac: AbortController;
  let running: Promise<void>;
  let base: string;

  async function start(extra: Record<string, unknown> = {}): Promise<void> {
    sink = new Collect();
    const args = argumentsSchema.parse({ http: { listen_address: '127.0.0.1', listen_port: 0 }, forward_to: [sink], ...extra });
    c = await LokiSourceApiComponent.create(options(), args);
    ac = new AbortController();
    running = c.run(ac.signal);
    base = `http://127.0.0.1:${c.address!.port}`;
  }
  afterEach(async () => {
    ac.abort();
    await running;
  });

  const json = (streams: unknown): string => JSON.stringify({ streams });

  it('accepts the JSON body of the Loki docs, 204 after downstream append, receive-time timestamps', async () => {
    await start();
    const before = Date.now();
    const r = await fetch(`${base}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: json([{ stream: { foo: 'bar2' }, values: [['1570818238000000000', 'fizzbuzz']] }]),
    });
    expect(r.status).toBe(204);
    expect(sink.got).toHaveLength(1);
    expect(sink.got[0]).toMatchObject({ line: 'fizzbuzz', labels: [{ name: 'foo', value: 'bar2' }] });
    expect(sink.got[0]!.timestampMs).toBeGreaterThanOrEqual(before);
  });

  it('accepts snappy protobuf on both routes, keeps incoming timestamps when asked, applies labels', async () => {
    await start({ use_incoming_timestamp: true, labels: { env: 'prod', job: 'forced' } });
    const labels = parseStreamLabels('{job="app", __internal="x"}');
    const body = compress(
      new PushRequestEncoder().encode([
        { labels: '{job="app", __internal="x"}', entries: [{ labels, line: 'one', timestampMs: 1_700_000_000_001, timestampNanos: 7, structuredMetadata: [{ name: 'trace_id', value: 't1' }] }] },
      ]),
    );
    for (const path of ['/loki/api/v1/push', '/api/v1/push']) {
      const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
      expect(r.status).toBe(204);
    }
    expect(sink.got).toHaveLength(2);
    expect(formatStreamLabels(sink.got[0]!.labels)).toBe('{env="prod", job="forced"}');
    expect(sink.got[0]).toMatchObject({ line: 'one', timestampMs: 1_700_000_000_001, timestampNanos: 7, structuredMetadata: [{ name: 'trace_id', value: 't1' }] });
    // Same stream in a later request keeps the same labels object.
    expect(sink.got[1]!.labels).toBe(sink.got[0]!.labels);
  });

  it('accepts gzip-compressed JSON and raw lines', async () => {
    await start();
    const r = await fetch(`${base}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(json([{ stream: { a: '1' }, values: [['1', 'zipped']] }])),
    });
    expect(r.status).toBe(204);
    const raw = await fetch(`${base}/loki/api/v1/raw`, { method: 'POST', body: 'l1\nl2\r\n' });
    expect(raw.status).toBe(204);
    expect(sink.got.map((e) => e.line)).toStrictEqual(['zipped', 'l1', 'l2']);
  });

  it('answers 400 with the reason, 413 over the limit, 404/405 naming the route, 503 when downstream fails', async () => {
    await start({ max_send_message_size: '1KiB' });
    let r = await fetch(`${base}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"streams":[{"stream":{"a":"1"},"values":[["now","x"]]}]}' });
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/timestamp "now" must be a string of Unix epoch nanoseconds/);
    r = await fetch(`${base}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: 'not snappy at all' });
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/snappy decode error/);
    r = await fetch(`${base}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(4096) });
    expect(r.status).toBe(413);
    r = await fetch(`${base}/loki/api/v1/query`, { method: 'POST', body: '' });
    expect(r.status).toBe(404);
    expect(await r.text()).toMatch(/POST \/loki\/api\/v1\/push/);
    r = await fetch(`${base}/loki/api/v1/push`);
    expect(r.status).toBe(405);
    r = await fetch(`${base}/ready`);
    expect(r.status).toBe(200);
    sink.fail = true;
    r = await fetch(`${base}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json([{ stream: { a: '1' }, values: [['1', 'x']] }]) });
    expect(r.status).toBe(503);
    expect(await r.text()).toMatch(/downstream is full/);
  });

  it('keeps the listener when only forward_to changes, moves it when the http block changes', async () => {
    await start();
    const port = c.address!.port;
    const other = new Collect();
    await c.update(argumentsSchema.parse({ http: { listen_address: '127.0.0.1', listen_port: 0 }, forward_to: [other] }));
    expect(c.address!.port).toBe(port);
    await fetch(`${base}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json([{ stream: { a: '1' }, values: [['1', 'x']] }]) });
    expect(other.got).toHaveLength(1);
  });
});

describe('loki.source.api memory bounds', () => {
  it('refuses a small gzip of millions of tiny entries with 413 before parsing them', async () => {
    const sink = new Collect();
    const c = await LokiSourceApiComponent.create(options(), argumentsSchema.parse({ http: { listen_address: '127.0.0.1', listen_port: 0 }, forward_to: [sink] }));
    const ac = new AbortController();
    const running = c.run(ac.signal);
    try {
      const json = `{"streams":[{"stream":{"a":"b"},"values":[${'["1","x"],'.repeat(1_000_000)}["1","x"]]}]}`;
      const r = await fetch(`http://127.0.0.1:${c.address!.port}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(json) });
      expect(r.status).toBe(413);
      expect(await r.text()).toMatch(/more than the collector's in-flight budget of 16 MiB; send smaller batches/);
      expect(sink.got).toHaveLength(0);
    } finally {
      ac.abort();
      await running;
    }
  });
});

describe('loki.source.api on the main HTTP server port', () => {
  it('routes the push paths on the main server, moves to its own listener on update, and answers 503 once gone while stopping', async () => {
    const { AlloyHttpServer } = await import('../../../../server/http-server.js');
    const server = new AlloyHttpServer({ listenAddr: '127.0.0.1:0', logger: log });
    const mainPort = Number((await server.listen()).split(':').pop());
    server.setRuntime({ isReady: () => true, reload: async () => ({ ok: true, message: '' }), components: () => [], registries: () => [], toJSON: (v) => v, encodeBody: () => [] });
    const sink = new Collect();
    const opts = { ...options(), getService: <T>() => server as unknown as T };
    const c = await LokiSourceApiComponent.create(opts, argumentsSchema.parse({ http: { listen_address: '127.0.0.1', listen_port: mainPort }, forward_to: [sink] }));
    const ac = new AbortController();
    const running = c.run(ac.signal);
    try {
      expect(c.listener).toBe('main-server');
      expect(c.debugInfo()).toStrictEqual({ listener: 'main-server', address: `127.0.0.1:${mainPort}` });
      const push = (port: number, path = '/loki/api/v1/push'): Promise<Response> =>
        fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams: [{ stream: { job: 'a' }, values: [['1', 'line']] }] }) });
      expect((await push(mainPort)).status).toBe(204);
      expect((await push(mainPort, '/api/v1/push')).status).toBe(204);
      expect(sink.got).toHaveLength(2);

      await c.update(argumentsSchema.parse({ http: { listen_address: '127.0.0.1', listen_port: 0 }, forward_to: [sink] }));
      expect(c.listener).toBe('own');
      expect((await push(c.address!.port)).status).toBe(204);
      expect((await push(mainPort)).status).toBe(404);

      await c.update(argumentsSchema.parse({ http: { listen_address: '', listen_port: mainPort }, forward_to: [sink] }));
      expect(c.listener).toBe('main-server');
      server.beginShutdown();
      ac.abort();
      await running;
      const gone = await push(mainPort);
      expect(gone.status).toBe(503);
      expect(gone.headers.get('retry-after')).toBe('1');
    } finally {
      ac.abort();
      await running;
      await server.close();
    }
  });
});
