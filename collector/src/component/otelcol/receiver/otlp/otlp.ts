/**
 * `otelcol.receiver.otlp`: OTLP over gRPC (`grpc` block, default 0.0.0.0:4317) and HTTP (`http`
 * block, default 0.0.0.0:4318, POST /v1/traces, /v1/metrics, /v1/logs with protobuf or JSON
 * bodies, optionally gzip/deflate/zlib compressed). A server runs only when its block is present.
 *
 * Contracts:
 * - A request is acknowledged (HTTP 200 / gRPC OK) only after every `output` consumer of its
 *   signal took the data.
 * - Malformed bodies: HTTP 400 / gRPC INVALID_ARGUMENT naming the problem. Too large (compressed
 *   or decompressed): HTTP 413 / gRPC RESOURCE_EXHAUSTED. Unsupported media type or encoding:
 *   HTTP 415. A retryable downstream refusal (memory limit, full queue): HTTP 503 with
 *   Retry-After / gRPC UNAVAILABLE with google.rpc.RetryInfo; a permanent one: 400 / INVALID_ARGUMENT.
 * - Error bodies are `google.rpc.Status` in the request's content type.
 * - Servers bind in `run` and rebind when their block changes; changing only `output` keeps them.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { Counter } from 'prom-client';
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent } from '../../../../runtime/component.js';
import { block, duration } from '../../../../syntax/vm/schema.js';
import { byteSize } from '../../../../loki/bytes.js';
import { InvalidDataError, itemName, SIGNALS, Telemetry, type ClientMetadata, type Signal } from '../../../../otlp/data.js';
import { decodeJson } from '../../../../otlp/json.js';
import { serviceDefinition } from '../../../../otlp/grpc.js';
import { Types } from '../../../../otlp/schema.js';
import { BodyError, readBody } from '../../../common/body-budget.js';
import { handlerCapsule } from '../../auth.js';
import { parseEndpoint, tlsMaterial, tlsServerSchema } from '../../config.js';
import { ConsumerError, debugMetricsBlock, fanOut, outputBlock, pause, type Output } from '../../consumer.js';
import { telemetryPublisher, type TelemetryPublisher } from '../../live-debugging.js';

const keepaliveSchema = z.object({
  server_parameters: block(
    z.object({
      max_connection_idle: duration().optional(),
      max_connection_age: duration().optional(),
      max_connection_age_grace: duration().optional(),
      time: duration().default(7_200_000),
      timeout: duration().default(20_000),
    }),
  ).optional(),
  enforcement_policy: block(z.object({ min_time: duration().default(300_000), permit_without_stream: z.boolean().default(false) })).optional(),
});

export const grpcSchema = z.object({
  endpoint: z.string().default('0.0.0.0:4317'),
  transport: z.enum(['tcp']).default('tcp'),
  tls: block(tlsServerSchema).optional(),
  max_recv_msg_size: byteSize().default(4 * 1024 * 1024),
  max_concurrent_streams: z.number().int().min(0).optional(),
  read_buffer_size: byteSize().default(512 * 1024),
  write_buffer_size: byteSize().optional(),
  include_metadata: z.boolean().default(false),
  keepalive: block(keepaliveSchema).optional(),
  auth: handlerCapsule().optional(),
});

const DEFAULT_COMPRESSION = ['', 'gzip', 'zstd', 'zlib', 'snappy', 'deflate', 'lz4'];
const SUPPORTED_COMPRESSION = new Set(['', 'gzip', 'zlib', 'deflate']);

export const httpSchema = z.object({
  endpoint: z.string().default('0.0.0.0:4318'),
  tls: block(tlsServerSchema).optional(),
  cors: block(
    z.object({
      allowed_origins: z.array(z.string()).default([]),
      allowed_headers: z.array(z.string()).default(['X-Requested-With']),
      exposed_headers: z.array(z.string()).default([]),
      max_age: z.number().int().min(0).optional(),
    }),
  ).optional(),
  max_request_body_size: byteSize().default(20 * 1024 * 1024),
  include_metadata: z.boolean().default(false),
  traces_url_path: z.string().default('/v1/traces'),
  metrics_url_path: z.string().default('/v1/metrics'),
  logs_url_path: z.string().default('/v1/logs'),
  compression_algorithms: z.array(z.string()).default(DEFAULT_COMPRESSION),
  idle_timeout: duration().default(60_000),
  read_header_timeout: duration().default(60_000),
  read_timeout: duration().optional(),
  write_timeout: duration().default(30_000),
  keep_alives_enabled: z.boolean().default(true),
  auth: handlerCapsule().optional(),
});

export const argumentsSchema = z.object({
  grpc: block(grpcSchema).optional(),
  http: block(httpSchema).optional(),
  output: outputBlock(),
  debug_metrics: debugMetricsBlock,
});

export type Arguments = z.output<typeof argumentsSchema>;
export type Exports = Record<string, never>;
type GrpcArguments = z.output<typeof grpcSchema>;
type HttpArguments = z.output<typeof httpSchema>;

class ReplyError extends Error {
  constructor(
    readonly http: number,
    readonly grpc: grpc.status,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Maps a failure of decode or consume to the status codes of the contract. */
