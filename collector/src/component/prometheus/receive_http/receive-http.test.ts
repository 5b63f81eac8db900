import http from 'node:http';
import { Writable } from 'node:stream';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../runtime/component.js';
import type { MetricsReceiver, SampleBatch } from '../../../prom/types.js';
import { encodeLabels, WriteRequestEncoder } from '../../../prom/remotewrite/proto.js';
import { compress } from '../../../prom/snappy/snappy.js';
import { AlloyHttpServer } from '../../../server/http-server.js';
import { argumentsSchema, MAX_BODY_BYTES, planListener, ReceiveHttpComponent, type Exports } from './receive-http.js';

const log = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });

function options(reg: Registry): ComponentOptions<Exports> {
  return {
    id: 'prometheus.receive_http.test',
    logger: log,
    registry: reg,
    dataPath: '/nonexistent',
    onStateChange: () => undefined,
    setHealth: () => undefined,
    getService: () => {
      throw new Error('no services in this test');
    },
  };
}

function body(n: number): Buffer {
  const enc = new WriteRequestEncoder();
  for (let i = 0; i < n; i++) enc.addSample(encodeLabels([{ name: '__name__', value: 'm' }, { name: 'i', value: String(i) }]), 1000 + i, i);
  return compress(enc.finish());
}

interface Resp {
  status: number;
  text: string;
}

