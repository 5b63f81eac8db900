// prometheus.receive_http with its bodies decoded in worker threads (the compiled
// `decode-worker.js` of dist/): the pool decodes exactly what the main-thread decoder decodes, and
// a collector run with `--prometheus.receive-http.decode-workers=2` behind concurrent senders
// delivers every acknowledged sample once, in order per series; with its backend down, a SIGKILL
// after the acks loses nothing (a 204 still means "in the WAL"), nor does one while requests are
// being acknowledged and delivered.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { encodeLabels, WriteRequestDecoder, WriteRequestEncoder } from '../../collector/src/prom/remotewrite/proto.js';
import { compress, uncompress } from '../../collector/src/prom/snappy/snappy.js';
import { DecodePool, type DecodeOutcome } from '../../collector/src/component/prometheus/receive_http/decode-pool.js';
import { CompressPool } from '../../collector/src/prom/snappy/compress-pool.js';
import { plainOfBody, type AlloyJSONStatement } from '../../collector/src/syntax/index.js';
import { freePort, Sink, startAlloy, stopAll, until, type AlloyProc } from './harness.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const WORKER = new URL(`file://${root}/dist/collector/src/component/prometheus/receive_http/decode-worker.js`);
const COMPRESS_WORKER = new URL(`file://${root}/dist/collector/src/prom/snappy/compress-worker.js`);

function post(agent: http.Agent, port: number, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/metrics/write',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/** Sender `w`'s request `k`: its 50 series (labels changing every 7th request for churn), one sample each at base + k. */
function request(w: number, k: number, base: number, invalid = false): Buffer {
  const enc = new WriteRequestEncoder();
  for (let s = 0; s < 50; s++) {
    const labels = [
      { name: '__name__', value: 'workers_test' },
      { name: 'gen', value: String(Math.floor(k / 7) % 3) },
      { name: 'sender', value: String(w) },
      { name: 'series', value: String(s) },
    ];
    enc.addSample(encodeLabels(labels), base + k, k * 100 + s);
  }
  if (invalid) enc.addSample(encodeLabels([{ name: '0bad', value: 'x' }]), base + k, 1);
  return compress(enc.finish());
}

/**
 * Sender `w` posts its requests `from`, `from + 1`, … one at a time like a remote_write shard (the
 * next only after this one got a 204; anything else is retried) until `to` or until `stop()`;
 * `acked` collects the request numbers that got a 204.
 */
async function sendAll(port: number, w: number, from: number, to: number, base: number, acked: number[], stop = (): boolean => false): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let k = from; k < to && !stop(); ) {
      const status = await post(agent, port, request(w, k, base));
      if (status === 204) acked.push(k++);
      else await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    agent.destroy();
  }
}

/** Acknowledged samples (`acks[w]` = request numbers of sender `w` that got a 204) not at the sink. */
function missingAcked(sink: Sink, acks: readonly (readonly number[])[], base: number): string[] {
  const out: string[] = [];
  acks.forEach((ks, w) => {
    for (const k of ks) {
      for (let s = 0; s < 50; s++) {
        const got = sink.samples.get(`__name__=workers_test,gen=${Math.floor(k / 7) % 3},sender=${w},series=${s},via=proxy`)?.get(base + k);
        if (got !== k * 100 + s) out.push(`sender=${w} request=${k} series=${s}`);
      }
    }
  });
  return out;
}

function describeMissing(sink: Sink, acks: readonly (readonly number[])[], base: number): string {
  const m = missingAcked(sink, acks, base);
  return `${m.length} missing (${m.slice(0, 3).join('; ')}), ${sink.distinct} distinct of ${sink.received} received`;
}

const config = (port: number, sinkPort: number): string => `prometheus.receive_http "ingest" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${port}
  }
  forward_to = [prometheus.relabel.tag.receiver]
}

prometheus.relabel "tag" {
  rule {
    target_label = "via"
    replacement  = "proxy"
  }
  forward_to = [prometheus.remote_write.out.receiver]
}

prometheus.remote_write "out" {
  endpoint {
    url = "http://127.0.0.1:${sinkPort}/api/v1/push"
    queue_config {
      batch_send_deadline = "100ms"
      min_backoff         = "20ms"
      max_backoff         = "200ms"
    }
  }
}
`;

