/**
 * `prometheus.remote_write` arguments: zod schema with Alloy's names and defaults
 * (`internal/component/prometheus/remotewrite/types.go`), and the conversion to the queue,
 * client and WAL settings of `prom/remotewrite` and `prom/wal`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Labels } from '../../../prom/types.js';
import { relabelRuleSchema } from '../../../prom/relabel/schema.js';
import { compileRules, type CompiledRule } from '../../../prom/relabel/relabel.js';
import type { ClientConfig } from '../../../prom/remotewrite/client.js';
import { AUTH_FIX, checkProxy, checkSingleAuth, headersSchema, httpClientFields, toClientConfig } from '../../common/http-client.js';
import { DEFAULT_QUEUE_CONFIG, type QueueConfig } from '../../../prom/remotewrite/queue-manager.js';
import { block, blocks, duration, unsupported } from '../../../syntax/vm/schema.js';
import type { Secret } from '../../../syntax/vm/value.js';

const queueSchema = z
  .object({
    capacity: z.number().int().positive().default(DEFAULT_QUEUE_CONFIG.capacity),
    max_shards: z.number().int().positive().default(DEFAULT_QUEUE_CONFIG.maxShards),
    min_shards: z.number().int().positive().default(DEFAULT_QUEUE_CONFIG.minShards),
    max_samples_per_send: z.number().int().positive().default(DEFAULT_QUEUE_CONFIG.maxSamplesPerSend),
    batch_send_deadline: duration().default(DEFAULT_QUEUE_CONFIG.batchSendDeadlineMs),
    min_backoff: duration().default(DEFAULT_QUEUE_CONFIG.minBackoffMs),
    max_backoff: duration().default(DEFAULT_QUEUE_CONFIG.maxBackoffMs),
    retry_on_http_429: z.boolean().default(DEFAULT_QUEUE_CONFIG.retryOnHttp429),
    sample_age_limit: duration().default(0),
  })
  .superRefine((q, ctx) => {
    if (q.min_shards > q.max_shards) {
      ctx.addIssue({ code: 'custom', path: ['min_shards'], message: `min_shards (${q.min_shards}) must not be larger than max_shards (${q.max_shards})` });
    }
    if (q.min_backoff > q.max_backoff) {
      ctx.addIssue({ code: 'custom', path: ['min_backoff'], message: 'min_backoff must not be larger than max_backoff' });
    }
  });

const metadataSchema = z.object({
  send: z.boolean().default(true),
  send_interval: duration().default(60_000),
  max_samples_per_send: z.number().int().positive().default(2000),
});

const endpointSchema = z
  .object({
    name: z.string().default(''),
    url: z.string().url({ error: 'url must be an absolute http(s) URL such as "http://mimir:9009/api/v1/push"' }),
    remote_timeout: duration().default(30_000),
    headers: headersSchema,
    send_exemplars: z.boolean().default(true),
    send_native_histograms: z.boolean().default(false),
    ...httpClientFields,
    queue_config: block(queueSchema).prefault({}),
    metadata_config: block(metadataSchema).prefault({}),
    write_relabel_config: blocks(relabelRuleSchema).default([]),
    sigv4: unsupported(AUTH_FIX),
    azuread: unsupported(AUTH_FIX),
  })
  .superRefine((e, ctx) => {
    checkSingleAuth(e, ctx);
    checkProxy(e, ctx);
    if (!/^https?:\/\//.test(e.url)) ctx.addIssue({ code: 'custom', path: ['url'], message: `url ${JSON.stringify(e.url)} must use http or https` });
  });

const walSchema = z
  .object({
    truncate_frequency: duration().default(2 * 3600_000),
    min_keepalive_time: duration().default(5 * 60_000),
    max_keepalive_time: duration().default(8 * 3600_000),
  })
  .superRefine((w, ctx) => {
    if (w.truncate_frequency <= 0) ctx.addIssue({ code: 'custom', path: ['truncate_frequency'], message: 'truncate_frequency must not be 0' });
    if (w.max_keepalive_time <= w.min_keepalive_time) {
      ctx.addIssue({ code: 'custom', path: ['min_keepalive_time'], message: 'min_keepalive_time must be smaller than max_keepalive_time' });
    }
  });

export const argumentsSchema = z.object({
  external_labels: z.record(z.string(), z.string()).default({}),
  endpoint: blocks(endpointSchema).default([]),
  wal: block(walSchema).prefault({}),
});

export type Arguments = z.output<typeof argumentsSchema>;
export type EndpointArguments = Arguments['endpoint'][number];

/** Everything a queue needs for one endpoint, plus the keys that decide restart and identity. */
export interface EndpointPlan {
  /** `remote_name` label: the configured name, else a hash of the endpoint's settings. */
  readonly remoteName: string;
  /** WAL marker name: the configured name, else a hash of the URL (survives other edits). */
  readonly markerName: string;
  readonly url: string;
  readonly queue: QueueConfig;
  readonly client: ClientConfig;
  readonly writeRelabel: readonly CompiledRule[];
  readonly sendExemplars: boolean;
  /** Canonical JSON of the endpoint's arguments (secrets revealed): changes mean restart. */
  readonly fingerprint: string;
}

function canonical(v: unknown): unknown {
  if (v && typeof v === 'object' && 'reveal' in v && typeof (v as Secret).reveal === 'function') return { secret: (v as Secret).reveal() };
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

const hash = (s: string, n: number): string => createHash('sha256').update(s).digest('hex').slice(0, n);

export function externalLabels(args: Arguments): Labels {
  return Object.keys(args.external_labels)
    .sort()
    .filter((k) => args.external_labels[k] !== '')
    .map((name) => ({ name, value: args.external_labels[name]! }));
}

export function planEndpoints(args: Arguments): EndpointPlan[] {
  const plans = args.endpoint.map((e): EndpointPlan => {
    const fingerprint = JSON.stringify(canonical({ e, ext: args.external_labels }));
    const q = e.queue_config;
    const queue: QueueConfig = {
      capacity: q.capacity,
      maxShards: q.max_shards,
      minShards: q.min_shards,
      maxSamplesPerSend: q.max_samples_per_send,
      batchSendDeadlineMs: q.batch_send_deadline,
      minBackoffMs: q.min_backoff,
      maxBackoffMs: q.max_backoff,
      retryOnHttp429: q.retry_on_http_429,
      sampleAgeLimitMs: q.sample_age_limit,
    };
    // retry_on_http_429 sits in queue_config for remote_write (on the endpoint in loki.write).
    const client = toClientConfig(e, { url: e.url, timeoutMs: e.remote_timeout, retryOn429: q.retry_on_http_429 });
    return {
      remoteName: e.name || hash(fingerprint, 6),
      markerName: e.name || `url-${hash(e.url, 12)}`,
      url: e.url,
      queue,
      client,
      writeRelabel: compileRules(e.write_relabel_config),
      sendExemplars: e.send_exemplars,
      fingerprint,
    };
  });
  const seen = new Set<string>();
  for (const p of plans) {
    if (seen.has(p.markerName)) {
      throw new Error(
        `endpoint ${JSON.stringify(p.markerName)} is configured twice; give each endpoint a unique name (or a unique url)`,
      );
    }
    seen.add(p.markerName);
  }
  return plans;
}
