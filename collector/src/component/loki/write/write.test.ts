import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../runtime/component.js';
import { parseStreamLabels } from '../../../loki/labels.js';
import { LokiSink } from '../../../loki/loki.test-support.js';
import type { LogEntry } from '../../../loki/types.js';
import { parseByteSize } from '../../../loki/bytes.js';
import { argumentsSchema } from './arguments.js';
import { LokiWriteComponent, type Exports } from './write.js';

const log = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });

function options(registry = new Registry()): { opts: ComponentOptions<Exports>; exports: () => Exports } {
  let ex: Exports | undefined;
  const opts: ComponentOptions<Exports> = {
    id: 'loki.write.test',
    logger: log,
    registry,
    dataPath: '/nonexistent',
    onStateChange: (e) => (ex = e),
    setHealth: () => undefined,
    getService: () => {
      throw new Error('no services');
    },
  };
  return { opts, exports: () => ex! };
}

const app = parseStreamLabels('{job="app"}');
const entry = (line: string, labels = app, ms = 1_700_000_000_000): LogEntry => ({ labels, line, timestampMs: ms, timestampNanos: 0 });

async function metric(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values ?? []) as { labels: Record<string, string | number>; value: number }[];
  return v.filter((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val)).reduce((s, x) => s + x.value, 0);
}

