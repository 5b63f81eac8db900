/**
 * HTTP client fields of write endpoints (`loki.write`, `prometheus.remote_write`), after Alloy's
 * `common/config` `HTTPClientConfig`: zod fields with Alloy's names and defaults, the checks that
 * go with them, and `toClientConfig()` which reveals secrets into `ClientConfig`.
 * Callers spread `httpClientFields` into their endpoint object and keep what differs (the url,
 * timeout, where `retry_on_http_429` lives, unsupported auth kinds) at the call site.
 */
import { z } from 'zod';
import type { ClientConfig, TlsConfig } from '../../prom/remotewrite/client.js';
import { block, secret, unsupported } from '../../syntax/vm/schema.js';

/** `tls_config` fields except `min_version` (whose accepted values differ between callers). */
export const tlsFields = {
  ca_pem: z.string().optional(),
  ca_file: z.string().optional(),
  cert_pem: z.string().optional(),
  cert_file: z.string().optional(),
  key_pem: secret().optional(),
  key_file: z.string().optional(),
  server_name: z.string().optional(),
  insecure_skip_verify: z.boolean().default(false),
};

export const tlsConfigSchema = z.object({ ...tlsFields, min_version: z.enum(['TLS10', 'TLS11', 'TLS12', 'TLS13']).optional() });

export const basicAuthSchema = z.object({ username: z.string().default(''), password: secret().optional(), password_file: z.string().optional() });
export const authorizationSchema = z.object({ type: z.string().default('Bearer'), credentials: secret().optional(), credentials_file: z.string().optional() });

/** Request headers; values may be secrets. */
export const headersSchema = z.record(z.string(), z.union([z.string(), secret()])).default({});

/** The fix named for auth kinds this collector does not support yet. */
export const AUTH_FIX = 'use basic_auth, bearer_token, bearer_token_file or authorization';

/** Auth, TLS and proxy fields of an endpoint block; spread into the caller's `z.object`. */
export const httpClientFields = {
  bearer_token: secret().optional(),
  bearer_token_file: z.string().optional(),
  basic_auth: block(basicAuthSchema).optional(),
  authorization: block(authorizationSchema).optional(),
  tls_config: block(tlsConfigSchema).optional(),
  proxy_url: z.string().optional(),
  no_proxy: z.string().optional(),
  proxy_from_environment: z.boolean().default(false),
  proxy_connect_header: z.record(z.string(), z.unknown()).optional(),
  follow_redirects: z.boolean().default(true),
  enable_http2: z.boolean().default(true),
  oauth2: unsupported(AUTH_FIX),
  http_headers: unsupported('use the endpoint\'s headers attribute'),
};

export type HttpClientArguments = z.output<z.ZodObject<typeof httpClientFields>> & { readonly headers: z.output<typeof headersSchema> };

/** Adds an issue when more than one of basic_auth, authorization, bearer_token(_file) is set. */
export function checkSingleAuth(e: HttpClientArguments, ctx: z.RefinementCtx): void {
  const auth = [e.basic_auth && 'basic_auth', e.authorization && 'authorization', e.bearer_token && 'bearer_token', e.bearer_token_file && 'bearer_token_file'].filter(Boolean);
  if (auth.length > 1) ctx.addIssue({ code: 'custom', message: `at most one of basic_auth, authorization, bearer_token & bearer_token_file must be configured (got ${auth.join(', ')})` });
}

/** Adds an issue when both proxy_url and proxy_from_environment are set. */
export function checkProxy(e: HttpClientArguments, ctx: z.RefinementCtx): void {
  if (e.proxy_url && e.proxy_from_environment) ctx.addIssue({ code: 'custom', path: ['proxy_url'], message: 'proxy_url and proxy_from_environment are mutually exclusive' });
}

export function toTlsConfig(t: z.output<typeof tlsConfigSchema> | undefined): TlsConfig | undefined {
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

/** What the caller decides: the target, its timeout, and whether a 429 is retried. */
export interface ClientTarget {
  readonly url: string;
  readonly timeoutMs: number;
  readonly retryOn429: boolean;
}

/** Maps the client fields to `ClientConfig`, revealing secret headers, token and credentials. */
export function toClientConfig(e: HttpClientArguments, target: ClientTarget): ClientConfig {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.headers)) headers[k] = typeof v === 'string' ? v : v.reveal();
  const tls = toTlsConfig(e.tls_config);
  return {
    url: target.url,
    timeoutMs: target.timeoutMs,
    headers,
    retryOn429: target.retryOn429,
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
            ...(e.authorization.credentials !== undefined ? { credentials: e.authorization.credentials.reveal() } : {}),
            ...(e.authorization.credentials_file ? { credentialsFile: e.authorization.credentials_file } : {}),
          },
        }
      : {}),
  };
}
