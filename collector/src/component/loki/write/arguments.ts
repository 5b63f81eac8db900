/**
 * `loki.write` arguments with Alloy's names and defaults
 * (`internal/component/loki/write/types.go`), and their conversion to queue plans.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ClientConfig, TlsConfig } from '../../../prom/remotewrite/client.js';
import { byteSize } from '../../../loki/bytes.js';
import { block, blocks, duration, secret } from '../../../syntax/vm/schema.js';
import type { Secret } from '../../../syntax/vm/value.js';

const tlsSchema = z.object({
  ca_pem: z.string().optional(),
  ca_file: z.string().optional(),
  cert_pem: z.string().optional(),
  cert_file: z.string().optional(),
  key_pem: secret().optional(),
  key_file: z.string().optional(),
  server_name: z.string().optional(),
  insecure_skip_verify: z.boolean().default(false),
  min_version: z.enum(['TLS10', 'TLS11', 'TLS12', 'TLS13']).optional(),
});

const unsupported = (what: string, fix: string) =>
  z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined) ctx.addIssue({ code: 'custom', message: `${what} is not supported by this collector; ${fix}` });
    });

const queueSchema = z.object({
  capacity: byteSize().default(10 * 1024 * 1024),
  drain_timeout: duration().default(15_000),
  min_shards: z.number().int().positive().optional(),
});

const endpointSchema = z
  .object({
    name: z.string().default(''),
    url: z.string().url({ error: 'url must be an absolute http(s) URL such as "http://loki:3100/loki/api/v1/push"' }),
    headers: z.record(z.string(), z.union([z.string(), secret()])).default({}),
    batch_wait: duration().default(1_000),
    batch_size: byteSize().default(1024 * 1024),
    remote_timeout: duration().default(10_000),
    tenant_id: z.string().default(''),
    min_backoff_period: duration().default(500),
    max_backoff_period: duration().default(5 * 60_000),
    max_backoff_retries: z.number().int().min(0).default(10),
    retry_on_http_429: z.boolean().default(true),
    bearer_token: secret().optional(),
    bearer_token_file: z.string().optional(),
    basic_auth: block(z.object({ username: z.string().default(''), password: secret().optional(), password_file: z.string().optional() })).optional(),
    authorization: block(z.object({ type: z.string().default('Bearer'), credentials: secret().optional(), credentials_file: z.string().optional() })).optional(),
    tls_config: block(tlsSchema).optional(),
    proxy_url: z.string().optional(),
    no_proxy: z.string().optional(),
    proxy_from_environment: z.boolean().default(false),
    proxy_connect_header: z.record(z.string(), z.unknown()).optional(),
    follow_redirects: z.boolean().default(true),
    enable_http2: z.boolean().default(true),
    queue_config: block(queueSchema).prefault({}),
    oauth2: unsupported('oauth2', 'use basic_auth, bearer_token(_file) or authorization'),
    http_headers: unsupported('http_headers', 'use headers'),
  })
  .superRefine((e, ctx) => {
    const auth = [e.basic_auth && 'basic_auth', e.authorization && 'authorization', e.bearer_token && 'bearer_token', e.bearer_token_file && 'bearer_token_file'].filter(Boolean);
    if (auth.length > 1) ctx.addIssue({ code: 'custom', message: `at most one of basic_auth, authorization, bearer_token & bearer_token_file must be configured (got ${auth.join(', ')})` });
    if (!/^https?:\/\//.test(e.url)) ctx.addIssue({ code: 'custom', path: ['url'], message: `url ${JSON.stringify(e.url)} must use http or https` });
    if (e.min_backoff_period > e.max_backoff_period) ctx.addIssue({ code: 'custom', path: ['min_backoff_period'], message: 'min_backoff_period must not be larger than max_backoff_period' });
    if (e.batch_size <= 0) ctx.addIssue({ code: 'custom', path: ['batch_size'], message: 'batch_size must be larger than 0' });
    if (e.batch_wait <= 0) ctx.addIssue({ code: 'custom', path: ['batch_wait'], message: 'batch_wait must be larger than 0' });
    if (e.proxy_url && e.proxy_from_environment) ctx.addIssue({ code: 'custom', path: ['proxy_url'], message: 'proxy_url and proxy_from_environment are mutually exclusive' });
  });

export const argumentsSchema = z.object({
  endpoint: blocks(endpointSchema).default([]),
  external_labels: z.record(z.string(), z.string()).default({}),
  max_streams: z.number().int().min(0).default(0),
  wal: block(z.record(z.string(), z.unknown()))
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined && v['enabled'] === true) ctx.addIssue({ code: 'custom', message: 'wal (experimental) is not supported by this collector; remove the wal block (entries are buffered in memory)' });
    }),
});

export type Arguments = z.output<typeof argumentsSchema>;
type EndpointArguments = Arguments['endpoint'][number];

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

function tlsConfig(t: z.output<typeof tlsSchema> | undefined): TlsConfig | undefined {
  if (!t) return undefined;
  return {
    ...(t.ca_pem !== undefined ? { caPem: t.ca_pem } : {}),
    ...(t.ca_file !== undefined ? { caFile: t.ca_file } : {}),
    ...(t.cert_pem !== undefined ? { certPem: t.cert_pem } : {}),
    ...(t.cert_file !== undefined ? { certFile: t.cert_file } : {}),
    ...(t.key_pem !== undefined ? { keyPem: t.key_pem.reveal() } : {}),
    ...(t.key_file !== undefined ? { keyFile: t.key_file } : {}),
    ...(t.server_name !== undefined ? { serverName: t.server_name } : {}),
    insecureSkipVerify: t.insecure_skip_verify,
    ...(t.min_version !== undefined ? { minVersion: t.min_version } : {}),
  };
}

function clientConfig(e: EndpointArguments): ClientConfig {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.headers)) headers[k] = typeof v === 'string' ? v : v.reveal();
  const tls = tlsConfig(e.tls_config);
  return {
    url: e.url,
    timeoutMs: e.remote_timeout,
    headers,
    retryOn429: e.retry_on_http_429,
    proxyFromEnvironment: e.proxy_from_environment,
    ...(e.proxy_url ? { proxyUrl: e.proxy_url } : {}),
    ...(e.no_proxy ? { noProxy: e.no_proxy } : {}),
    ...(tls ? { tls } : {}),
    ...(e.bearer_token ? { bearerToken: e.bearer_token.reveal() } : {}),
    ...(e.bearer_token_file ? { bearerTokenFile: e.bearer_token_file } : {}),
    ...(e.basic_auth
      ? {
          basicAuth: {
            username: e.basic_auth.username,
            ...(e.basic_auth.password ? { password: e.basic_auth.password.reveal() } : {}),
            ...(e.basic_auth.password_file ? { passwordFile: e.basic_auth.password_file } : {}),
          },
        }
      : {}),
    ...(e.authorization
      ? {
          authorization: {
            type: e.authorization.type,
            ...(e.authorization.credentials ? { credentials: e.authorization.credentials.reveal() } : {}),
            ...(e.authorization.credentials_file ? { credentialsFile: e.authorization.credentials_file } : {}),
          },
        }
      : {}),
  };
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
      client: clientConfig(e),
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