describe('loki.write', () => {
  let sink: LokiSink;
  const stops: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    sink = new LokiSink();
    await sink.start();
  });
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await sink.stop();
  });

  async function start(cfg: Record<string, unknown>, registry = new Registry()): Promise<{ c: LokiWriteComponent; exports: Exports; registry: Registry }> {
    const args = argumentsSchema.parse(cfg);
    const { opts, exports } = options(registry);
    const c = await LokiWriteComponent.create(opts, args);
    const ac = new AbortController();
    const running = c.run(ac.signal);
    stops.push(async () => {
      ac.abort();
      await running;
    });
    return { c, exports: exports(), registry };
  }

  it('applies Alloy defaults and parses sizes', () => {
    const a = argumentsSchema.parse({ endpoint: [{ url: 'http://x/loki/api/v1/push' }] });
    expect(a.endpoint[0]).toMatchObject({ batch_wait: 1000, batch_size: 1048576, remote_timeout: 10000, min_backoff_period: 500, max_backoff_period: 300000, max_backoff_retries: 10, retry_on_http_429: true });
    expect(parseByteSize('512KiB')).toBe(524288);
    expect(() => argumentsSchema.parse({ endpoint: [{ url: 'http://x', batch_size: 'lots' }] })).toThrow(/invalid size \\"lots\\"/);
  });

  it('pushes snappy protobuf with external labels, tenant header, streams in order', async () => {
    const { exports } = await start({ endpoint: [{ url: sink.url, batch_wait: '50ms', tenant_id: 'team-a' }], external_labels: { cluster: 'c1', job: 'overridden' } });
    const other = parseStreamLabels('{job="db", __tenant_id__="team-b"}');
    await exports.receiver.append([entry('a1'), entry('b1', other), entry('a2')]);
    await exports.receiver.append([entry('a3')]);
    await sink.until(4);
    const a = sink.entries.filter((e) => e.stream === '{cluster="c1", job="app"}');
    expect(a.map((e) => e.line)).toStrictEqual(['a1', 'a2', 'a3']);
    expect(a[0]!.headers['x-scope-orgid']).toBe('team-a');
    const b = sink.entries.filter((e) => e.stream === '{cluster="c1", job="db"}');
    expect(b.map((e) => e.line)).toStrictEqual(['b1']);
    expect(b[0]!.headers['x-scope-orgid']).toBe('team-b');
    expect(a[0]!.entry.timestampMs).toBe(1_700_000_000_000);
  });

  it('seals a batch at batch_size', async () => {
    const { exports } = await start({ endpoint: [{ url: sink.url, batch_wait: '10s', batch_size: '10B' }] });
    await exports.receiver.append([entry('12345'), entry('67890'), entry('abcde')]);
    await sink.until(2, 3000);
    expect(sink.lines()).toStrictEqual(['12345', '67890']);
    expect(sink.requests).toBe(1);
  });

  it('retries 5xx and 429 with backoff, then delivers', async () => {
    sink.statuses.push(500, 429, 503);
    const { exports, registry } = await start({ endpoint: [{ url: sink.url, batch_wait: '10ms', min_backoff_period: '10ms', max_backoff_period: '20ms' }] });
    await exports.receiver.append([entry('x')]);
    await sink.until(1);
    // The sink records the entry before it answers; the sender counts it once the answer is in.
    for (let i = 0; i < 200 && (await metric(registry, 'loki_write_sent_entries_total')) < 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sink.requests).toBe(4);
    expect(await metric(registry, 'loki_write_batch_retries_total')).toBe(3);
    // The sink records the entry before it answers; the counter moves when the answer arrives.
    const end = Date.now() + 5000;
    while ((await metric(registry, 'loki_write_sent_entries_total')) < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(await metric(registry, 'loki_write_sent_entries_total')).toBe(1);
  });

  it('drops 4xx batches and counts them; gives up after max_backoff_retries', async () => {
    sink.statuses.push(400, 500, 500);
    const { exports, registry } = await start({ endpoint: [{ url: sink.url, batch_wait: '10ms', min_backoff_period: '1ms', max_backoff_period: '2ms', max_backoff_retries: 1 }] });
    await exports.receiver.append([entry('bad')]);
    for (let i = 0; i < 200 && (await metric(registry, 'loki_write_dropped_entries_total')) < 1; i++) await new Promise((r) => setTimeout(r, 10));
    await exports.receiver.append([entry('flaky')]);
    for (let i = 0; i < 200 && (await metric(registry, 'loki_write_dropped_entries_total')) < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await metric(registry, 'loki_write_dropped_entries_total', { reason: 'ingester_error' })).toBe(2);
    await exports.receiver.append([entry('good')]);
    await sink.until(1);
    expect(sink.lines()).toStrictEqual(['good']);
  });

  it('flushes buffered entries on shutdown and then rejects appends', async () => {
    const args = argumentsSchema.parse({ endpoint: [{ url: sink.url, batch_wait: '1h' }] });
    const { opts, exports } = options();
    const c = await LokiWriteComponent.create(opts, args);
    const ac = new AbortController();
    const running = c.run(ac.signal);
    await exports().receiver.append([entry('pending')]);
    expect(sink.entries).toHaveLength(0);
    ac.abort();
    await running;
    expect(sink.lines()).toStrictEqual(['pending']);
    await expect(exports().receiver.append([entry('late')])).rejects.toThrow(/shut down/);
  });

  it('applies backpressure when the buffer is full while the endpoint is down', async () => {
    sink.down = true;
    const { exports } = await start({ endpoint: [{ url: sink.url, batch_wait: '10ms', min_backoff_period: '20ms', max_backoff_period: '20ms', queue_config: { capacity: '10B' } }] });
    await exports.receiver.append([entry('0123456789')]);
    let accepted = false;
    const second = exports.receiver.append([entry('second')]).then(() => (accepted = true));
    // Window, not synchronisation: proves the append stays blocked while the buffer is full.
    await new Promise((r) => setTimeout(r, 100));
    expect(accepted).toBe(false);
    sink.down = false;
    await second;
    await sink.until(2);
    expect(sink.lines()).toStrictEqual(['0123456789', 'second']);
  });

  it('update moves to a new endpoint after draining the old one; max_streams drops extra streams', async () => {
    const { c, exports, registry } = await start({ endpoint: [{ url: sink.url, batch_wait: '1h' }] });
    await exports.receiver.append([entry('before update')]);
    const second = new LokiSink();
    await second.start();
    try {
      c.update(argumentsSchema.parse({ endpoint: [{ url: second.url, batch_wait: '10ms' }], max_streams: 1 }));
      await sink.until(1);
      expect(sink.lines()).toStrictEqual(['before update']);
      await exports.receiver.append([entry('s1'), entry('s2', parseStreamLabels('{job="other"}'))]);
      await second.until(1);
      expect(second.lines()).toStrictEqual(['s1']);
      expect(await metric(registry, 'loki_write_dropped_entries_total', { reason: 'stream_limited' })).toBe(1);
    } finally {
      await second.stop();
    }
  });
});
