import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../runtime/component.js';
import type { Labels, SampleBatch } from '../../../prom/types.js';
import { uncompress } from '../../../prom/snappy/snappy.js';
import { WriteRequestDecoder } from '../../../prom/remotewrite/proto.js';
import { argumentsSchema, planEndpoints } from './arguments.js';
import { RemoteWriteComponent, type Exports } from './remote-write.js';

const log = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });

class Sink {
  readonly got: { key: string; t: number; v: number; headers: Record<string, unknown> }[] = [];
  status = 204;
  port = 0;
  #srv: Server | undefined;
  readonly #dec = new WriteRequestDecoder();
  async start(port = 0): Promise<void> {
    this.#srv = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.status === 204) {
          const r = this.#dec.decode(uncompress(Buffer.concat(chunks)));
          for (let i = 0; i < r.length; i++) {
            this.got.push({ key: r.series[i]!.map((l) => `${l.name}=${l.value}`).join(','), t: r.timestamps[i]!, v: r.values[i]!, headers: req.headers });
          }
        }
        res.writeHead(this.status).end();
      });
    });
    await new Promise<void>((r) => this.#srv!.listen(port, '127.0.0.1', r));
    const a = this.#srv.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }
  /** Waits for `n` distinct timestamps (delivery is at-least-once: a restart may resend). */
  async until(n: number): Promise<void> {
    for (let i = 0; i < 500 && this.times().length < n; i++) await new Promise((r) => setTimeout(r, 10));
  }
  times(): number[] {
    return [...new Set(this.got.map((g) => g.t))].sort((x, y) => x - y);
  }
  async stop(): Promise<void> {
    this.#srv?.closeAllConnections();
    await new Promise<void>((r) => this.#srv?.close(() => r()) ?? r());
  }
}

const L = (o: Record<string, string>): Labels =>
  Object.keys(o)
    .sort()
    .map((name) => ({ name, value: o[name]! }));
const batch = (series: Labels[], t: number): SampleBatch => ({
  series,
  timestamps: new Float64Array(series.length).fill(t),
  values: new Float64Array(series.length).map((_, i) => i),
  length: series.length,
});

describe('prometheus.remote_write', () => {
  let dir: string;
  let a: Sink;
  let b: Sink;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rwc-'));
    a = new Sink();
    b = new Sink();
    await a.start();
    await b.start();
  });
  afterEach(async () => {
    await a.stop();
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function opts(reg: Registry, exportsOut: Exports[]): ComponentOptions<Exports> {
    return {
      id: 'prometheus.remote_write.test',
      logger: log,
      registry: reg,
      dataPath: dir,
      onStateChange: (e) => void exportsOut.push(e),
      setHealth: () => undefined,
      getService: () => {
        throw new Error('none');
      },
    };
  }

  const args = (headers: Record<string, string> = {}) =>
    argumentsSchema.parse({
      external_labels: { cluster: 'c1' },
      endpoint: [
        { name: 'a', url: `http://127.0.0.1:${a.port}/api/v1/push`, headers, queue_config: { batch_send_deadline: '10ms' } },
        { name: 'b', url: `http://127.0.0.1:${b.port}/api/v1/push`, queue_config: { batch_send_deadline: '10ms' } },
      ],
    });

  it('applies Alloy defaults', () => {
    const p = argumentsSchema.parse({ endpoint: [{ url: 'http://x:9009/api/v1/push' }] });
    expect(p.wal).toStrictEqual({ truncate_frequency: 7_200_000, min_keepalive_time: 300_000, max_keepalive_time: 28_800_000 });
    const [plan] = planEndpoints(p);
    expect(plan!.queue).toStrictEqual({
      capacity: 10000, maxShards: 50, minShards: 1, maxSamplesPerSend: 2000, batchSendDeadlineMs: 5000,
      minBackoffMs: 30, maxBackoffMs: 5000, retryOnHttp429: true, sampleAgeLimitMs: 0,
    });
    expect(plan!.client.timeoutMs).toBe(30_000);
    expect(plan!.sendExemplars).toBe(true);
    expect(plan!.remoteName).toMatch(/^[0-9a-f]{6}$/);
  });

  it('rejects contradictory settings with messages naming the fix', () => {
    const bad = argumentsSchema.safeParse({
      endpoint: [{ url: 'http://x/api', bearer_token: 't', basic_auth: { username: 'u' }, queue_config: { min_shards: 5, max_shards: 2 } }],
      wal: { min_keepalive_time: '10h' },
    });
    expect(bad.success).toBe(false);
    const msgs = bad.error!.issues.map((i) => i.message).join('\n');
    expect(msgs).toMatch(/at most one of basic_auth, authorization, bearer_token/);
    expect(msgs).toMatch(/min_shards \(5\) must not be larger than max_shards \(2\)/);
    expect(msgs).toMatch(/min_keepalive_time must be smaller than max_keepalive_time/);
    expect(() => planEndpoints(argumentsSchema.parse({ endpoint: [{ url: 'http://x/a' }, { url: 'http://x/a' }] }))).toThrow(/configured twice/);
  });

  it('writes through the WAL to every endpoint, restarts only changed endpoints, and resumes after restart', async () => {
    const reg = new Registry();
    const ex: Exports[] = [];
    let comp = await RemoteWriteComponent.create(opts(reg, ex), args());
    let ctl = new AbortController();
    let run = comp.run(ctl.signal);
    try {
      const recv = ex[0]!.receiver;
      await recv.append(batch([L({ __name__: 'up', job: 'x' })], 1000));
      await a.until(1);
      await b.until(1);
      expect(a.got[0]!.key).toBe('__name__=up,cluster=c1,job=x');
      expect(b.times()).toStrictEqual([1000]);

      // Change only endpoint a's headers: a restarts with the header, b is left alone.
      const before = (comp.debugInfo() as { endpoints: { name: string }[] }).endpoints;
      await comp.update(args({ 'X-Scope-OrgID': 'team-a' }));
      await recv.append(batch([L({ __name__: 'up', job: 'x' })], 2000));
      await a.until(2);
      await b.until(2);
      expect(a.got.find((g) => g.t === 2000)!.headers['x-scope-orgid']).toBe('team-a');
      expect(b.times()).toStrictEqual([1000, 2000]);
      expect((comp.debugInfo() as { endpoints: unknown[] }).endpoints).toHaveLength(before.length);

      // Backend a goes down: appends still succeed (WAL), then the component stops.
      a.status = 503;
      await recv.append(batch([L({ __name__: 'up', job: 'x' })], 3000));
      await b.until(3);
      ctl.abort();
      await run;

      // A new component on the same data path replays the WAL and delivers what a missed.
      a.status = 204;
      const ex2: Exports[] = [];
      comp = await RemoteWriteComponent.create(opts(new Registry(), ex2), args({ 'X-Scope-OrgID': 'team-a' }));
      ctl = new AbortController();
      run = comp.run(ctl.signal);
      await a.until(3);
      expect(a.times()).toStrictEqual([1000, 2000, 3000]);
      expect(b.times()).toStrictEqual([1000, 2000, 3000]);
      expect(comp.currentHealth().state).toBe('healthy');
    } finally {
      ctl.abort();
      await run;
    }
  });
});
