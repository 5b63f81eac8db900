/**
 * `prometheus.receive_http`: accepts Prometheus remote-write 1.0 on `POST /api/v1/metrics/write`
 * and forwards the samples to `forward_to`.
 *
 * Where it listens (the `http` block, as in Alloy):
 * - When `listen_port` is the main HTTP server's port (`--server.http.listen-addr`) and the hosts
 *   overlap (equal, either side a wildcard `0.0.0.0`/`::`/empty, or both loopback), the path is
 *   served by the main server through `HttpService.route` instead of a second listener (which
 *   would fail with EADDRINUSE). If the main server does not listen on every interface while
 *   `listen_address` is a wildcard, it is still served there, and the health message, debug info
 *   and a warning log name the fix (`--server.http.listen-addr=0.0.0.0:<port>`). `conn_limit` and
 *   the read/idle timeouts are the main server's then; `server_write_timeout` still applies.
 * - Any other port gets its own listener.
 *
 * Contracts (both ways of listening):
 * - 204 only after `append` resolved on every `forward_to` receiver (for remote_write: in its WAL).
 * - Series are checked as Prometheus' receiver does (label names `[a-zA-Z_][a-zA-Z0-9_]*`, valid
 *   UTF-8, sorted, unique, not empty). Refused series are not forwarded and the answer is 400
 *   naming the first one; the valid series of the request are forwarded as Prometheus 2.42 stores
 *   them, except that duplicate label names or an empty label set refuse the whole request (as
 *   2.42 does, which answers 500 for them; 400 here, since retrying cannot help).
 * - 400 (with the reason) for bodies that are not snappy-compressed protobuf WriteRequests,
 *   413 above `MAX_BODY_BYTES` compressed / `MAX_DECODED_BYTES` decoded (checked from the snappy
 *   preamble before decoding), 503 + Retry-After when the process-wide budget of body bytes in
 *   flight (`common/body-budget.ts`) is spent, 415 for a Content-Type
 *   other than `application/x-protobuf` (or a remote-write 2.0 `proto=`) or a Content-Encoding
 *   other than snappy, 500 when a downstream append failed (so the sender retries).
 * - Updating only `forward_to` keeps the listener; changing the `http` block restarts it, or moves
 *   between the main server and an own listener (the old one serves until the new one is up; if
 *   the new listener cannot start, the old one keeps serving and `update` throws).
 * - Stopping removes the route from the main server or closes the own listener.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { z } from 'zod';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Logger } from 'winston';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent } from '../../../runtime/component.js';
import type { MetricsReceiver } from '../../../prom/types.js';
import { sleep } from '../../../clock/clock.js';
import { BodyError, BodyLease, ENTRY_COST_BYTES, readBody, receiveBudget, snappyPreamble, snappyReserve } from '../../common/body-budget.js';
import { GRPC_NOT_SERVED, grpcServerSchema, httpServerSchema } from '../../common/http-server.js';
import { mainHttpService, ReceiverListener, type Listener } from '../../common/receiver-listener.js';
import { block, capsule, duration } from '../../../syntax/vm/schema.js';
import { decodePool, type DecodePool } from './decode-pool.js';

export const WRITE_PATH = '/api/v1/metrics/write';
/**
 * Largest accepted decoded (uncompressed) WriteRequest. Prometheus and Alloy send batches of at
 * most a few thousand samples (well under 10 MiB even with long label sets).
 */
export const MAX_DECODED_BYTES = 32 * 1024 * 1024;
/** Largest accepted snappy body: the worst-case snappy encoding of `MAX_DECODED_BYTES`. */
export const MAX_BODY_BYTES = 32 + MAX_DECODED_BYTES + Math.floor(MAX_DECODED_BYTES / 6);
const DECODED_LIMIT = 'the decoded remote-write limit';

export const argumentsSchema = z.object({
  http: block(httpServerSchema).prefault({}),
  grpc: block(grpcServerSchema).optional(),
  graceful_shutdown_timeout: duration().default(30_000),
  forward_to: z.array(capsule<MetricsReceiver>('MetricsReceiver', (v) => typeof (v as MetricsReceiver).append === 'function')),
});

export type Arguments = z.output<typeof argumentsSchema>;
export type Exports = Record<string, never>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

class ReceiveMetrics {
  readonly duration: Histogram<'method' | 'route' | 'status_code' | 'ws'>;
  readonly connections: Gauge<'protocol'>;
  readonly received: Counter;
  readonly failed: Counter;
  readonly histogramsDropped: Counter;
  readonly bytes: Counter;