function post(port: number, payload: Buffer, headers: Record<string, string | number> = {}, path = '/api/v1/metrics/write'): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'content-length': payload.length, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('prometheus.receive_http', () => {
  let comp: ReceiveHttpComponent;
  let abort: AbortController;
  let running: Promise<void>;
  let reg: Registry;
  let appended: SampleBatch[];
  let gate: Promise<void>;
  let failNext: Error | undefined;
  let port: number;

  const receiver: MetricsReceiver = {
    append: async (b) => {
      await gate;
      if (failNext) {
        const e = failNext;
        failNext = undefined;
        throw e;
      }
      appended.push({ ...b, timestamps: b.timestamps.slice(), values: b.values.slice(), series: [...b.series] });
    },
  };

  beforeEach(async () => {
    reg = new Registry();
    appended = [];
    gate = Promise.resolve();
    failNext = undefined;
    const args = argumentsSchema.parse({ http: { listen_address: '127.0.0.1', listen_port: 0 }, forward_to: [receiver, receiver] });
    comp = await ReceiveHttpComponent.create(options(reg), args);
    abort = new AbortController();
    running = comp.run(abort.signal);
    port = comp.address!.port;
  });
  afterEach(async () => {
    abort.abort();
    await running;
  });

  it('answers 204 only after every forward_to receiver accepted the batch', async () => {
    let open: () => void = () => undefined;
    gate = new Promise((r) => (open = r));
    let answered = false;
    const p = post(port, body(3)).then((r) => {
      answered = true;
      return r;
    });
    // Window, not synchronisation: proves the push is not answered before the append completes.
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    open();
    const r = await p;
    expect(r.status).toBe(204);
    expect(appended).toHaveLength(2);
    expect(appended[0]!.length).toBe(3);
    expect(appended[0]!.series[2]).toStrictEqual([{ name: '__name__', value: 'm' }, { name: 'i', value: '2' }]);
    const text = await reg.metrics();
    expect(text).toContain('prometheus_receive_http_samples_received_total 3');
    // The decoders' series cache (process-wide pool): the 3 series are held, within the bound.
    const gauge = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    expect(gauge('prometheus_receive_http_series_cache_series')).toBeGreaterThanOrEqual(3);
    expect(gauge('prometheus_receive_http_series_cache_capacity_series')).toBeGreaterThanOrEqual(200_000);
    expect(gauge('prometheus_receive_http_series_cache_max_series')).toBeGreaterThanOrEqual(gauge('prometheus_receive_http_series_cache_capacity_series'));
  });

  it('rejects malformed bodies with 400 and the reason, leaving receivers untouched', async () => {
    const garbageSnappy = await post(port, Buffer.from([0x05, 0xff, 0xff, 0xff]));
    expect(garbageSnappy.status).toBe(400);
    expect(garbageSnappy.text).toMatch(/snappy/);
    const garbageProto = await post(port, compress(Buffer.from('not a protobuf message at all')));
    expect(garbageProto.status).toBe(400);
    expect(garbageProto.text).toMatch(/protobuf decode error/);
    expect(appended).toHaveLength(0);
    expect((await post(port, body(1))).status).toBe(204);
  });

  it('answers 415 for a wrong Content-Type, Content-Encoding or a remote-write 2.0 message', async () => {
    expect((await post(port, body(1), { 'content-type': 'application/json' })).status).toBe(415);
    expect((await post(port, body(1), { 'content-encoding': 'gzip' })).status).toBe(415);
    const v2 = await post(port, body(1), { 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' });
    expect(v2.status).toBe(415);
    expect(v2.text).toMatch(/remote-write 1.0/);
    expect((await post(port, body(1), { 'content-type': 'application/x-protobuf;proto=prometheus.WriteRequest' })).status).toBe(204);
  });

  it('forwards the valid series of a request and answers 400 naming the first invalid one; duplicates refuse the whole request', async () => {
    const enc = new WriteRequestEncoder();
    enc.addSample(encodeLabels([{ name: '__name__', value: 'good' }]), 1, 1);
    enc.addSample(encodeLabels([{ name: '__name__', value: 'bad' }, { name: '1x', value: 'v' }]), 1, 1);
    enc.addSample(encodeLabels([{ name: '__name__', value: 'good2' }]), 1, 1);
    const r = await post(port, compress(enc.finish()));
    expect(r.status).toBe(400);
    expect(r.text).toBe('invalid series {__name__="bad", 1x="v"}: label name "1x" is not valid (must match [a-zA-Z_][a-zA-Z0-9_]*); 1 series (1 samples) refused, 2 samples of valid series accepted\n');
    expect(appended.map((b) => b.series.map((l) => l[0]!.value))).toEqual([['good', 'good2'], ['good', 'good2']]);

    appended = [];
    const dup = new WriteRequestEncoder();
    dup.addSample(encodeLabels([{ name: '__name__', value: 'ok' }]), 1, 1);
    dup.addSample(encodeLabels([{ name: '__name__', value: 'dup' }, { name: 'a', value: '1' }, { name: 'a', value: '2' }]), 1, 1);
    const d = await post(port, compress(dup.finish()));
    expect(d.status).toBe(400);
    expect(d.text).toMatch(/^invalid series \{__name__="dup", a="1", a="2"\}: label name "a" is not unique; the whole request \(2 samples\) was refused/);
    expect(appended).toHaveLength(0);
  });

  it('answers 413 when the body or its decoded size is over the limit', async () => {
    // A snappy preamble announcing 1 GiB of decoded data.
    const bomb = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04, 0x00]);
    const r = await post(port, bomb);
    expect(r.status).toBe(413);
    const big = await post(port, Buffer.alloc(MAX_BODY_BYTES + 1));
    expect(big.status).toBe(413);
    expect(appended).toHaveLength(0);
  });

  it('answers 500 when a downstream append fails so the sender retries', async () => {
    failNext = new Error('disk full');
    const r = await post(port, body(2));
    expect(r.status).toBe(500);
    expect(r.text).toMatch(/disk full/);
  });

  it('answers 404 elsewhere and 405 for GET', async () => {
    expect((await post(port, body(1), {}, '/api/v1/write')).status).toBe(404);
    const get = await new Promise<number>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/api/v1/metrics/write' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
    });
    expect(get).toBe(405);
  });

  it('keeps its listener when only forward_to changes, and moves when http changes', async () => {
    const other: SampleBatch[] = [];
    await comp.update(argumentsSchema.parse({ http: { listen_address: '127.0.0.1', listen_port: 0 }, forward_to: [{ append: async (b: SampleBatch) => void other.push(b) }] }));
    expect(comp.address!.port).toBe(port);
    expect((await post(port, body(1))).status).toBe(204);
    expect(other).toHaveLength(1);
    await comp.update(argumentsSchema.parse({ http: { listen_address: '127.0.0.1', listen_port: 0, conn_limit: 10 }, forward_to: [] }));
    expect(comp.address!.port).not.toBe(port);
    expect((await post(comp.address!.port, body(1))).status).toBe(204);
  });
});