const key = (outcome: DecodeOutcome): unknown => {
  if ('error' in outcome) return outcome.error;
  const r = outcome.request;
  return {
    series: r.series.map((l) => l.map((x) => `${x.name}=${x.value}`).join(',')),
    timestamps: [...r.timestamps],
    values: [...r.values],
    rejected: r.rejected,
    timeseries: outcome.timeseries,
  };
};

describe('prometheus.receive_http decode workers', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-rw-workers-'));
  });
  afterEach(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A sink, a free port for the receiver and the storage path of a collector with 2 decode workers. */
  const setup = async (): Promise<{ sink: Sink; port: number; storage: string; args: string[] }> => {
    const sink = new Sink();
    await sink.start();
    return { sink, port: await freePort(), storage: path.join(dir, 'data'), args: ['--prometheus.receive-http.decode-workers=2'] };
  };

  it('a pool of 2 workers decodes what the main thread decodes, in order per connection', async () => {
    const pool = new DecodePool({ workers: 2, maxDecodedBytes: 1 << 20, limitName: 'the limit', workerUrl: WORKER });
    expect(pool.workers).toBe(2);
    const inline = new WriteRequestDecoder({ validateSeries: true });
    try {
      const conns = [{}, {}, {}];
      const bodies: { conn: object; body: Buffer }[] = [];
      for (let k = 0; k < 30; k++) for (let w = 0; w < conns.length; w++) bodies.push({ conn: conns[w]!, body: request(w, k, 1_000_000, k % 5 === 0) });
      bodies.push({ conn: conns[0]!, body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]) });
      bodies.push({ conn: conns[1]!, body: compress(Buffer.alloc(2 << 20)) });
      const admitted: number[] = [];
      const finished: number[] = [];
      const outcomes = await Promise.all(
        bodies.map(async ({ conn, body }, i) => {
          const o = await pool.decode(Buffer.from(body), conn, (n) => admitted.push(n));
          finished.push(i);
          return o;
        }),
      );
      // Per connection, bodies come back in the order they were handed in.
      for (const conn of conns) {
        const mine = finished.filter((i) => bodies[i]!.conn === conn);
        expect(mine).toEqual([...mine].sort((x, y) => x - y));
      }
      for (let i = 0; i < bodies.length - 2; i++) {
        const raw = uncompress(bodies[i]!.body);
        const want = inline.decode(raw);
        expect(key(outcomes[i]!)).toEqual(
          key({ request: want, timeseries: want.length + (want.rejected?.series ?? 0), decodedBytes: raw.length }),
        );
      }
      expect(outcomes.at(-2)).toEqual({ error: { status: 400, message: expect.stringMatching(/^snappy decode error/) } });
      expect(outcomes.at(-1)).toEqual({ error: { status: 413, message: expect.stringContaining('the limit') } });
      expect(admitted).toHaveLength(bodies.length - 2);
      // Identity: the same series decoded by either worker is one Labels object.
      const a = outcomes[0]!;
      const b = outcomes[conns.length * 3]!; // same sender 0, same label generation
      if ('error' in a || 'error' in b) throw new Error('unexpected error');
      expect(b.request.series[0]).toBe(a.request.series[0]);
      // What `admit` throws refuses that body and leaves the pool usable.
      await expect(pool.decode(request(0, 99, 1), conns[0]!, () => { throw new Error('over budget'); })).rejects.toThrow('over budget');
      const after = await pool.decode(request(0, 100, 1), conns[0]!, () => undefined);
      expect('request' in after && after.request.length).toBe(50);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('the compression worker returns what compress() returns, and falls back to the calling thread once stopped', async () => {
    const pool = new CompressPool(1, COMPRESS_WORKER);
    expect(pool.offThread).toBe(true);
    const inputs = Array.from({ length: 20 }, (_, i) => uncompress(request(i % 3, i, 5_000)));
    const outs = await Promise.all(inputs.map((x) => pool.compress(x)));
    outs.forEach((o, i) => expect(Buffer.compare(o, compress(inputs[i]!))).toBe(0));
    await pool.close();
    expect(pool.offThread).toBe(false);
    expect(Buffer.compare(await pool.compress(inputs[1]!), compress(inputs[1]!))).toBe(0);
  }, 30_000);

  it('the compression worker has read its input when compress() returns: a reused buffer (the shared encoder) and a worker stopped mid-flight still give the first bytes', async () => {
    const pool = new CompressPool(1, COMPRESS_WORKER);
    const a = uncompress(request(0, 1, 5_000));
    const b = uncompress(request(1, 2, 5_000));
    const buf = Buffer.from(a);
    const first = pool.compress(buf);
    b.copy(buf, 0, 0, Math.min(b.length, buf.length));
    const closing = pool.close(); // whatever the worker had not answered is compressed here
    expect(Buffer.compare(await first, compress(a))).toBe(0);
    await closing;
  }, 30_000);

  it('collector with 2 decode workers: every acknowledged sample arrives once and in order per series, also across a SIGKILL', async () => {
    const { sink, port, storage, args } = await setup();
    let proxy: AlloyProc = await startAlloy(dir, 'proxy', config(port, sink.port), storage, [], args);
    const comp = (await (await fetch(`${proxy.base}/api/v0/web/components/prometheus.receive_http.ingest`)).json()) as { debugInfo?: AlloyJSONStatement[] };
    expect(plainOfBody(comp.debugInfo ?? []).decode_workers).toBe(2);
    const base = Date.now() - 600_000;
    const senders = 6;
    const perSender = 40;
    const acks: number[][] = Array.from({ length: senders }, () => []);
    await Promise.all(acks.map((a, w) => sendAll(port, w, 0, perSender / 2, base, a)));
    // The backend goes down: what is acknowledged now sits only in the WAL when the proxy dies.
    sink.status = 503;
    await Promise.all(acks.map((a, w) => sendAll(port, w, perSender / 2, perSender, base, a)));
    await proxy.kill9();
    proxy = await startAlloy(dir, 'proxy2', config(port, sink.port), storage, [], args);
    sink.status = 204;
    const total = senders * perSender * 50;
    expect(acks.map((a) => a.length)).toEqual(new Array(senders).fill(perSender));
    // Delivery is at least once: the restarted queue re-sends from its last persisted marker, so
    // the raw sample count overshoots before the backlog is through. Done means every
    // acknowledged (series, timestamp) pair is at the sink.
    await until(() => `all ${total} acknowledged samples at the sink; ${describeMissing(sink, acks, base)}`, () => missingAcked(sink, acks, base).length === 0, 30_000);
    let series = 0;
    for (const [k, samples] of sink.samples) {
      expect(k).toMatch(/^__name__=workers_test,gen=\d,sender=\d,series=\d+,via=proxy$/);
      const ts = [...samples.keys()];
      // First arrival order of the timestamps is ascending: nothing reordered within a series.
      expect(ts).toEqual([...ts].sort((x, y) => x - y));
      series++;
    }
    expect(missingAcked(sink, acks, base)).toEqual([]);
    expect(sink.distinct).toBe(total);
    expect(series).toBe(senders * 50 * 3);
    await sink.stop();
  }, 90_000);

  it('a SIGKILL while requests are being acknowledged and delivered loses none of the acknowledged samples', async () => {
    const { sink, port, storage, args } = await setup();
    let proxy: AlloyProc = await startAlloy(dir, 'proxy', config(port, sink.port), storage, [], args);
    const base = Date.now() - 600_000;
    const senders = 6;
    const acks: number[][] = Array.from({ length: senders }, () => []);
    let stopped = false;
    // Until the kill: group commits, deliveries and marker writes are all in flight when it lands.
    const send = (w: number): Promise<void> => sendAll(port, w, 0, 1000, base, acks[w]!, () => stopped);
    const sending = Promise.all(Array.from({ length: senders }, (_, w) => send(w)));
    await until('300 acknowledged requests', () => acks.reduce((n, a) => n + a.length, 0) >= 300, 60_000, 5);
    await proxy.kill9();
    stopped = true;
    await sending;
    const acked = acks.reduce((n, a) => n + a.length, 0) * 50;
    proxy = await startAlloy(dir, 'proxy2', config(port, sink.port), storage, [], args);
    await until(() => `all ${acked} acknowledged samples at the sink; ${describeMissing(sink, acks, base)}`, () => missingAcked(sink, acks, base).length === 0, 30_000);
    // Requests cut off by the kill may or may not have reached the WAL: at most one per sender.
    expect(sink.distinct).toBeLessThanOrEqual(acked + senders * 50);
    await sink.stop();
  }, 120_000);
});
