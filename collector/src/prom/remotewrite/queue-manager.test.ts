import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { Registry } from 'prom-client';
import { compileRules } from '../relabel/relabel.js';
import { relabelRuleSchema } from '../relabel/schema.js';
import { uncompress } from '../snappy/snappy.js';
import type { Exemplar, Labels, SampleBatch } from '../types.js';
import { Wal } from '../wal/wal.js';
import { RemoteWriteClient, type Sender } from './client.js';
import { RemoteWriteMetrics } from './metrics.js';
import { WriteRequestDecoder } from './proto.js';
import { DEFAULT_QUEUE_CONFIG, desiredShards, QueueManager, type Clock, type QueueConfig } from './queue-manager.js';
import { eventually } from '../../clock/eventually.test-support.js';

const log = winston.createLogger({ level: 'error', transports: [new winston.transports.Console({ silent: true })] });

const L = (o: Record<string, string>): Labels =>
  Object.keys(o)
    .sort()
    .map((name) => ({ name, value: o[name]! }));
const key = (ls: Labels): string => ls.map((l) => `${l.name}=${l.value}`).join(',');

interface Got {
  key: string;
  t: number;
  v: number;
}

/** A remote-write backend on loopback whose answers the test scripts. */
class Backend {
  readonly got: Got[] = [];
  readonly exemplars: { key: string; ex: Exemplar }[] = [];
  readonly headers: IncomingHttpHeaders[] = [];
  answer: (n: number) => { status: number; headers?: Record<string, string> } = () => ({ status: 204 });
  #n = 0;
  #srv: Server | undefined;
  port = 0;
  readonly #dec = new WriteRequestDecoder();
  #waiters: { n: number; resolve: () => void }[] = [];

