/**
 * `loki.write` arguments with Alloy's names and defaults
 * (`internal/component/loki/write/types.go`), and their conversion to queue plans.
 */
import { z } from 'zod';
import type { ClientConfig } from '../../../prom/remotewrite/client.js';
import { checkProxy, checkSingleAuth, headersSchema, httpClientFields, toClientConfig } from '../../common/http-client.js';
import { byteSize } from '../../../loki/bytes.js';
import { block, blocks, duration } from '../../../syntax/vm/schema.js';
import { checkUniqueEndpointNames, endpointName, fingerprint as settingsFingerprint } from '../../common/fingerprint.js';

const queueSchema = z.object({
  capacity: byteSize().default(10 * 1024 * 1024),
  drain_timeout: duration().default(15_000),
  min_shards: z.number().int().positive().optional(),
  block_on_overflow: z.boolean().default(true),
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

const walSchema = z
  .object({
    enabled: z.boolean().default(false),
    max_segment_age: duration().default(3_600_000),
    min_read_frequency: duration().default(250),
    max_read_frequency: duration().default(1000),
    drain_timeout: duration().default(30_000),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.min_read_frequency <= 0) ctx.addIssue({ code: 'custom', path: ['min_read_frequency'], message: 'min_read_frequency must be greater than 0' });
    if (w.max_read_frequency < w.min_read_frequency) ctx.addIssue({ code: 'custom', path: ['max_read_frequency'], message: 'max_read_frequency must not be smaller than min_read_frequency' });
    if (w.max_segment_age <= 0) ctx.addIssue({ code: 'custom', path: ['max_segment_age'], message: 'max_segment_age must be greater than 0' });
  });

export const argumentsSchema = z.object({
  endpoint: blocks(endpointSchema).default([]),
  external_labels: z.record(z.string(), z.string()).default({}),
  max_streams: z.number().int().min(0).default(0),
  wal: block(walSchema).prefault({}),
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
  readonly blockOnOverflow: boolean;
  readonly maxStreams: number;
  readonly client: ClientConfig;
  /** Canonical JSON of the settings (secrets revealed): a change restarts the endpoint. */
  readonly fingerprint: string;
}

export function planEndpoints(args: Arguments): EndpointPlan[] {
  const plans = args.endpoint.map((e): EndpointPlan => {
    const fingerprint = settingsFingerprint({ e, max_streams: args.max_streams });
    return {
      name: endpointName(e.name, fingerprint),
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
      blockOnOverflow: e.queue_config.block_on_overflow,
      maxStreams: args.max_streams,
      // retry_on_http_429 sits on the endpoint in loki.write (in queue_config for remote_write).
      client: toClientConfig(e, { url: e.url, timeoutMs: e.remote_timeout, retryOn429: e.retry_on_http_429 }),
      fingerprint,
    };
  });
  checkUniqueEndpointNames(plans.map((p) => p.name));
  return plans;
}
