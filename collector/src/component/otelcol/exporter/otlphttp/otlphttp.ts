/**
 * `otelcol.exporter.otlphttp`: sends every signal over OTLP/HTTP (POST `client.endpoint` +
 * `/v1/traces|metrics|logs`, or the `*_endpoint` overrides) as protobuf or JSON (`encoding`),
 * gzip-compressed by default, through the `sending_queue` and `retry_on_failure` of `helper.ts`.
 * 429, 502, 503 and 504 are retried (honouring Retry-After); other non-2xx statuses are permanent.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { block, duration } from '../../../../syntax/vm/schema.js';
import { byteSize } from '../../../../loki/bytes.js';
import type { Signal } from '../../../../otlp/data.js';
import { toJsonObject } from '../../../../otlp/json.js';
import { handlerCapsule } from '../../auth.js';
import { queueBlock, retryBlock, tlsClientSchema } from '../../config.js';
import { debugMetricsBlock } from '../../consumer.js';
import { SendError, type Send } from '../helper.js';
import { HttpTransport, readResponse } from '../../../../transport/client.js';
import { parseRetryAfter } from '../../../../transport/retry.js';
import { QueuedExporter, type Exports, type Sender } from '../queued-exporter.js';

export const httpClientSchema = z.object({
  endpoint: z.string().min(1, 'client.endpoint is required: the base URL of the OTLP/HTTP server'),
  proxy_url: z.string().optional(),
  read_buffer_size: byteSize().optional(),
  write_buffer_size: byteSize().default(512 * 1024),
  timeout: duration().default(30_000),
  headers: z.record(z.string(), z.string()).default({}),
  compression: z.enum(['gzip', 'deflate', 'zlib', 'none', '']).default('gzip'),
  max_idle_conns: z.number().int().min(0).default(100),
  max_idle_conns_per_host: z.number().int().min(0).default(0),
  max_conns_per_host: z.number().int().min(0).default(0),
  idle_conn_timeout: duration().default(90_000),
  disable_keep_alives: z.boolean().default(false),
  http2_read_idle_timeout: duration().optional(),
  http2_ping_timeout: duration().optional(),
  auth: handlerCapsule().optional(),
  tls: block(tlsClientSchema).prefault({}),
  cookies: block(z.object({ enabled: z.boolean().default(false) })).optional(),
});

export const argumentsSchema = z.object({
  client: block(httpClientSchema),
  traces_endpoint: z.string().optional(),
  metrics_endpoint: z.string().optional(),
  logs_endpoint: z.string().optional(),
  encoding: z.enum(['proto', 'json']).default('proto'),
  retry_on_failure: retryBlock,
  sending_queue: queueBlock,
  debug_metrics: debugMetricsBlock,
});

export type Arguments = z.output<typeof argumentsSchema>;

const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);
/** Statuses the OTLP/HTTP specification lets a client retry. */
const RETRYABLE = new Set([429, 502, 503, 504]);

/**
 * @throws Error when an endpoint is not an http(s) URL, TLS material cannot be read or
 *   `proxy_url` is unusable.
 */
export function httpSender(args: Arguments): Sender {
  const c = args.client;
  const base = c.endpoint.replace(/\/+$/, '');
  const urls: Record<Signal, URL> = {
    traces: new URL(args.traces_endpoint ?? `${base}/v1/traces`),
    metrics: new URL(args.metrics_endpoint ?? `${base}/v1/metrics`),
    logs: new URL(args.logs_endpoint ?? `${base}/v1/logs`),
  };
  for (const u of Object.values(urls)) if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`otelcol.exporter.otlphttp: endpoint ${u.href} must start with http:// or https://`);
  const transport = new HttpTransport({
    tls: {
      ca: c.tls.ca_pem,
      caFile: c.tls.ca_file,
      cert: c.tls.cert_pem,
      certFile: c.tls.cert_file,
      key: c.tls.key_pem,
      keyFile: c.tls.key_file,
      serverName: c.tls.server_name,
      insecureSkipVerify: c.tls.insecure_skip_verify,
    },
    tlsWhat: 'client.tls',
    proxy: { proxyUrl: c.proxy_url },
    keepAlive: !c.disable_keep_alives,
    maxFreeSockets: c.max_idle_conns || 256,
    maxSockets: c.max_conns_per_host || Number.POSITIVE_INFINITY,
  });

  const send: Send = async (data, signal) => {
    const json = args.encoding === 'json';
    let body: Buffer = json ? Buffer.from(JSON.stringify(toJsonObject(data))) : Buffer.from(data.encode());
    const headers: Record<string, string> = { 'Content-Type': json ? 'application/json' : 'application/x-protobuf', 'User-Agent': 'alloy-ts otelcol.exporter.otlphttp', ...c.headers };
    if (c.compression === 'gzip') body = await gzip(body);
    else if (c.compression === 'deflate' || c.compression === 'zlib') body = await deflate(body);
    if (c.compression !== 'none' && c.compression !== '') headers['Content-Encoding'] = c.compression === 'zlib' ? 'deflate' : c.compression;
    if (c.auth?.clientHeaders) Object.assign(headers, await c.auth.clientHeaders(data.metadata));
    const url = urls[data.signal];
    let status: number;
    let text: string;
    let retryAfter: string | undefined;
    try {
      const res = await transport.request(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) }, body, signal, timeoutMs: c.timeout, timeoutMessage: `timed out after ${c.timeout}ms` });
      status = res.statusCode ?? 0;
      retryAfter = res.headers['retry-after'];
      text = (await readResponse(res, 64 * 1024)).toString('utf8');
    } catch (err: unknown) {
      throw new SendError(`OTLP/HTTP export to ${url.href} failed: ${err instanceof Error ? err.message : String(err)}`, true);
    }
    if (status >= 200 && status < 300) return;
    const shown = text.slice(0, 512).replace(/[^\x20-\x7e]+/g, ' ').trim();
    throw new SendError(`OTLP/HTTP export to ${url.href} failed: HTTP ${status}${shown ? `: ${shown}` : ''}`, RETRYABLE.has(status), parseRetryAfter(retryAfter, Date.now()));
  };
  return { send, close: () => transport.close() };
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.exporter.otlphttp',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => new QueuedExporter<Arguments>(opts, args, httpSender),
};