function toReply(err: unknown): ReplyError {
  if (err instanceof ReplyError) return err;
  if (err instanceof InvalidDataError) return new ReplyError(400, grpc.status.INVALID_ARGUMENT, err.message);
  if (err instanceof ConsumerError && !err.retryable) return new ReplyError(400, grpc.status.INVALID_ARGUMENT, err.message);
  const retryAfterMs = err instanceof ConsumerError && err.retryAfterMs !== undefined ? err.retryAfterMs : 1000;
  return new ReplyError(503, grpc.status.UNAVAILABLE, err instanceof Error ? err.message : String(err), retryAfterMs);
}

function statusBytes(code: grpc.status, message: string, retryAfterMs?: number): Uint8Array {
  const details =
    retryAfterMs === undefined
      ? []
      : [
          {
            typeUrl: 'type.googleapis.com/google.rpc.RetryInfo',
            value: Types.retryInfo.encode({ retryDelay: { seconds: Math.floor(retryAfterMs / 1000), nanos: (retryAfterMs % 1000) * 1e6 } }).finish(),
          },
        ];
  return Types.status.encode({ code, message, details }).finish();
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);

/**
 * The request body, bounded by `max_request_body_size` (413, and the connection closes instead of
 * reading the rest of an oversized upload). OTLP bodies are not charged to the receivers' shared
 * budget: their limit (20 MiB by default) may exceed it.
 */
async function readOtlpBody(req: http.IncomingMessage, res: http.ServerResponse, limit: number): Promise<Buffer> {
  try {
    return await readBody(req, limit, undefined, 'max_request_body_size');
  } catch (err: unknown) {
    if (!(err instanceof BodyError)) throw err;
    res.setHeader('Connection', 'close');
    throw new ReplyError(err.status, grpc.status.RESOURCE_EXHAUSTED, err.message);
  }
}

