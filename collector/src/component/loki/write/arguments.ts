/**
 * `loki.write` arguments with Alloy's names and defaults
 * (`internal/component/loki/write/types.go`), and their conversion to queue plans.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ClientConfig } from '../../../prom/remotewrite/client.js';
import { checkProxy, checkSingleAuth, headersSchema, httpClientFields, toClientConfig } from '../../common/http-client.js';
import { byteSize } from '../../../loki/bytes.js';
import { block, blocks, duration } from '../../../syntax/vm/schema.js';
import type { Secret } from '../../../syntax/vm/value.js';

const queueSchema = z.object({
  capacity: byteSize().default(10 * 1024 * 1024),
  drain_timeout: duration().default(15_000),
  min_shards: z.number().int().positive().optional(),
});

const endpointSchema = z
  .object({
    name: z.string().default(''),
    url: z.string().url({ error: 'url must be an absolute http(s) URL such as "http://loki:3100/loki/api/v1/push"' }),
    headers: headersSchema,
    batch_wait: duration().default(1_000),
    batch_size: byteSize().default(1024 * 1024),
    remote_timeout: duration().default(10_000),
    tenant_id: z.string().default(''),
    min_backoff_period: duration().default(500),
    max_backoff_period: duration().default(5 * 60_000),
    max_backoff_retries: z.number().int().min(0).default(10),
    retry_on_http_429: z.boolean().default(true),
    ...httpClientFields,
    queue_config: block(queueSchema).prefault({}),
  })
  .superRefine((e, ctx) => {
    checkSingleAuth(e, ctx);
    if (!/^https?:\/\//.test(e.url)) ctx.addIssue({ code: 'custom', path: ['url'], message: `url ${JSON.stringify(e.url)} must use http or https` });
    if (e.min_backoff_period > e.max_backoff_period) ctx.addIssue({ code: 'custom', path: ['min_backoff_period'], message: 'min_backoff_period must not be larger than max_backoff_period' });
    if (e.batch_size <= 0) ctx.addIssue({ code: 'custom', path: ['batch_size'], message: 'batch_size must be larger than 0' });
    if (e.batch_wait <= 0) ctx.addIssue({ code: 'custom', path: ['batch_wait'], message: 'batch_wait must be larger than 0' });
    checkProxy(e, ctx);
  });

export const argumentsSchema = z.object({
  endpoint: blocks(endpointSchema).default([]),
  external_labels: z.record(z.string(), z.string()).default({}),
  max_streams: z.number().int().min(0).default(0),
  // Upstream's experimental WAL: accepted while disabled, with its names and defaults.
  wal: block(
    z
      .object({
        enabled: z.boolean().default(false),
        max_segment_age: duration().default(3_600_000),
        min_read_frequency: duration().default(250),
        max_read_frequency: duration().default(1_000),
        drain_timeout: duration().default(15_000),
      })
      .superRefine((w, ctx) => {
        if (w.enabled) ctx.addIssue({ code: 'custom', path: ['enabled'], message: 'the experimental WAL is not supported by this collector yet; remove the wal block or set enabled = false (entries are buffered in memory)' });
      }),
  ).optional(),
});

export type Arguments = z.output<typeof argumentsSchema>;

export interface EndpointPlan {
  /** Configured name, else a hash of the endpoint's settings (as Alloy). */
  readonly name: string;
  readonly url: string;
  /** The `host` label of the metrics. */
  readonly host: string;
  readonly batchWaitMs: number;
  readonly batchSizeBytes: number;
  readonly tenantId: string;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxRetries: number;
  readonly capacityBytes: number;
  readonly drainTimeoutMs: number;
  readonly maxStreams: number;
  readonly client: ClientConfig;
  /** Canonical JSON of the settings (secrets revealed): a change restarts the endpoint. */
  readonly fingerprint: string;
}

function canonical(v: unknown): unknown {
  if (v && typeof v === 'object' && 'reveal' in v && typeof (v as Secret).reveal === 'function') return { secret: (v as Secret).reveal() };
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

export function planEndpoints(args: Arguments): EndpointPlan[] {
  const plans = args.endpoint.map((e): EndpointPlan => {
    const fingerprint = JSON.stringify(canonical({ e, max_streams: args.max_streams }));
    return {
      name: e.name || createHash('sha256').update(fingerprint).digest('hex').slice(0, 6),
      url: e.url,
      host: new URL(e.url).host,
      batchWaitMs: e.batch_wait,
      batchSizeBytes: e.batch_size,
      tenantId: e.tenant_id,
      minBackoffMs: e.min_backoff_period,
      maxBackoffMs: e.max_backoff_period,
      maxRetries: e.max_backoff_retries,
      capacityBytes: e.queue_config.capacity,
      drainTimeoutMs: e.queue_config.drain_timeout,
      maxStreams: args.max_streams,
      // retry_on_http_429 sits on the endpoint in loki.write (in queue_config for remote_write).
      client: toClientConfig(e, { url: e.url, timeoutMs: e.remote_timeout, retryOn429: e.retry_on_http_429 }),
      fingerprint,
    };
  });
  const seen = new Set<string>();
  for (const p of plans) {
    if (seen.has(p.name)) throw new Error(`endpoint ${JSON.stringify(p.name)} is configured twice; give each endpoint a unique name`);
    seen.add(p.name);
  }
  return plans;
}