  async start(port = 0): Promise<void> {
    this.#srv = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const a = this.answer(this.#n++);
        if (a.status === 204) {
          this.headers.push(req.headers);
          const r = this.#dec.decode(uncompress(Buffer.concat(chunks)));
          for (let i = 0; i < r.length; i++) this.got.push({ key: key(r.series[i]!), t: r.timestamps[i]!, v: r.values[i]! });
          for (const [i, ex] of r.exemplars ?? []) this.exemplars.push({ key: key(r.series[i]!), ex });
          for (const w of this.#waiters) if (this.got.length >= w.n) w.resolve();
        }
        res.writeHead(a.status, a.headers).end(a.status === 204 ? undefined : 'nope');
      });
    });
    await new Promise<void>((r) => this.#srv!.listen(port, '127.0.0.1', r));
    const addr = this.#srv.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }

  waitFor(n: number): Promise<void> {
    if (this.got.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  get requests(): number {
    return this.#n;
  }

  async stop(): Promise<void> {
    this.#srv?.closeAllConnections();
    await new Promise<void>((r) => this.#srv?.close(() => r()) ?? r());
  }
}

/** Virtual clock: sleeps resolve on the next turn and are recorded. */
class FakeClock implements Clock {
  t = 1_700_000_000_000;
  readonly sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
    return new Promise((r) => setImmediate(r));
  }
}

function batch(series: Labels[], t0: number, v0 = 0): SampleBatch {
  const n = series.length;
  const timestamps = new Float64Array(n).map((_, i) => t0 + i);
  const values = new Float64Array(n).map((_, i) => v0 + i);
  return { series, timestamps, values, length: n };
}

describe('QueueManager', () => {
  let dir: string;
  let backend: Backend;
  let reg: Registry;
  let metrics: RemoteWriteMetrics;
  const queues: QueueManager[] = [];
  const wals: Wal[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qm-'));
    backend = new Backend();
    await backend.start();
    reg = new Registry();
    metrics = new RemoteWriteMetrics(reg);
  });
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.stop();
    for (const w of wals.splice(0)) await w.close();
    await backend.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function setup(
    queue: Partial<QueueConfig> = {},
    extra: { clock?: Clock; ext?: Labels; rules?: unknown[]; port?: number; sender?: Sender; before?: (wal: Wal) => Promise<void>; shardUpdateIntervalMs?: number } = {},
  ): Promise<{ wal: Wal; q: QueueManager }> {
    const wal = await Wal.open({ dir, logger: log, segmentSize: 4096 });
    wals.push(wal);
    await extra.before?.(wal);
    const cfg: QueueConfig = { ...DEFAULT_QUEUE_CONFIG, batchSendDeadlineMs: 5, ...queue };
    const url = `http://127.0.0.1:${extra.port ?? backend.port}/api/v1/push`;
    const q = new QueueManager({
      name: 'test',
      url,
      markerName: 'test',
      wal,
      queue: cfg,
      sender: extra.sender ?? new RemoteWriteClient({ url, timeoutMs: 5000, retryOn429: cfg.retryOnHttp429, headers: { 'X-Scope-OrgID': 'tenant-1' } }),
      externalLabels: extra.ext ?? [],
      writeRelabel: compileRules((extra.rules ?? []).map((r) => relabelRuleSchema.parse(r))),
      sendExemplars: true,
      logger: log,
      metrics,
      ...(extra.clock ? { clock: extra.clock } : {}),
      ...(extra.shardUpdateIntervalMs ? { shardUpdateIntervalMs: extra.shardUpdateIntervalMs } : {}),
    });
    queues.push(q);
    await q.start();
    return { wal, q };
  }

  it('delivers every sample in per-series order with the remote-write headers', async () => {
    const { wal } = await setup({ maxShards: 4, minShards: 4, maxSamplesPerSend: 7 });
    const series = Array.from({ length: 10 }, (_, i) => L({ __name__: 'm', i: String(i) }));
    for (let round = 0; round < 20; round++) await wal.append(batch(series, 1000 * round, round));
    await backend.waitFor(200);
    expect(backend.got).toHaveLength(200);
    for (const s of series) {
      const ts = backend.got.filter((g) => g.key === key(s)).map((g) => g.t);
      expect(ts).toStrictEqual([...ts].sort((a, b) => a - b));
      expect(ts).toHaveLength(20);
    }
    const h = backend.headers[0]!;
    expect(h['content-encoding']).toBe('snappy');
    expect(h['content-type']).toBe('application/x-protobuf');
    expect(h['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(h['user-agent']).toMatch(/^Alloy\//);
    expect(h['x-scope-orgid']).toBe('tenant-1');
    // The backend has the samples a moment before the sender has read the 204.
    let text = '';
    for (let i = 0; i < 100 && !/prometheus_remote_storage_samples_total\{[^}]*\} 200\n/.test(text); i++) {
      await new Promise((r) => setTimeout(r, 10));
      text = await reg.metrics();
    }
    expect(text).toContain('prometheus_remote_storage_samples_total{remote_name="test",url="http://127.0.0.1:');
    expect(text).toMatch(/prometheus_remote_storage_samples_total\{[^}]*\} 200\n/);
    expect(text).toMatch(/prometheus_remote_storage_shards\{[^}]*\} 4/);
  });

  it('retries 5xx with doubling backoff capped at max_backoff and honours Retry-After', async () => {
    const clock = new FakeClock();
    backend.answer = (n) =>
      n < 5 ? { status: 503, ...(n === 3 ? { headers: { 'retry-after': '7' } } : {}) } : { status: 204 };
    const { wal } = await setup({ minBackoffMs: 30, maxBackoffMs: 100, batchSendDeadlineMs: 0 }, { clock });
    await wal.append(batch([L({ __name__: 'x' })], 5));
    await backend.waitFor(1);
    const backoffs = clock.sleeps.filter((s) => s !== 0);
    expect(backoffs).toStrictEqual([30, 60, 100, 7000, 100]);
    expect(backend.got).toStrictEqual([{ key: '__name__=x', t: 5, v: 0 }]);
    expect(await reg.metrics()).toMatch(/prometheus_remote_storage_samples_retried_total\{[^}]*\} 5/);
  });

  it('drops a batch on 4xx (and on 429 when retry_on_http_429 is false), counting it failed', async () => {
    backend.answer = (n) => (n === 0 ? { status: 400 } : n === 1 ? { status: 429 } : { status: 204 });
    const { wal } = await setup({ retryOnHttp429: false, maxSamplesPerSend: 1 });
    await wal.append(batch([L({ __name__: 'a' })], 1));
    await wal.append(batch([L({ __name__: 'b' })], 2));
    await wal.append(batch([L({ __name__: 'c' })], 3));
    await backend.waitFor(1);
    expect(backend.got.map((g) => g.key)).toStrictEqual(['__name__=c']);
    expect(await reg.metrics()).toMatch(/prometheus_remote_storage_samples_failed_total\{[^}]*\} 2/);
  });

  it('keeps accepting while the backend is down and delivers everything from the WAL after', async () => {
    const port = backend.port;
    await backend.stop();
    const { wal, q } = await setup({ capacity: 10, maxSamplesPerSend: 5, minBackoffMs: 5, maxBackoffMs: 20 }, { port });
    const series = Array.from({ length: 5 }, (_, i) => L({ __name__: 'down', i: String(i) }));
    for (let r = 0; r < 100; r++) await wal.append(batch(series, r * 100));
    // In-memory budget is 10 samples: the rest waits in the WAL, not in memory, and nothing is dropped.
    expect(q.status().pendingSamples).toBeLessThanOrEqual(10);
    expect(q.status().mode).toBe('lagging');
    backend = new Backend();
    await backend.start(port);
    await backend.waitFor(500);
    expect(backend.got).toHaveLength(500);
    expect(new Set(backend.got.map((g) => `${g.key}@${g.t}`)).size).toBe(500);
    for (let r = 100; r < 110; r++) await wal.append(batch(series, r * 100));
    await backend.waitFor(550);
    expect(q.status().mode).toBe('live');
  });

  it('never stalls while flipping between live and WAL read-back under a tiny budget', async () => {
    const { wal, q } = await setup({ capacity: 4, maxSamplesPerSend: 3, minShards: 2, maxShards: 2 });
    const series = Array.from({ length: 7 }, (_, i) => L({ __name__: 'flip', i: String(i) }));
    let total = 0;
    for (let round = 0; round < 40; round++) {
      const group: Promise<void>[] = [];
      for (let k = 0; k < 5; k++) {
        const n = 1 + ((round * 5 + k) % 7);
        group.push(wal.append(batch(series.slice(0, n), (round * 5 + k) * 10)));
        total += n;
      }
      await Promise.all(group);
    }
    await backend.waitFor(total);
    expect(new Set(backend.got.map((g) => `${g.key}@${g.t}`)).size).toBe(total);
    await eventually(() => q.status().mode === 'live', 5_000, 'the queue back in live mode');
  });

  it('resumes from its marker after a restart, resending only what was not acknowledged', async () => {
    const first = await setup({ maxSamplesPerSend: 2 });
    await first.wal.append(batch([L({ __name__: 'a' }), L({ __name__: 'b' })], 1));
    await backend.waitFor(2);
    backend.answer = () => ({ status: 500 });
    const refusedFrom = backend.requests;
    await first.wal.append(batch([L({ __name__: 'a' }), L({ __name__: 'b' })], 10));
    await eventually(() => backend.requests > refusedFrom, 5_000, 'the refused send of the second batch');
    await first.q.stop();
    await first.wal.close();
    queues.length = 0;
    wals.length = 0;
    backend.answer = () => ({ status: 204 });
    await setup({ maxSamplesPerSend: 2 });
    await backend.waitFor(4);
    expect(backend.got.map((g) => `${g.key}@${g.t}`)).toStrictEqual(['__name__=a@1', '__name__=b@2', '__name__=a@10', '__name__=b@11']);
  });

  it('applies external labels (without overriding) and then write_relabel_config', async () => {
    const { wal } = await setup(
      {},
      {
        ext: L({ cluster: 'eu', job: 'ext' }),
        rules: [
          { action: 'drop', source_labels: ['__name__'], regex: 'secret_.*' },
          { action: 'replace', source_labels: ['cluster'], target_label: 'region', replacement: 'r-$1' },
        ],
      },
    );
    await wal.append(batch([L({ __name__: 'up', job: 'node' }), L({ __name__: 'secret_x' }), L({ __name__: 'ok' })], 1));
    await backend.waitFor(2);
    // Window, not synchronisation: proves the dropped series does not arrive after the kept ones.
    await new Promise((r) => setTimeout(r, 30));
    expect(backend.got.map((g) => g.key).sort()).toStrictEqual([
      '__name__=ok,cluster=eu,job=ext,region=r-eu',
      '__name__=up,cluster=eu,job=node,region=r-eu',
    ]);
    expect(await reg.metrics()).toMatch(/prometheus_remote_storage_samples_dropped_total\{[^}]*reason="dropped_series"\} 1/);
  });

  it('carries exemplars from the append through the WAL to the endpoint', async () => {
    const { wal } = await setup({ batchSendDeadlineMs: 0 });
    const ex: Exemplar = { labels: L({ trace_id: 'abc123' }), value: 0.42, timestamp: 1500 };
    await wal.append({ ...batch([L({ __name__: 'lat_bucket', le: '0.5' }), L({ __name__: 'other' })], 1500), exemplars: new Map([[0, ex]]) });
    await backend.waitFor(2);
    // Window, not synchronisation: proves no second exemplar follows.
    await new Promise((r) => setTimeout(r, 20));
    expect(backend.exemplars).toStrictEqual([{ key: '__name__=lat_bucket,le=0.5', ex }]);
  });

  it('drops samples older than sample_age_limit instead of sending them', async () => {
    const clock = new FakeClock();
    const { wal } = await setup({ sampleAgeLimitMs: 60_000, batchSendDeadlineMs: 0 }, { clock });
    await wal.append(batch([L({ __name__: 'old' }), L({ __name__: 'new' })], 0));
    await wal.append(batch([L({ __name__: 'new' })], clock.now()));
    await backend.waitFor(1);
    // Window, not synchronisation: proves the sample past sample_age_limit is not sent late.
    await new Promise((r) => setTimeout(r, 30));
    expect(backend.got.map((g) => g.key)).toStrictEqual(['__name__=new']);
  });

  it('reshards by draining first, keeping every sample', async () => {
    const { wal, q } = await setup({ minShards: 1, maxShards: 8, maxSamplesPerSend: 3 });
    const series = Array.from({ length: 6 }, (_, i) => L({ __name__: 'r', i: String(i) }));
    await wal.append(batch(series, 0));
    const resharded = q.reshard(4);
    await wal.append(batch(series, 100));
    await resharded;
    expect(q.status().shards).toBe(4);
    await wal.append(batch(series, 200));
    await backend.waitFor(18);
    expect(backend.got).toHaveLength(18);
  });

  it('starts with enough shards for the WAL backlog it finds', async () => {
    const series = Array.from({ length: 100 }, (_, i) => L({ __name__: 'b', i: String(i) }));
    const { q } = await setup(
      { minShards: 1, maxShards: 8, capacity: 500 },
      {
        before: async (wal) => {
          await wal.openMarker('test');
          for (let r = 0; r < 40; r++) await wal.append(batch(series, r * 1000));
        },
      },
    );
    // ~4,000 samples behind with capacity 500: 8 shards (the maximum) from the start.
    expect(q.status().shards).toBe(8);
    await backend.waitFor(4000);
    expect(backend.got).toHaveLength(4000);
  });

  it('grows to enough shards as soon as one append does not fit the queues, without waiting for the rate update', async () => {
    const { wal, q } = await setup({ minShards: 1, maxShards: 16, capacity: 100, maxSamplesPerSend: 50 }, { shardUpdateIntervalMs: 3_600_000 });
    const series = Array.from({ length: 1000 }, (_, i) => L({ __name__: 'g', i: String(i) }));
    await wal.append(batch(series, 0));
    await backend.waitFor(1000);
    // The periodic update is an hour away: only the append itself can have grown the count.
    expect(q.status().shards).toBe(10);
    for (const s of series.slice(0, 5)) expect(backend.got.filter((g) => g.key === key(s))).toHaveLength(1);
  });

  it('sends the append that grew an idle queue live, without reading it back from the WAL', async () => {
    const { wal, q } = await setup({ minShards: 1, maxShards: 16, capacity: 100, maxSamplesPerSend: 50 }, { shardUpdateIntervalMs: 3_600_000 });
    let reads = 0;
    const read = wal.read.bind(wal);
    wal.read = (from, max) => {
      reads++;
      return read(from, max);
    };
    const series = Array.from({ length: 1000 }, (_, i) => L({ __name__: 'live', i: String(i) }));
    await wal.append(batch(series, 0));
    expect(q.status()).toMatchObject({ shards: 10, mode: 'live' });
    await backend.waitFor(1000);
    expect(reads).toBe(0);
    // A queue with samples in flight still drains before it grows (and reads the rest back).
    await wal.append(batch(series.slice(0, 100), 1000));
    await wal.append(batch(series, 2000));
    await backend.waitFor(2100);
    expect(backend.got).toHaveLength(2100);
  });

  it('keeps abort listeners per signal bounded when many shards send at once (no MaxListenersExceededWarning)', async () => {
    const shards = 30;
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    let inFlight = 0;
    let maxInFlight = 0;
    let maxListeners = 0;
    let release: () => void = () => undefined;
    const allIn = new Promise<void>((r) => (release = r));
    // Behaves like the HTTP client: one abort listener on the given signal while a send is in flight.
    const sender: Sender = {
      async send(_body, signal) {
        const onAbort = (): void => undefined;
        signal.addEventListener('abort', onAbort, { once: true });
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        maxListeners = Math.max(maxListeners, getEventListeners(signal, 'abort').length);
        if (inFlight >= shards) release();
        await Promise.race([allIn, new Promise((r) => setTimeout(r, 2000))]);
        inFlight--;
        signal.removeEventListener('abort', onAbort);
        return { kind: 'ok', status: 204 };
      },
      close: () => undefined,
    };
    try {
      const { wal } = await setup({ minShards: shards, maxShards: shards, maxSamplesPerSend: 1, batchSendDeadlineMs: 0 }, { sender });
      const series = Array.from({ length: shards * 3 }, (_, i) => L({ __name__: 'l', i: String(i) }));
      await wal.append(batch(series, 0));
      await allIn;
      // Let Node report listener overflows (emitted on the next tick).
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(maxInFlight).toBe(shards);
    expect(maxListeners).toBeLessThanOrEqual(2);
    expect(warnings.filter((w) => w.includes('MaxListenersExceeded'))).toStrictEqual([]);
  });
});