/** Decompresses within `limit` bytes of output. */
async function decompress(body: Buffer, encoding: string, allowed: readonly string[], limit: number): Promise<Buffer> {
  if (encoding === '' || encoding === 'identity') return body;
  if (!allowed.includes(encoding) || !SUPPORTED_COMPRESSION.has(encoding))
    throw new ReplyError(415, grpc.status.UNIMPLEMENTED, `unsupported Content-Encoding ${JSON.stringify(encoding)}: send gzip, deflate, zlib or no compression`);
  try {
    if (encoding === 'gzip') return await gunzip(body, { maxOutputLength: limit });
    // "deflate" is zlib-wrapped by the HTTP spec, but raw deflate is common; accept both.
    try {
      return await inflate(body, { maxOutputLength: limit });
    } catch (err: unknown) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || encoding === 'zlib') throw err;
      return await inflateRaw(body, { maxOutputLength: limit });
    }
  } catch (err: unknown) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new ReplyError(413, grpc.status.RESOURCE_EXHAUSTED, `decompressed body exceeds max_request_body_size (${limit} bytes)`);
    throw new ReplyError(400, grpc.status.INVALID_ARGUMENT, `cannot decompress ${encoding} body: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function originAllowed(origin: string, allowed: readonly string[]): boolean {
  return allowed.some((pattern) => {
    if (pattern === '*') return true;
    if (!pattern.includes('*')) return pattern === origin;
    const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return re.test(origin);
  });
}

function httpMetadata(headers: http.IncomingHttpHeaders): ClientMetadata {
  const m = new Map<string, string[]>();
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) m.set(k.toLowerCase(), Array.isArray(v) ? v : [v]);
  return m;
}

function grpcMetadata(md: grpc.Metadata): ClientMetadata {
  const m = new Map<string, string[]>();
  for (const [k, v] of Object.entries(md.toJSON())) m.set(k.toLowerCase(), v.map((x) => (typeof x === 'string' ? x : x.toString('base64'))));
  return m;
}

class ReceiverMetrics {
  readonly accepted: Counter<'transport'>[];
  readonly refused: Counter<'transport'>[];
  constructor(registry: ComponentOptions['registry']) {
    const names: Record<Signal, string> = { traces: 'spans', metrics: 'metric_points', logs: 'log_records' };
    const registers = [registry];
    this.accepted = SIGNALS.map((s) => new Counter({ name: `otelcol_receiver_accepted_${names[s]}_total`, help: `Number of ${itemName(s)} successfully pushed into the pipeline.`, labelNames: ['transport'], registers }));
    this.refused = SIGNALS.map((s) => new Counter({ name: `otelcol_receiver_refused_${names[s]}_total`, help: `Number of ${itemName(s)} that could not be pushed into the pipeline.`, labelNames: ['transport'], registers }));
  }
}

export class OtlpReceiver implements Component<Arguments>, DebugComponent {
  readonly #opts: ComponentOptions<Exports>;
  readonly #publish: TelemetryPublisher;
  readonly #metrics: ReceiverMetrics;
  #args: Arguments;
  #output: Output;
  #grpc: { server: grpc.Server; cfg: GrpcArguments; port: number } | undefined;
  #http: { server: http.Server; cfg: HttpArguments; port: number; sockets: Set<Socket> } | undefined;
  #wake: (() => void) | undefined;

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    this.#publish = telemetryPublisher(opts);
    this.#args = args;
    this.#output = args.output;
    this.#metrics = new ReceiverMetrics(opts.registry);
  }

  /** Bound addresses (`host:port`), useful with port 0. */
  addresses(): { grpc?: string; http?: string } {
    const host = (e: string): string => {
      const h = parseEndpoint(e).host;
      return h === '' || h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '[::1]' : h.includes(':') ? `[${h}]` : h;
    };
    return {
      ...(this.#grpc ? { grpc: `${host(this.#grpc.cfg.endpoint)}:${this.#grpc.port}` } : {}),
      ...(this.#http ? { http: `${host(this.#http.cfg.endpoint)}:${this.#http.port}` } : {}),
    };
  }

  debugInfo(): unknown {
    return this.addresses();
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.#reconcile();
      await pause(undefined, signal, (w) => (this.#wake = w));
    }
    await this.#stopGrpc();
    await this.#stopHttp();
  }

  update(args: Arguments): void {
    this.#args = args;
    this.#output = args.output;
    this.#wake?.();
  }

  /** Starts, restarts or stops each server so that it matches the arguments. */
  async #reconcile(): Promise<void> {
    const { grpc: g, http: h } = this.#args;
    const problems: string[] = [];
    if (this.#grpc && (!g || !sameConfig(this.#grpc.cfg, g))) await this.#stopGrpc();
    if (g && !this.#grpc) await this.#startGrpc(g).catch((err: unknown) => problems.push(err instanceof Error ? err.message : String(err)));
    if (this.#http && (!h || !sameConfig(this.#http.cfg, h))) await this.#stopHttp();
    if (h && !this.#http) await this.#startHttp(h).catch((err: unknown) => problems.push(err instanceof Error ? err.message : String(err)));
    if (problems.length > 0) this.#opts.setHealth('unhealthy', problems.join('; '));
    else this.#opts.setHealth('healthy', `listening on ${Object.entries(this.addresses()).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing (no grpc or http block)'}`);
  }

  async #consume(data: Telemetry, transport: string): Promise<void> {
    const i = SIGNALS.indexOf(data.signal);
    try {
      this.#publish(data);
      await fanOut(this.#output, data);
      this.#metrics.accepted[i]!.inc({ transport }, data.count);
    } catch (err: unknown) {
      this.#metrics.refused[i]!.inc({ transport }, data.count);
      throw err;
    }
  }

  async #startGrpc(cfg: GrpcArguments): Promise<void> {
    const { host, port } = parseEndpoint(cfg.endpoint);
    const ka = cfg.keepalive?.server_parameters;
    const options: grpc.ServerOptions = {
      'grpc.max_receive_message_length': cfg.max_recv_msg_size,
      ...(cfg.max_concurrent_streams ? { 'grpc.max_concurrent_streams': cfg.max_concurrent_streams } : {}),
      ...(ka ? { 'grpc.keepalive_time_ms': ka.time, 'grpc.keepalive_timeout_ms': ka.timeout } : {}),
      ...(ka?.max_connection_idle ? { 'grpc.max_connection_idle_ms': ka.max_connection_idle } : {}),
      ...(ka?.max_connection_age ? { 'grpc.max_connection_age_ms': ka.max_connection_age } : {}),
      ...(ka?.max_connection_age_grace ? { 'grpc.max_connection_age_grace_ms': ka.max_connection_age_grace } : {}),
      ...(cfg.keepalive?.enforcement_policy?.permit_without_stream ? { 'grpc.keepalive_permit_without_calls': 1 } : {}),
    };
    const server = new grpc.Server(options);
    for (const signal of SIGNALS) {
      server.addService(serviceDefinition(signal), {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          void this.#handleGrpc(signal, cfg, call).then(
            () => callback(null, EMPTY),
            (err: unknown) => {
              const r = toReply(err);
              const md = new grpc.Metadata();
              md.set('grpc-status-details-bin', Buffer.from(statusBytes(r.grpc, r.message, r.retryAfterMs)));
              callback({ code: r.grpc, details: r.message, metadata: md });
            },
          );
        },
      });
    }
    let creds = grpc.ServerCredentials.createInsecure();
    if (cfg.tls) {
      const t = tlsMaterial(cfg.tls);
      if (!t.cert || !t.key) throw new Error('otelcol.receiver.otlp: grpc.tls needs cert and key');
      const clientCa = cfg.tls.client_ca_file ? (await import('node:fs')).readFileSync(cfg.tls.client_ca_file) : null;
      creds = grpc.ServerCredentials.createSsl(clientCa, [{ cert_chain: t.cert, private_key: t.key }], clientCa !== null);
    }
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host.includes(':') ? `[${host}]` : host || '0.0.0.0'}:${port}`, creds, (err, p) => (err ? reject(new Error(`otelcol.receiver.otlp: cannot listen for gRPC on ${cfg.endpoint}: ${err.message}`)) : resolve(p))),
    );
    this.#grpc = { server, cfg, port: bound };
  }

  async #handleGrpc(signal: Signal, cfg: GrpcArguments, call: grpc.ServerUnaryCall<Buffer, Buffer>): Promise<void> {
    if (cfg.auth?.authenticate) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k] = typeof v === 'string' ? v : v.toString();
      const why = cfg.auth.authenticate(headers);
      if (why !== undefined) throw new ReplyError(401, grpc.status.UNAUTHENTICATED, why);
    }
    const data = Telemetry.decode(signal, call.request, cfg.include_metadata ? grpcMetadata(call.metadata) : undefined);
    await this.#consume(data, 'grpc');
  }

  async #stopGrpc(): Promise<void> {
    const g = this.#grpc;
    if (!g) return;
    this.#grpc = undefined;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        g.server.forceShutdown();
        resolve();
      }, 5_000);
      g.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async #startHttp(cfg: HttpArguments): Promise<void> {
    const { host, port } = parseEndpoint(cfg.endpoint);
    const handler: http.RequestListener = (req, res) => void this.#handleHttp(cfg, req, res);
    const serverOpts: http.ServerOptions = { requestTimeout: cfg.read_timeout ?? 0, headersTimeout: cfg.read_header_timeout, keepAlive: cfg.keep_alives_enabled };
    let server: http.Server;
    if (cfg.tls) {
      const t = tlsMaterial(cfg.tls);
      if (!t.cert || !t.key) throw new Error('otelcol.receiver.otlp: http.tls needs cert and key');
      const clientCa = cfg.tls.client_ca_file ? (await import('node:fs')).readFileSync(cfg.tls.client_ca_file) : undefined;
      server = https.createServer({ ...serverOpts, cert: t.cert, key: t.key, ...(clientCa ? { ca: clientCa, requestCert: true, rejectUnauthorized: true } : {}) }, handler);
    } else server = http.createServer(serverOpts, handler);
    server.keepAliveTimeout = cfg.idle_timeout;
    const sockets = new Set<Socket>();
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: Error) => reject(new Error(`otelcol.receiver.otlp: cannot listen for HTTP on ${cfg.endpoint}: ${err.message}`)));
      server.listen(port, host || undefined, () => resolve());
    });
    server.on('error', (err) => this.#opts.setHealth('unhealthy', `HTTP server error: ${err.message}`));
    const addr = server.address();
    this.#http = { server, cfg, port: addr && typeof addr === 'object' ? addr.port : port, sockets };
  }

  async #stopHttp(): Promise<void> {
    const h = this.#http;
    if (!h) return;
    this.#http = undefined;
    const closed = new Promise<void>((r) => h.server.close(() => r()));
    h.server.closeIdleConnections();
    const t = setTimeout(() => h.server.closeAllConnections(), 5_000);
    await closed;
    clearTimeout(t);
  }

  async #handleHttp(cfg: HttpArguments, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    const cors = cfg.cors;
    const corsOk = cors !== undefined && origin !== undefined && originAllowed(origin, cors.allowed_origins);
    if (corsOk) {
      res.setHeader('Access-Control-Allow-Origin', origin!);
      res.setHeader('Vary', 'Origin');
      if (cors!.exposed_headers.length > 0) res.setHeader('Access-Control-Expose-Headers', cors!.exposed_headers.join(', '));
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const signal: Signal | undefined = path === cfg.traces_url_path ? 'traces' : path === cfg.metrics_url_path ? 'metrics' : path === cfg.logs_url_path ? 'logs' : undefined;
    if (req.method === 'OPTIONS' && corsOk && req.headers['access-control-request-method']) {
      const allowAll = cors!.allowed_headers.includes('*');
      const requested = String(req.headers['access-control-request-headers'] ?? '');
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      res.setHeader('Access-Control-Allow-Headers', allowAll ? requested : ['Accept', 'Accept-Language', 'Content-Type', 'Content-Language', ...cors!.allowed_headers].join(', '));
      if (cors!.max_age !== undefined) res.setHeader('Access-Control-Max-Age', String(cors!.max_age));
      res.writeHead(204).end();
      return;
    }
    const ctype = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const json = ctype === 'application/json';
    const reply = (status: number, body: Uint8Array | string, headers: Record<string, string> = {}): void => {
      if (res.headersSent) return;
      res.writeHead(status, { 'Content-Type': json ? 'application/json' : 'application/x-protobuf', ...headers });
      res.end(body);
    };
    try {
      if (signal === undefined) throw new ReplyError(404, grpc.status.NOT_FOUND, `no OTLP route at ${path}: POST to ${cfg.traces_url_path}, ${cfg.metrics_url_path} or ${cfg.logs_url_path}`);
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        throw new ReplyError(405, grpc.status.UNIMPLEMENTED, `${req.method} is not supported on ${path}: use POST`);
      }
      if (!json && ctype !== 'application/x-protobuf' && ctype !== 'application/protobuf')
        throw new ReplyError(415, grpc.status.UNIMPLEMENTED, `unsupported Content-Type ${JSON.stringify(ctype)}: send application/x-protobuf or application/json`);
      if (cfg.auth?.authenticate) {
        const why = cfg.auth.authenticate(req.headers);
        if (why !== undefined) throw new ReplyError(401, grpc.status.UNAUTHENTICATED, why);
      }
      const raw = await readOtlpBody(req, res, cfg.max_request_body_size);
      const enc = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
      const body = await decompress(raw, enc, cfg.compression_algorithms, cfg.max_request_body_size);
      const md = cfg.include_metadata ? httpMetadata(req.headers) : undefined;
      const data = json ? decodeJson(signal, body, md) : Telemetry.decode(signal, body, md);
      await this.#consume(data, 'http');
      reply(200, json ? '{}' : EMPTY);
    } catch (err: unknown) {
      const r = toReply(err);
      if (r.http >= 500) this.#opts.logger.debug('otelcol.receiver.otlp: request refused', { error: r.message });
      const headers: Record<string, string> = r.retryAfterMs !== undefined ? { 'Retry-After': String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))) } : {};
      if (json) reply(r.http, JSON.stringify({ code: r.grpc, message: r.message }), headers);
      else reply(r.http, statusBytes(r.grpc, r.message), headers);
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** Config equality ignoring capsule identity other than the auth handler's. */
function sameConfig(a: GrpcArguments | HttpArguments, b: GrpcArguments | HttpArguments): boolean {
  return a.auth === b.auth && JSON.stringify({ ...a, auth: undefined }) === JSON.stringify({ ...b, auth: undefined });
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.receiver.otlp',
  liveDebugging: true,
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: [],
  build: (opts, args) => new OtlpReceiver(opts, args),
};
