/**
 * `loki.source.api`: accepts Loki pushes over HTTP and forwards the entries to `forward_to`.
 * Where it listens follows the `http` block (`common/receiver-listener.ts`): its own listener, or
 * the collector's main HTTP server when `listen_port` is the main server's port (then the push and
 * raw paths are routed there, and `/ready` is the main server's `/-/ready`).
 *
 * Contracts:
 * - 204 only after `append` resolved on every `forward_to` receiver.
 * - 400 with the reason for bodies that do not decode, 413 above `max_send_message_size`
 *   (compressed, or decompressed: gzip/deflate are inflated as a stream and stopped at the limit,
 *   snappy is checked from its preamble), 503 + Retry-After when the process-wide budget of body
 *   bytes in flight (`common/body-budget.ts`, which also caps the limit) is spent, 415 for an
 *   unknown Content-Encoding, 404/405 naming the right route,
 *   503 when a downstream append failed (so the client retries).
 * - Entry labels: the stream's labels, overridden by `labels`, then `relabel_rules` (e.g.
 *   `loki.relabel.x.rules`); labels starting with `__` are dropped after relabelling. An entry
 *   whose labels a rule drops, or that end up empty, is not forwarded (still answered 204).
 *   Timestamps are the receive time unless `use_incoming_timestamp`.
 * - Updating only `forward_to`/`labels` keeps the listener; changing the `http` block restarts or
 *   moves it (an own listener that cannot start leaves the old one serving and `update` throws).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { z } from 'zod';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Logger } from 'winston';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent } from '../../../../runtime/component.js';
import { StreamLabelsCache } from '../../../../loki/labels.js';
import { decodePushJson, PushDecodeError, PushRequestDecoder } from '../../../../loki/push.js';
import { isLogsReceiver, type Label, type Labels, type LogEntry, type LogsReceiver } from '../../../../loki/types.js';
import { BodyError, BodyLease, countJsonArrays, countLines, ENTRY_COST_BYTES, inflate, readBody, receiveBudget, snappyDecode, snappyPreamble } from '../../../common/body-budget.js';
import { GRPC_NOT_SERVED, grpcServerSchema, httpServerSchema } from '../../../common/http-server.js';
import { mainHttpService, ReceiverListener, type Listener } from '../../../common/receiver-listener.js';
import { block, capsule, duration } from '../../../../syntax/vm/schema.js';
import { byteSize } from '../../../../loki/bytes.js';
import { compileRules, processLabels, type CompiledRule } from '../../../../prom/relabel/relabel.js';
import { relabelRuleSchema } from '../../../../prom/relabel/schema.js';

export const PUSH_PATHS = ['/loki/api/v1/push', '/api/v1/push'] as const;
export const RAW_PATHS = ['/loki/api/v1/raw', '/api/v1/raw'] as const;

export const argumentsSchema = z.object({
  http: block(httpServerSchema).prefault({}),
  grpc: block(grpcServerSchema).optional(),
  graceful_shutdown_timeout: duration().default(30_000),
  forward_to: z.array(capsule<LogsReceiver>('LogsReceiver', isLogsReceiver)),
  labels: z.record(z.string(), z.string()).default({}),
  use_incoming_timestamp: z.boolean().default(false),
  max_send_message_size: byteSize().default(100 * 1024 * 1024),
  relabel_rules: z.array(relabelRuleSchema).default([]),
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

class ApiMetrics {
  readonly duration: Histogram<'method' | 'route' | 'status_code'>;
  readonly connections: Gauge<'protocol'>;
  readonly entries: Counter;
  readonly failed: Counter;
  readonly bytes: Counter<'route'>;

  constructor(opts: ComponentOptions<Exports>) {
    const registers = [opts.registry];
    this.duration = new Histogram({
      name: 'loki_source_api_request_duration_seconds',
      help: 'Time (in seconds) spent serving HTTP requests.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25],
      registers,
    });
    this.connections = new Gauge({ name: 'loki_source_api_tcp_connections', help: 'Current number of accepted TCP connections.', labelNames: ['protocol'], registers });
    this.entries = new Counter({ name: 'loki_source_api_entries_received_total', help: 'Log entries received and accepted by every forward_to receiver.', registers });
    this.failed = new Counter({ name: 'loki_source_api_requests_failed_total', help: 'Push requests rejected (bad body, too large) or not forwarded.', registers });
    this.bytes = new Counter({ name: 'loki_source_api_request_message_bytes_total', help: 'Bytes of received request bodies.', labelNames: ['route'], registers });
    this.connections.set({ protocol: 'http' }, 0);
  }
}

async function decompress(body: Buffer, encoding: string | undefined, limit: number, lease: BodyLease, limitName: string): Promise<Buffer> {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity' || enc === 'snappy') return body;
  if (enc === 'gzip' || enc === 'deflate') return inflate(body, enc, limit, lease, limitName);
  throw new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(encoding)}: use gzip, deflate or none (snappy is implied for protobuf)`);
}

export class LokiSourceApiComponent implements Component<Arguments>, DebugComponent {
  readonly #log: Logger;
  readonly #metrics: ApiMetrics;
  readonly #cache = new StreamLabelsCache();
  readonly #decoder = new PushRequestDecoder(this.#cache);
  #args: Arguments;
  #relabelled = new WeakMap<Labels, Labels | null>();
  #rules: CompiledRule[];
  readonly #listener: ReceiverListener;

  private constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#log = opts.logger;
    this.#args = args;
    this.#rules = compileRules(args.relabel_rules);
    this.#metrics = new ApiMetrics(opts);
    this.#listener = new ReceiverListener({
      component: 'loki.source.api',
      what: 'Loki push',
      paths: [...PUSH_PATHS, ...RAW_PATHS],
      http: mainHttpService((name) => opts.getService(name)),
      handler: (req, res) => void this.#handle(req, res),
      track: { sockets: new Set<Socket>(), connections: this.#metrics.connections },
      logger: opts.logger,
      setHealth: (state, message) => opts.setHealth(state, message),
    });
  }

  static async create(opts: ComponentOptions<Exports>, args: Arguments): Promise<LokiSourceApiComponent> {
    const c = new LokiSourceApiComponent(opts, args);
    if (args.grpc) opts.logger.warn(`loki.source.api: ${GRPC_NOT_SERVED}`);
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
    return { ...this.#listener.info(), ...(this.#args.grpc ? { grpc: GRPC_NOT_SERVED } : {}) };
  }

  /** Final labels of a stream (see the contract above); `null` when relabelling drops it. */
  #labels(ls: Labels): Labels | null {
    let out = this.#relabelled.get(ls);
    if (out !== undefined) return out;
    const extra = this.#args.labels;
    const rules = this.#rules;
    const merged = new Map<string, string>();
    for (const l of ls) if (rules.length > 0 || !l.name.startsWith('__')) merged.set(l.name, l.value);
    for (const [k, v] of Object.entries(extra)) {
      if (k.startsWith('__') && rules.length === 0) continue;
      if (v === '') merged.delete(k);
      else merged.set(k, v);
    }
    let arr: Label[] = [...merged].map(([name, value]) => ({ name, value }));
    arr.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (rules.length > 0) {
      const relabelled = processLabels(arr, rules);
      arr = relabelled === null ? [] : relabelled.filter((l) => !l.name.startsWith('__'));
    }
    out = arr.length === 0 && rules.length > 0 ? null : Object.freeze(arr);
    this.#relabelled.set(ls, out);
    return out;
  }

  /** Decoded entries; `final` when they already carry final labels and timestamps (protobuf). */
  #decode(path: string, req: http.IncomingMessage, raw: Buffer, limit: number, lease: BodyLease, limitName: string): { entries: LogEntry[]; final: boolean } {
    const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if ((RAW_PATHS as readonly string[]).includes(path)) {
      lease.take(countLines(raw) * ENTRY_COST_BYTES);
      const now = Date.now();
      const labels = this.#cache.fromRecord({});
      const entries = raw
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((line) => ({ labels, line: line.endsWith('\r') ? line.slice(0, -1) : line, timestampMs: now, timestampNanos: 0 }));
      return { entries, final: false };
    }
    try {
      if (ct === 'application/json') {
        // Every entry is a JSON array: charge them before parsing (tiny entries inflate ~100x as objects).
        lease.take(countJsonArrays(raw) * ENTRY_COST_BYTES + raw.length);
        return { entries: decodePushJson(raw.toString('utf8'), this.#cache), final: false };
      }
      let plain: Buffer;
      try {
        plain = snappyDecode(raw, limit, lease, limitName);
      } catch (err: unknown) {
        if (err instanceof BodyError && err.status === 400) {
          throw new HttpError(400, `${err.message} (protobuf bodies must be snappy-compressed; send JSON with Content-Type: application/json)`);
        }
        throw err;
      }
      const entries = this.#decoder.decode(plain, {
        beforeEntries: (n) => lease.take(n * ENTRY_COST_BYTES),
        streamLabels: (ls) => this.#labels(ls),
        ...(this.#args.use_incoming_timestamp ? {} : { timestampMs: Date.now() }),
      });
      return { entries, final: true };
    } catch (err: unknown) {
      if (err instanceof PushDecodeError) throw new HttpError(400, err.message);
      throw err;
    }
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = performance.now();
    const path = (req.url ?? '').split('?')[0]!;
    let status = 204;
    let message = '';
    let route = 'other';
    const writeTimeout = this.#args.http.server_write_timeout;
    const timer = writeTimeout > 0 ? setTimeout(() => req.socket.destroy(), writeTimeout) : undefined;
    let retryAfter: number | undefined;
    const lease = new BodyLease(receiveBudget);
    try {
      if (path === '/ready') {
        route = 'ready';
        status = 200;
        message = 'ready';
      } else {
        const isPush = (PUSH_PATHS as readonly string[]).includes(path);
        const isRaw = (RAW_PATHS as readonly string[]).includes(path);
        if (!isPush && !isRaw) throw new HttpError(404, `404 page not found; push logs to POST ${PUSH_PATHS[0]}`);
        route = isPush ? 'loki_api_v1_push' : 'loki_api_v1_raw';
        if (req.method !== 'POST') throw new HttpError(405, `method ${req.method ?? ''} not allowed; use POST`);
        // Bodies never exceed what the process-wide budget can hold, whatever max_send_message_size says.
        const configured = this.#args.max_send_message_size;
        const limit = Math.min(configured, receiveBudget.capacity);
        const limitName = limit < configured ? `the collector's in-flight body budget (max_send_message_size is capped at ${limit} bytes)` : 'max_send_message_size';
        // Protobuf without Content-Encoding is a snappy block: refuse an oversized one from its preamble.
        const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const ce = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
        const snappyBody = isPush && ct !== 'application/json' && (ce === '' || ce === 'snappy');
        const body = await readBody(req, limit, lease, limitName, snappyBody ? snappyPreamble(limit, limitName) : undefined);
        this.#metrics.bytes.inc({ route }, body.length);
        const raw = await decompress(body, req.headers['content-encoding'], limit, lease, limitName);
        const { entries: decoded, final } = this.#decode(path, req, raw, limit, lease, limitName);
        const useTs = this.#args.use_incoming_timestamp;
        const now = Date.now();
        const entries: LogEntry[] = final ? decoded : [];
        for (let i = 0; !final && i < decoded.length; i++) {
          const e = decoded[i]!;
          const labels = this.#labels(e.labels);
          if (labels === null) continue;
          entries.push(useTs
            ? e.structuredMetadata
              ? { labels, line: e.line, timestampMs: e.timestampMs, timestampNanos: e.timestampNanos, structuredMetadata: e.structuredMetadata }
              : { labels, line: e.line, timestampMs: e.timestampMs, timestampNanos: e.timestampNanos }
            : e.structuredMetadata
              ? { labels, line: e.line, timestampMs: now, timestampNanos: 0, structuredMetadata: e.structuredMetadata }
              : { labels, line: e.line, timestampMs: now, timestampNanos: 0 });
        }
        if (entries.length > 0) {
          try {
            await Promise.all(this.#args.forward_to.map((r) => r.append(entries)));
          } catch (err: unknown) {
            throw new HttpError(503, `forwarding failed, retry later: ${err instanceof Error ? err.message : String(err)}`);
          }
          this.#metrics.entries.inc(entries.length);
        }
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
      this.#metrics.failed.inc();
      if (status >= 500) this.#log.warn(`loki.source.api: ${message}`);
      else this.#log.debug(`loki.source.api: rejected request: ${message}`, { status });
    }
    lease.release();
    if (timer) clearTimeout(timer);
    if (!res.headersSent && !res.destroyed) {
      if (status === 204) res.writeHead(204).end();
      else {
        const b = Buffer.from(message + '\n');
        if (status === 413 || retryAfter !== undefined) res.shouldKeepAlive = false;
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': b.length, ...(retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {}) });
        res.end(b);
      }
    }
    this.#metrics.duration.observe({ method: req.method ?? '', route, status_code: String(status) }, (performance.now() - t0) / 1000);
  }

  async run(signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await this.#listener.stop(this.#args.graceful_shutdown_timeout);
  }

  async update(args: Arguments): Promise<void> {
    const prev = this.#args;
    const sameHttp = JSON.stringify(prev.http) === JSON.stringify(args.http);
    this.#args = args;
    if (JSON.stringify(prev.labels) !== JSON.stringify(args.labels) || JSON.stringify(prev.relabel_rules) !== JSON.stringify(args.relabel_rules)) {
      this.#rules = compileRules(args.relabel_rules);
      this.#relabelled = new WeakMap();
    }
    if (sameHttp) return;
    try {
      await this.#listener.update(prev.http, args.http);
    } catch (err: unknown) {
      this.#args = prev;
      this.#rules = compileRules(prev.relabel_rules);
      this.#relabelled = new WeakMap();
      throw err;
    }
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'loki.source.api',
  stability: 'generally-available',
  args: argumentsSchema as unknown as ComponentDefinition<Arguments, Exports>['args'],
  exports: [],
  build: (opts, args) => LokiSourceApiComponent.create(opts, args),
};