  constructor(opts: ComponentOptions<Exports>, pool: DecodePool) {
    const registers = [opts.registry];
    // The decoders are process-wide (shared by every prometheus.receive_http), so are these figures.
    new Gauge({
      name: 'prometheus_receive_http_series_cache_series',
      help: 'Series whose decoded labels the remote-write decoders cache (all decoders of the process).',
      registers,
      collect() {
        this.set(pool.seriesCache.series);
      },
    });
    new Gauge({
      name: 'prometheus_receive_http_series_cache_capacity_series',
      help: 'Series the remote-write decoders may cache at their current size; it grows while more series arrive within 2 minutes than it holds.',
      registers,
      collect() {
        this.set(pool.seriesCache.capacity);
      },
    });
    new Gauge({
      name: 'prometheus_receive_http_series_cache_max_series',
      help: 'Bound of prometheus_receive_http_series_cache_capacity_series.',
      registers,
      collect() {
        this.set(pool.seriesCache.bound);
      },
    });
    this.duration = new Histogram({
      name: 'prometheus_receive_http_request_duration_seconds',
      help: 'Time (in seconds) spent serving HTTP requests.',
      labelNames: ['method', 'route', 'status_code', 'ws'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100],
      registers,
    });
    this.connections = new Gauge({ name: 'prometheus_receive_http_tcp_connections', help: 'Current number of accepted TCP connections.', labelNames: ['protocol'], registers });
    this.received = new Counter({ name: 'prometheus_receive_http_samples_received_total', help: 'Samples received and accepted by every forward_to receiver.', registers });
    this.failed = new Counter({ name: 'prometheus_receive_http_samples_failed_total', help: 'Samples in requests that were rejected (bad body) or could not be forwarded.', registers });
    this.histogramsDropped = new Counter({ name: 'prometheus_receive_http_histograms_dropped_total', help: 'Native-histogram samples received and dropped (not supported by the metrics pipeline).', registers });
    this.bytes = new Counter({ name: 'prometheus_receive_http_request_message_bytes_total', help: 'Compressed bytes of accepted remote-write requests.', registers });
    this.connections.set({ protocol: 'http' }, 0);
  }
}

