/**
 * `pyroscope.write` arguments with Alloy's names and defaults
 * (`internal/component/pyroscope/write/write.go`), and their conversion to endpoint plans.
 */
import { z } from 'zod';
import type { ClientConfig } from '../../../prom/remotewrite/client.js';
import { checkProxy, checkSingleAuth, headersSchema, httpClientFields, toClientConfig } from '../../common/http-client.js';
import { block, blocks, duration } from '../../../syntax/vm/schema.js';
import { checkUniqueEndpointNames, endpointName, fingerprint as settingsFingerprint } from '../../common/fingerprint.js';

const endpointSchema = z
  .object({
    name: z.string().default(''),
    url: z.string().url({ error: 'url must be an absolute http(s) URL such as "http://pyroscope:4040"' }),
    remote_timeout: duration().default(10_000),
    headers: headersSchema,
    min_backoff_period: duration().default(500),
    max_backoff_period: duration().default(5 * 60_000),
    max_backoff_retries: z.number().int().min(0).default(10),
    retry_on_http_429: z.boolean().default(true),
    ...httpClientFields,
    // oauth2 and http_headers come from httpClientFields as "not supported yet" with the fix.
  })
  .superRefine((e, ctx) => {
    checkSingleAuth(e, ctx);
    if (!/^https?:\/\//.test(e.url)) ctx.addIssue({ code: 'custom', path: ['url'], message: `url ${JSON.stringify(e.url)} must use http or https` });
    if (e.min_backoff_period > e.max_backoff_period) ctx.addIssue({ code: 'custom', path: ['min_backoff_period'], message: 'min_backoff_period must not be larger than max_backoff_period' });
    if (e.remote_timeout <= 0) ctx.addIssue({ code: 'custom', path: ['remote_timeout'], message: 'remote_timeout must be larger than 0' });
    checkProxy(e, ctx);
  });

export const argumentsSchema = z.object({
  external_labels: z.record(z.string(), z.string()).default({}),
  endpoint: blocks(endpointSchema).default([]),
  tracing: block(z.object({ jaeger_propagator: z.boolean().default(true), trace_context_propagator: z.boolean().default(true) })).optional(),
});

export type Arguments = z.output<typeof argumentsSchema>;

export interface EndpointPlan {
  /** Configured name, else a hash of the endpoint's settings. */
  readonly name: string;
  readonly url: string;
  readonly timeoutMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  /** 0: retry until it succeeds or the component stops. */
  readonly maxRetries: number;
  readonly retryOn429: boolean;
  readonly client: ClientConfig;
  /** Canonical JSON of the settings (secrets revealed): a change replaces the endpoint's client. */
  readonly fingerprint: string;
}

/** @throws Error when two endpoints share a name. */
export function planEndpoints(args: Arguments): EndpointPlan[] {
  const plans = args.endpoint.map((e): EndpointPlan => {
    const fingerprint = settingsFingerprint(e);
    return {
      name: endpointName(e.name, fingerprint),
      url: e.url,
      timeoutMs: e.remote_timeout,
      minBackoffMs: e.min_backoff_period,
      maxBackoffMs: e.max_backoff_period,
      maxRetries: e.max_backoff_retries,
      retryOn429: e.retry_on_http_429,
      client: { ...toClientConfig(e, { url: e.url, timeoutMs: e.remote_timeout, retryOn429: e.retry_on_http_429 }), protocolHeaders: {} },
      fingerprint,
    };
  });
  checkUniqueEndpointNames(plans.map((p) => p.name));
  return plans;
}