describe('prometheus.receive_http on the main HTTP server port', () => {
  let server: AlloyHttpServer;
  let mainPort: number;
  let appended: SampleBatch[];
  let health: { state: string; message: string };
  let warnings: string[];
  const receiver: MetricsReceiver = {
    append: async (b) => {
      if (b.series.some((s) => s.some((l) => l.value === 'fail'))) throw new Error('disk full');
      appended.push({ ...b, timestamps: b.timestamps.slice(), values: b.values.slice(), series: [...b.series] });
    },
  };
  const started: { abort: AbortController; running: Promise<void> }[] = [];

  function mainOptions(): ComponentOptions<Exports> {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb): void {
        warnings.push(chunk.toString());
        cb();
      },
    });
    const warnLog = winston.createLogger({ level: 'warn', transports: [new winston.transports.Stream({ stream: sink })] });
    return {
      ...options(new Registry()),
      logger: warnLog,
      setHealth: (state, message) => (health = { state, message }),
      getService: <T>() => server as unknown as T,
    };
  }

  async function start(httpBlock: Record<string, unknown>): Promise<ReceiveHttpComponent> {
    const c = await ReceiveHttpComponent.create(mainOptions(), argumentsSchema.parse({ http: httpBlock, forward_to: [receiver] }));
    const abort = new AbortController();
    started.push({ abort, running: c.run(abort.signal) });
    return c;
  }

  async function stopAllComponents(): Promise<void> {
    for (const s of started.splice(0)) {
      s.abort.abort();
      await s.running;
    }
  }

  beforeEach(async () => {
    appended = [];
    warnings = [];
    health = { state: 'unknown', message: '' };
    server = new AlloyHttpServer({ listenAddr: '127.0.0.1:0', logger: log });
    mainPort = Number((await server.listen()).split(':').pop());
    // A loaded collector: unserved paths are plain 404s (503 is for starting/stopping).
    server.setRuntime({ isReady: () => true, reload: async () => ({ ok: true, message: '' }), components: () => [], registries: () => [], toJSON: (v) => v, encodeBody: () => [] });
  });
  afterEach(async () => {
    await stopAllComponents();
    await server.close();
  });

  it('serves the docs config (0.0.0.0, the main port) from the main server, warning that it listens on loopback only', async () => {
    const c = await start({ listen_address: '0.0.0.0', listen_port: mainPort });
    expect(c.listener).toBe('main-server');
    const r = await post(mainPort, body(3));
    expect(r.status).toBe(204);
    expect(appended).toHaveLength(1);
    expect(appended[0]!.length).toBe(3);
    // Same semantics as the own listener: 400, 415, 413, 500, 405.
    expect((await post(mainPort, Buffer.from([0x05, 0xff, 0xff, 0xff]))).status).toBe(400);
    expect((await post(mainPort, body(1), { 'content-type': 'application/json' })).status).toBe(415);
    expect((await post(mainPort, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04, 0x00]))).status).toBe(413);
    const enc = new WriteRequestEncoder();
    enc.addSample(encodeLabels([{ name: '__name__', value: 'fail' }]), 1, 1);
    const failed = await post(mainPort, compress(enc.finish()));
    expect(failed.status).toBe(500);
    expect(failed.text).toMatch(/disk full/);
    const get = await fetch(`http://127.0.0.1:${mainPort}/api/v1/metrics/write`);
    expect(get.status).toBe(405);
    // The main server's own endpoints are untouched.
    expect((await fetch(`http://127.0.0.1:${mainPort}/-/ready`)).status).toBe(200);
    const fix = `--server.http.listen-addr=0.0.0.0:${mainPort}`;
    expect(health.state).toBe('healthy');
    expect(health.message).toContain(fix);
    expect(c.debugInfo()).toStrictEqual({ listener: 'main-server', address: `127.0.0.1:${mainPort}`, path: '/api/v1/metrics/write', decode_workers: 0, warning: expect.stringContaining(fix) as unknown });
    expect(warnings.join('')).toContain(fix);
  });

  it('serves a loopback address on the main port without a warning, and removes the route when stopped', async () => {
    const c = await start({ listen_address: 'localhost', listen_port: mainPort });
    expect(c.listener).toBe('main-server');
    expect(c.debugInfo()).toStrictEqual({ listener: 'main-server', address: `127.0.0.1:${mainPort}`, path: '/api/v1/metrics/write', decode_workers: 0 });
    expect(warnings).toHaveLength(0);
    expect((await post(mainPort, body(1))).status).toBe(204);
    await stopAllComponents();
    expect((await post(mainPort, body(1))).status).toBe(404);
    expect(appended).toHaveLength(1);
  });

  it('moves between the main server and its own listener on update', async () => {
    const c = await start({ listen_address: '127.0.0.1', listen_port: mainPort });
    expect(c.listener).toBe('main-server');
    // Main server → own listener.
    await c.update(argumentsSchema.parse({ http: { listen_address: '127.0.0.1', listen_port: 0 }, forward_to: [receiver] }));
    expect(c.listener).toBe('own');
    const own = c.address!.port;
    expect(own).not.toBe(mainPort);
    expect((await post(own, body(1))).status).toBe(204);
    expect((await post(mainPort, body(1))).status).toBe(404);
    expect(health.message).toMatch(/^listening on 127\.0\.0\.1:/);
    // Own listener → main server: the own port is closed.
    await c.update(argumentsSchema.parse({ http: { listen_address: '', listen_port: mainPort }, forward_to: [receiver] }));
    expect(c.listener).toBe('main-server');
    expect((await post(mainPort, body(1))).status).toBe(204);
    await expect(post(own, body(1))).rejects.toThrow(/ECONNREFUSED/);
    expect(appended).toHaveLength(2);
  });

  it('keeps serving on the main server when the new own listener cannot start', async () => {
    const c = await start({ listen_address: '127.0.0.1', listen_port: mainPort });
    const blocker = http.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as { port: number }).port;
    try {
      await expect(c.update(argumentsSchema.parse({ http: { listen_address: '127.0.0.1', listen_port: taken }, forward_to: [receiver] }))).rejects.toThrow(/EADDRINUSE/);
      expect(c.listener).toBe('main-server');
      expect((await post(mainPort, body(1))).status).toBe(204);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('opens its own listener on another port, or on the main port for a host the main server does not cover', () => {
    const p = (listen_address: string, listen_port: number, main: string): string => planListener({ listen_address, listen_port }, main).listener;
    expect(p('0.0.0.0', 12345, '127.0.0.1:12345')).toBe('main-server');
    expect(p('0.0.0.0', 12345, '0.0.0.0:12345')).toBe('main-server');
    expect(p('127.0.0.1', 12345, '0.0.0.0:12345')).toBe('main-server');
    expect(p('::1', 12345, '127.0.0.1:12345')).toBe('main-server');
    expect(p('::', 12345, '[::]:12345')).toBe('main-server');
    expect(p('10.1.2.3', 12345, '10.1.2.3:12345')).toBe('main-server');
    expect(p('10.1.2.3', 12345, '127.0.0.1:12345')).toBe('own');
    expect(p('0.0.0.0', 9999, '0.0.0.0:12345')).toBe('own');
    expect(p('0.0.0.0', 0, '0.0.0.0:0')).toBe('own');
    expect(planListener({ listen_address: '0.0.0.0', listen_port: 12345 }, '0.0.0.0:12345').warning).toBeUndefined();
    expect(planListener({ listen_address: '', listen_port: 12345 }, '10.1.2.3:12345').warning).toContain('--server.http.listen-addr=0.0.0.0:12345');
  });

  it('the main server refuses routes over its own endpoints', () => {
    const h = (): void => undefined;
    expect(() => server.route('/metrics', h)).toThrow(/served by the main HTTP server itself/);
    expect(() => server.route('/-/ready', h)).toThrow(/served by the main HTTP server itself/);
    expect(() => server.route('/api/v0/component/x', h)).toThrow(/served by the main HTTP server itself/);
    expect(() => server.route('api/v1/metrics/write', h)).toThrow(/must start with "\/"/);
  });
});