function checkHeaders(req: http.IncomingMessage): void {
  const ct = req.headers['content-type'];
  if (ct !== undefined) {
    const [type, ...params] = ct.split(';').map((s) => s.trim());
    if (type!.toLowerCase() !== 'application/x-protobuf') {
      throw new HttpError(415, `unsupported Content-Type ${JSON.stringify(ct)}: expected application/x-protobuf (remote-write 1.0)`);
    }
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim());
      if (k?.toLowerCase() === 'proto' && v !== 'prometheus.WriteRequest') {
        throw new HttpError(415, `unsupported remote-write message ${JSON.stringify(v)}: only prometheus.WriteRequest (remote-write 1.0) is accepted`);
      }
    }
  }
  const ce = req.headers['content-encoding'];
  if (ce !== undefined && ce.toLowerCase() !== 'snappy') {
    throw new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(ce)}: expected snappy`);
  }
}

export { planListener, splitHostPort, type Listener, type ListenPlan } from '../../common/receiver-listener.js';

export class ReceiveHttpComponent implements Component<Arguments>, DebugComponent {
  readonly #opts: ComponentOptions<Exports>;
  readonly #log: Logger;
  readonly #metrics: ReceiveMetrics;
  readonly #pool: DecodePool = decodePool(MAX_DECODED_BYTES, DECODED_LIMIT);
  #args: Arguments;
  readonly #listener: ReceiverListener;
  #health: { state: 'healthy' | 'unhealthy'; message: string } | undefined;

  private constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#args = args;
    this.#metrics = new ReceiveMetrics(opts, this.#pool);
    this.#listener = new ReceiverListener({
      component: 'prometheus.receive_http',
      what: 'remote-write',
      paths: [WRITE_PATH],
      http: mainHttpService((name) => opts.getService(name)),
      handler: (req, res) => void this.#handle(req, res),
      track: { sockets: new Set<Socket>(), connections: this.#metrics.connections },
      logger: opts.logger,
      setHealth: (state, message) => this.#setHealth(state, message),
    });
  }

  static async create(opts: ComponentOptions<Exports>, args: Arguments): Promise<ReceiveHttpComponent> {
    const c = new ReceiveHttpComponent(opts, args);
    if (args.grpc) opts.logger.warn(`prometheus.receive_http: ${GRPC_NOT_SERVED}`);
    await c.#listener.start(args.http);
    return c;
  }

  /** The bound address (useful when `listen_port` is 0); the main server's when served there. */
  get address(): { host: string; port: number } | undefined {
    return this.#listener.address;
  }

  /** Where the receiver is served now. */
  get listener(): Listener {
    return this.#listener.listener;
  }

  debugInfo(): unknown {
    const { listener, address, ...warning } = this.#listener.info();
    return { listener, address, path: WRITE_PATH, decode_workers: this.#pool.workers, ...warning, ...(this.#args.grpc ? { grpc: GRPC_NOT_SERVED } : {}) };
  }

  /** Reports health and keeps it, so `run` can report it again after the runtime's "started". */
  #setHealth(state: 'healthy' | 'unhealthy', message: string): void {
    this.#health = { state, message };
    this.#opts.setHealth(state, message);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = performance.now();
    const path = (req.url ?? '').split('?')[0];
    let status = 204;
    let message = '';
    const writeTimeout = this.#args.http.server_write_timeout;
    const timer = writeTimeout > 0 ? setTimeout(() => req.socket.destroy(), writeTimeout) : undefined;
    let samples = 0;
    let bodyBytes = 0;
    let retryAfter: number | undefined;
    const lease = new BodyLease(receiveBudget);
    try {
      if (path !== WRITE_PATH) throw new HttpError(404, `404 page not found; remote-write goes to POST ${WRITE_PATH}`);
      if (req.method !== 'POST') throw new HttpError(405, `method ${req.method ?? ''} not allowed; use POST`);
      checkHeaders(req);
      const body = await readBody(req, MAX_BODY_BYTES, lease, 'the remote-write body limit', snappyPreamble(MAX_DECODED_BYTES, DECODED_LIMIT));
      bodyBytes = body.length;
      snappyReserve(body, MAX_DECODED_BYTES, lease, DECODED_LIMIT);
      // Decoded series cost far more than their wire bytes: budget them before building them.
      // The body may move to a decode worker: it is not usable here afterwards.
      let outcome;
      try {
        outcome = await this.#pool.decode(body, req.socket, (series) => lease.take(series * ENTRY_COST_BYTES));
      } catch (err: unknown) {
        if (err instanceof BodyError) throw err;
        throw new HttpError(503, `decoding failed, retry: ${err instanceof Error ? err.message : String(err)}`);
      }
      if ('error' in outcome) throw new HttpError(outcome.error.status, outcome.error.message);
      const decoded = outcome.request;
      const rejected = decoded.rejected;
      if (rejected?.wholeRequest) {
        samples = decoded.length + rejected.samples;
        throw new HttpError(400, `invalid series ${rejected.first}; the whole request (${samples} samples) was refused`);
      }
      samples = decoded.length;
      if (decoded.histogramsDropped > 0) this.#metrics.histogramsDropped.inc(decoded.histogramsDropped);
      if (samples > 0) {
        const receivers = this.#args.forward_to;
        try {
          await Promise.all(receivers.map((r) => r.append(decoded)));
        } catch (err: unknown) {
          throw new HttpError(500, `forwarding failed, retry later: ${err instanceof Error ? err.message : String(err)}`);
        }
        this.#metrics.received.inc(samples);
      }
      this.#metrics.bytes.inc(bodyBytes);
      if (rejected) {
        // The valid series were forwarded (as Prometheus stores them); the sender learns what was refused.
        this.#metrics.failed.inc(rejected.samples);
        samples = 0;
        throw new HttpError(
          400,
          `invalid series ${rejected.first}; ${rejected.series} series (${rejected.samples} samples) refused, ${decoded.length} samples of valid series accepted`,
        );
      }
    } catch (err: unknown) {
      if (err instanceof HttpError || err instanceof BodyError) {
        status = err.status;
        message = err.message;
        if (err instanceof BodyError) retryAfter = err.retryAfter;
      } else {
        status = 500;
        message = err instanceof Error ? err.message : String(err);
      }
      if (samples > 0 || status === 400 || status === 413) this.#metrics.failed.inc(samples);
      if (status >= 500) this.#log.warn(`prometheus.receive_http: ${message}`);
      else this.#log.debug(`prometheus.receive_http: rejected request: ${message}`, { status });
    }
    lease.release();
    if (timer) clearTimeout(timer);
    if (!res.headersSent && !res.destroyed) {
      if (status === 204) res.writeHead(204).end();
      else {
        const b = Buffer.from(message + '\n');
        // An unread oversized body cannot be skipped cheaply: close the connection after answering.
        if (status === 413 || retryAfter !== undefined) res.shouldKeepAlive = false;
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': b.length, ...(retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {}) });
        res.end(b);
      }
    }
    this.#metrics.duration.observe({ method: req.method ?? '', route: path === WRITE_PATH ? 'api_v1_metrics_write' : 'other', status_code: String(status), ws: 'false' }, (performance.now() - t0) / 1000);
  }

  async run(signal: AbortSignal): Promise<void> {
    // Where it listens (and any warning) was reported during build; the runtime marks the component
    // "started" just before run and shows the newest of equal states, so report it again strictly later.
    const t = Date.now();
    while (Date.now() <= t && !signal.aborted) await sleep(1, signal);
    if (this.#health) this.#opts.setHealth(this.#health.state, this.#health.message);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await this.#listener.stop(this.#args.graceful_shutdown_timeout);
  }

  async update(args: Arguments): Promise<void> {
    const prev = this.#args;
    const same = JSON.stringify(prev.http) === JSON.stringify(args.http);
    this.#args = args;
    if (same) return;
    try {
      await this.#listener.update(prev.http, args.http);
    } catch (err: unknown) {
      this.#args = prev;
      throw err;
    }
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'prometheus.receive_http',
  stability: 'generally-available',
  args: argumentsSchema as unknown as ComponentDefinition<Arguments, Exports>['args'],
  exports: [],
  build: (opts, args) => ReceiveHttpComponent.create(opts, args),
};
