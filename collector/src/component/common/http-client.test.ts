import { z } from 'zod';
import { checkProxy, checkSingleAuth, headersSchema, httpClientFields, toClientConfig } from './http-client.js';

const endpoint = z
  .object({ headers: headersSchema, ...httpClientFields })
  .superRefine((e, ctx) => {
    checkSingleAuth(e, ctx);
    checkProxy(e, ctx);
  });

describe('httpClientFields', () => {
  it('applies Alloy defaults', () => {
    const e = endpoint.parse({});
    expect(e).toMatchObject({ headers: {}, proxy_from_environment: false, follow_redirects: true, enable_http2: true });
    expect(e.basic_auth).toBeUndefined();
  });

  it('rejects two kinds of auth, naming both', () => {
    const r = endpoint.safeParse({ bearer_token: 't', basic_auth: { username: 'u' } });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message)).toEqual(['at most one of basic_auth, authorization, bearer_token & bearer_token_file must be configured (got basic_auth, bearer_token)']);
  });

  it('rejects proxy_url together with proxy_from_environment at path proxy_url', () => {
    const r = endpoint.safeParse({ proxy_url: 'http://p:3128', proxy_from_environment: true });
    expect(r.error?.issues).toEqual([expect.objectContaining({ path: ['proxy_url'], message: 'proxy_url and proxy_from_environment are mutually exclusive' })]);
  });

  it('rejects an unknown TLS min_version', () => {
    expect(endpoint.safeParse({ tls_config: { min_version: 'TLS9' } }).success).toBe(false);
  });
});

describe('toClientConfig', () => {
  it('reveals secret headers, token, password, credentials and key, and takes the target from the caller', () => {
    const e = endpoint.parse({
      headers: { 'X-Scope-OrgID': 'team', 'X-Key': 'k' },
      authorization: { type: 'Token', credentials: 'c' },
      tls_config: { key_pem: 'KEY', cert_pem: 'CERT', server_name: 's' },
      proxy_url: 'http://p:3128',
      no_proxy: 'localhost',
    });
    expect(toClientConfig(e, { url: 'http://x/push', timeoutMs: 5000, retryOn429: false })).toStrictEqual({
      url: 'http://x/push',
      timeoutMs: 5000,
      headers: { 'X-Scope-OrgID': 'team', 'X-Key': 'k' },
      retryOn429: false,
      proxyFromEnvironment: false,
      proxyUrl: 'http://p:3128',
      noProxy: 'localhost',
      tls: { certPem: 'CERT', keyPem: 'KEY', serverName: 's', insecureSkipVerify: false },
      authorization: { type: 'Token', credentials: 'c' },
    });
  });

  it('maps basic_auth and bearer_token_file', () => {
    const basic = toClientConfig(endpoint.parse({ basic_auth: { username: 'u', password_file: '/p' } }), { url: 'u', timeoutMs: 1, retryOn429: true });
    expect(basic.basicAuth).toStrictEqual({ username: 'u', passwordFile: '/p' });
    const bearer = toClientConfig(endpoint.parse({ bearer_token_file: '/t' }), { url: 'u', timeoutMs: 1, retryOn429: true });
    expect(bearer).toMatchObject({ bearerTokenFile: '/t', retryOn429: true });
    expect(bearer.tls).toBeUndefined();
  });
});
