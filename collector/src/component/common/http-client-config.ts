/**
 * Alloy's full `HTTPClientConfig` as components that *read* from an HTTP endpoint declare it
 * (`prometheus.scrape`, `discovery.kubernetes`): the zod fields (bearer token/file, basic_auth,
 * authorization, oauth2, tls_config, proxy settings, redirects, HTTP/2, headers), the cross-field
 * checks Alloy's `HTTPClientConfig.Validate` makes, and `clientSettings()` mapping decoded
 * arguments to the scrape HTTP client's `HttpClientSettings`.
 * Callers spread `httpClientConfigFields` into their `z.object` and call `checkHttpClientConfig`
 * from their `superRefine`.
 */
import { z } from 'zod';
import { block, secret } from '../../syntax/vm/schema.js';
import { authorizationSchema, basicAuthSchema, tlsFields } from './http-client.js';
import type { HttpClientSettings, TlsSettings } from '../prometheus/scrape/http-client.js';

/** Stricter than the write endpoints' `tls_config`: unknown keys and pem/file pairs are rejected; any min_version string passes here. */
export const tlsConfig = z
  .object({ ...tlsFields, min_version: z.string().optional() })
  .strict()
  .superRefine((t, ctx) => {
    if (t.ca_pem !== undefined && t.ca_file !== undefined) ctx.addIssue({ code: 'custom', message: 'at most one of ca_pem and ca_file must be configured' });
    if (t.cert_pem !== undefined && t.cert_file !== undefined) ctx.addIssue({ code: 'custom', message: 'at most one of cert_pem and cert_file must be configured' });
    if (t.key_pem !== undefined && t.key_file !== undefined) ctx.addIssue({ code: 'custom', message: 'at most one of key_pem and key_file must be configured' });
    const hasCert = t.cert_pem !== undefined || t.cert_file !== undefined;
    const hasKey = t.key_pem !== undefined || t.key_file !== undefined;
    if (hasCert !== hasKey) ctx.addIssue({ code: 'custom', message: 'exactly one of key_pem or key_file must be configured when a client certificate is configured (and vice versa)' });
  });

/** The HTTP client fields of a reading component; spread into the caller's `z.object`. */
export const httpClientConfigFields = {
  bearer_token: secret().optional(),
  bearer_token_file: z.string().optional(),
  proxy_url: z.string().optional(),
  no_proxy: z.string().optional(),
  proxy_from_environment: z.boolean().default(false),
  proxy_connect_header: z.record(z.string(), z.array(secret())).optional(),
  follow_redirects: z.boolean().default(true),
  enable_http2: z.boolean().default(true),
  http_headers: z.record(z.string(), z.array(secret())).optional(),
  basic_auth: block(basicAuthSchema.strict()).optional(),
  authorization: block(authorizationSchema.strict()).optional(),
  tls_config: block(tlsConfig).optional(),
  oauth2: block(
    z
      .object({
        client_id: z.string().default(''),
        client_secret: secret().optional(),
        client_secret_file: z.string().optional(),
        scopes: z.array(z.string()).optional(),
        token_url: z.string(),
        endpoint_params: z.record(z.string(), z.string()).optional(),
        proxy_url: z.string().optional(),
        no_proxy: z.string().optional(),
        proxy_from_environment: z.boolean().default(false),
        proxy_connect_header: z.record(z.string(), z.array(secret())).optional(),
        tls_config: block(tlsConfig).optional(),
      })
      .strict()
      .superRefine((o, ctx) => {
        if (o.client_secret !== undefined && o.client_secret_file !== undefined) ctx.addIssue({ code: 'custom', message: 'at most one of oauth2 client_secret & client_secret_file must be configured' });
        if (o.proxy_url !== undefined || o.proxy_from_environment) ctx.addIssue({ code: 'custom', path: ['proxy_url'], message: 'a proxy for the oauth2 token request is not supported by this collector; remove oauth2 proxy_url/proxy_from_environment' });
      }),
  ).optional(),
};

export type HttpClientConfigArguments = z.output<z.ZodObject<typeof httpClientConfigFields>>;

/** Alloy's `HTTPClientConfig.Validate`: adds an issue per conflicting setting. */
export function checkHttpClientConfig(a: HttpClientConfigArguments, ctx: z.RefinementCtx): void {
  const auths = [a.basic_auth, a.authorization, a.oauth2, a.bearer_token !== undefined || a.bearer_token_file !== undefined ? true : undefined].filter((x) => x !== undefined);
  if (auths.length > 1) ctx.addIssue({ code: 'custom', message: 'at most one of basic_auth, authorization, oauth2, bearer_token & bearer_token_file must be configured' });
  if (a.bearer_token !== undefined && a.bearer_token_file !== undefined) ctx.addIssue({ code: 'custom', message: 'at most one of bearer_token & bearer_token_file must be configured' });
  if (a.basic_auth && a.basic_auth.password !== undefined && a.basic_auth.password_file !== undefined) ctx.addIssue({ code: 'custom', path: ['basic_auth'], message: 'at most one of basic_auth password & password_file must be configured' });
  if (a.authorization && a.authorization.credentials !== undefined && a.authorization.credentials_file !== undefined) ctx.addIssue({ code: 'custom', path: ['authorization'], message: 'at most one of authorization credentials & credentials_file must be configured' });
  if (a.authorization && a.authorization.type.toLowerCase() === 'basic') ctx.addIssue({ code: 'custom', path: ['authorization', 'type'], message: 'authorization type cannot be set to "basic", use "basic_auth" instead' });
  if (a.proxy_from_environment && a.proxy_url !== undefined) ctx.addIssue({ code: 'custom', message: 'if proxy_from_environment is configured, proxy_url must not be configured' });
  if (a.no_proxy !== undefined && a.proxy_url === undefined) ctx.addIssue({ code: 'custom', path: ['no_proxy'], message: 'if no_proxy is configured, proxy_url must also be configured' });
}

type TlsArgs = NonNullable<HttpClientConfigArguments['tls_config']>;
export function tlsSettings(t: TlsArgs): TlsSettings {
  return { ca: t.ca_pem, ca_file: t.ca_file, cert: t.cert_pem, cert_file: t.cert_file, key: t.key_pem, key_file: t.key_file, server_name: t.server_name, insecure_skip_verify: t.insecure_skip_verify, min_version: t.min_version };
}

/** Maps the decoded fields to the scrape HTTP client settings (resolving proxy_from_environment). */
export function clientSettings(a: HttpClientConfigArguments): HttpClientSettings {
  const t = a.tls_config;
  return {
    bearer_token: a.bearer_token,
    bearer_token_file: a.bearer_token_file,
    basic_auth: a.basic_auth,
    authorization: a.authorization,
    oauth2: a.oauth2 && {
      client_id: a.oauth2.client_id,
      client_secret: a.oauth2.client_secret,
      client_secret_file: a.oauth2.client_secret_file,
      scopes: a.oauth2.scopes,
      token_url: a.oauth2.token_url,
      endpoint_params: a.oauth2.endpoint_params,
      tls_config: a.oauth2.tls_config && tlsSettings(a.oauth2.tls_config),
    },
    tls_config: t && tlsSettings(t),
    proxy_url: a.proxy_url,
    no_proxy: a.no_proxy,
    proxy_from_environment: a.proxy_from_environment,
    proxy_connect_header: a.proxy_connect_header,
    follow_redirects: a.follow_redirects,
    http_headers: a.http_headers,
  };
}