describe('desiredShards', () => {
  const base = { current: 4, min: 1, max: 50, samplesInRate: 1000, samplesOutRate: 1000, sendSecondsRate: 1, pendingSamples: 0, largestAppend: 0 };
  it('keeps the count within ±30%', () => {
    expect(desiredShards({ ...base, sendSecondsRate: 4.5 })).toBe(4);
  });
  it('grows with send time and backlog, clamped to max', () => {
    expect(desiredShards({ ...base, sendSecondsRate: 10 })).toBe(10);
    // 10 ms per sample × (1000/s in + 20% of a 10,000-sample backlog per second).
    expect(desiredShards({ ...base, sendSecondsRate: 10, pendingSamples: 10000 })).toBe(30);
    expect(desiredShards({ ...base, sendSecondsRate: 1000 })).toBe(50);
  });
  it('has enough shards to send the largest recent append within half a second', () => {
    // 1 ms per sample: a 5,000-sample scrape is 5 s of sending, 10 shards send it in 0.5 s,
    // where the average rate (1,000/s) alone would want 1.
    expect(desiredShards({ ...base, current: 1, largestAppend: 5000 })).toBe(10);
    expect(desiredShards({ ...base, current: 1, largestAppend: 500_000 })).toBe(50);
    // A burst that the current shards already send in time changes nothing.
    expect(desiredShards({ ...base, current: 10, largestAppend: 4000 })).toBe(10);
  });
  it('shrinks to min when idle, and holds when nothing was sent', () => {
    expect(desiredShards({ ...base, samplesInRate: 1, sendSecondsRate: 0.01 })).toBe(1);
    expect(desiredShards({ ...base, samplesOutRate: 0 })).toBe(4);
  });
});
