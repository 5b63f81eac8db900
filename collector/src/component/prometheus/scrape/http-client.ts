/**
 * The scrape HTTP client: one per scrape config (connections are shared by all targets of a
 * component). Prometheus's HTTP client settings mapped onto the collector's one outbound transport
 * (`transport/`: auth incl. OAuth2, TLS, proxies with CONNECT tunnels, keep-alive), plus what
 * scraping adds: redirects, gzip/deflate bodies, the body size limit and the scrape timeout. Never
 * retries; the scrape loop reports every failure as the target's error.
 */
import type http from 'node:http';
import type tls from 'node:tls';
import { createGunzip, createInflate } from 'node:zlib';
import type { SecretLike } from './schema-helpers.js';
import { fingerprint } from '../../common/fingerprint.js';
import { Authorizer, OAuth2TokenSource as TransportTokenSource, type Credentials } from '../../../transport/auth.js';
import { HttpTransport } from '../../../transport/client.js';
import { revealSecret, tlsOptions, type TlsSettings as TransportTls } from '../../../transport/tls.js';

export interface TlsSettings {
  readonly ca?: string | undefined;
  readonly ca_file?: string | undefined;
  readonly cert?: string | undefined;
  readonly cert_file?: string | undefined;
  readonly key?: SecretLike | undefined;
  readonly key_file?: string | undefined;
  readonly server_name?: string | undefined;
  readonly insecure_skip_verify: boolean;
  readonly min_version?: string | undefined;
}

export interface OAuth2Settings {
  readonly client_id: string;
  readonly client_secret?: SecretLike | undefined;
  readonly client_secret_file?: string | undefined;
  readonly scopes?: readonly string[] | undefined;
  readonly token_url: string;
  readonly endpoint_params?: Readonly<Record<string, string>> | undefined;
  readonly tls_config?: TlsSettings | undefined;
}

export interface HttpClientSettings {
  readonly oauth2?: OAuth2Settings | undefined;
  readonly bearer_token?: SecretLike | undefined;
  readonly bearer_token_file?: string | undefined;
  readonly basic_auth?: { readonly username: string; readonly password?: SecretLike | undefined; readonly password_file?: string | undefined } | undefined;
  readonly authorization?: { readonly type: string; readonly credentials?: SecretLike | undefined; readonly credentials_file?: string | undefined } | undefined;
  readonly tls_config?: TlsSettings | undefined;
  readonly proxy_url?: string | undefined;
  readonly no_proxy?: string | undefined;
  /** `HTTP_PROXY`/`HTTPS_PROXY` (by the target's scheme) and `NO_PROXY`, read per request. */
  readonly proxy_from_environment?: boolean | undefined;
  readonly proxy_connect_header?: Readonly<Record<string, readonly SecretLike[] | readonly string[]>> | undefined;
  readonly follow_redirects: boolean;
  readonly http_headers?: Readonly<Record<string, readonly (SecretLike | string)[]>> | undefined;
}

export interface FetchRequest {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** 0 means unlimited. Applies to the decompressed body. */
  readonly bodySizeLimit: number;
  readonly signal?: AbortSignal | undefined;
}

export interface FetchResult {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

export class BodySizeLimitError extends Error {
  constructor(limit: number) {
    super(`body size limit exceeded: the response is larger than body_size_limit (${limit} bytes)`);
    this.name = 'BodySizeLimitError';
  }
}

/** The transport's TLS settings of Alloy's `tls_config` fields. */
export function transportTls(t: TlsSettings): TransportTls {
  return {
    ca: t.ca,
    caFile: t.ca_file,
    cert: t.cert,
    certFile: t.cert_file,
    key: t.key,
    keyFile: t.key_file,
    serverName: t.server_name,
    insecureSkipVerify: t.insecure_skip_verify,
    minVersion: t.min_version,
  };
}

/** The transport's credentials of an HTTP client config. */
export function transportCredentials(s: HttpClientSettings): Credentials {
  return {
    bearerToken: s.bearer_token,
    bearerTokenFile: s.bearer_token_file,
    basicAuth: s.basic_auth && { username: s.basic_auth.username, password: s.basic_auth.password, passwordFile: s.basic_auth.password_file },
    authorization: s.authorization && { type: s.authorization.type, credentials: s.authorization.credentials, credentialsFile: s.authorization.credentials_file },
    oauth2: s.oauth2 && {
      clientId: s.oauth2.client_id,
      clientSecret: s.oauth2.client_secret,
      clientSecretFile: s.oauth2.client_secret_file,
      scopes: s.oauth2.scopes,
      tokenUrl: s.oauth2.token_url,
      endpointParams: s.oauth2.endpoint_params,
    },
  };
}

/** Node TLS options from Alloy's `tls_config`. @throws Error naming an unreadable file or bad version. */
export function tlsOptionsOf(t: TlsSettings, what = 'tls_config'): tls.ConnectionOptions {
  return tlsOptions(transportTls(t), what);
}

/** OAuth2 client-credentials tokens of Alloy's `oauth2` block (see `transport/auth.ts`). */
export class OAuth2TokenSource extends TransportTokenSource {
  constructor(cfg: OAuth2Settings, tlsOpts: tls.ConnectionOptions) {
    super(transportCredentials({ oauth2: cfg, follow_redirects: false }).oauth2!, tlsOpts);
  }
}

/** The transport options of an HTTP client config: TLS, proxy, and `dial`. */
export function transportOptions(s: HttpClientSettings, maxSockets: number, dial?: (hostPort: string) => string): ConstructorParameters<typeof HttpTransport>[0] {
  const connect: Record<string, string> = {};
  for (const [k, vs] of Object.entries(s.proxy_connect_header ?? {})) connect[k] = (vs as readonly (SecretLike | string)[]).map(revealSecret).join(', ');
  return {
    ...(s.tls_config ? { tls: transportTls(s.tls_config) } : {}),
    proxy: { proxyUrl: s.proxy_url, proxyFromEnvironment: s.proxy_from_environment, noProxy: s.no_proxy, proxyConnectHeaders: connect },
    maxSockets,
    dial,
  };
}

/** `http_headers` with secrets revealed, multiple values joined. */
export function configuredHeaders(s: HttpClientSettings): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [k, vs] of Object.entries(s.http_headers ?? {})) h[k.toLowerCase()] = vs.map(revealSecret).join(', ');
  return h;
}

export class ScrapeHttpClient {
  readonly #settings: HttpClientSettings;
  readonly #transport: HttpTransport;
  readonly #auth: Authorizer;

  /**
   * `dial` maps a target `host:port` to the address to connect to (the HTTP service's `dialAddress`).
   * @throws Error naming the unreadable file or invalid option.
   */
  constructor(settings: HttpClientSettings, dial?: (hostPort: string) => string) {
    this.#settings = settings;
    this.#transport = new HttpTransport(transportOptions(settings, 4, dial));
    this.#auth = new Authorizer(transportCredentials(settings), settings.oauth2?.tls_config ? tlsOptionsOf(settings.oauth2.tls_config, 'oauth2.tls_config') : {});
  }

  close(): void {
    this.#transport.close();
  }

  async fetch(req: FetchRequest): Promise<FetchResult> {
    // One controller, one timer and one listener per scrape, all released when it ends:
    // `AbortSignal.timeout` keeps its timer until it fires and `AbortSignal.any` registers with
    // the loop's long-lived signal, which cost more CPU than the scrape of a small target.
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort(new Error(`scrape timed out after ${req.timeoutMs}ms`));
    }, req.timeoutMs);
    const outer = req.signal;
    const onAbort = (): void => ac.abort(outer?.reason);
    if (outer) {
      if (outer.aborted) onAbort();
      else outer.addEventListener('abort', onAbort, { once: true });
    }
    const signal = ac.signal;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
    Object.assign(headers, configuredHeaders(this.#settings));
    try {
      const auth = await this.#auth.header(signal);
      if (auth !== undefined) headers['authorization'] = auth;
      let url = req.url;
      for (let redirects = 0; ; redirects++) {
        const res = await this.#once(url, headers, req.bodySizeLimit, signal);
        if (res.status >= 300 && res.status < 400 && res.location !== undefined && this.#settings.follow_redirects) {
          if (redirects >= 10) throw new Error('stopped after 10 redirects');
          url = new URL(res.location, url);
          continue;
        }
        return res;
      }
    } catch (err) {
      if (timedOut && !(err instanceof BodySizeLimitError)) throw new Error(`context deadline exceeded: scrape timed out after ${req.timeoutMs}ms`);
      throw err;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    }
  }

  async #once(url: URL, headers: Record<string, string>, limit: number, signal: AbortSignal): Promise<FetchResult & { location?: string }> {
    const res = await this.#transport.request(url, { method: 'GET', headers, signal });
    return readBounded(res, limit);
  }
}

/** Reads a (possibly gzip/deflate) response body, refusing more than `limit` decompressed bytes (0: unlimited). */
function readBounded(res: http.IncomingMessage, limit: number): Promise<FetchResult & { location?: string }> {
  return new Promise((resolve, reject) => {
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    const enc = (res.headers['content-encoding'] ?? '').toLowerCase();
    let stream: NodeJS.ReadableStream = res;
    if (enc === 'gzip' || enc === 'x-gzip') stream = res.pipe(createGunzip());
    else if (enc === 'deflate') stream = res.pipe(createInflate());
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (limit > 0 && size > limit) {
        res.destroy();
        reject(new BodySizeLimitError(limit));
        return;
      }
      chunks.push(c);
    });
    stream.once('end', () => {
      const out: FetchResult & { location?: string } = { status, contentType: res.headers['content-type'], body: Buffer.concat(chunks, size) };
      if (location !== undefined) out.location = location;
      resolve(out);
    });
    stream.once('error', reject);
    res.once('error', reject);
  });
}

/**
 * The HTTP client of a scraping component across updates: unchanged settings (secrets included,
 * so a rotated token counts as a change) keep the client and its connections; changed settings
 * get a new client, and the old one closes its idle sockets after in-flight scrapes could finish.
 */
export class ScrapeClientSlot {
  readonly #dial: ((hostPort: string) => string) | undefined;
  #client: ScrapeHttpClient | undefined;
  #key = '';

  constructor(dial?: (hostPort: string) => string) {
    this.#dial = dial;
  }

  /** @throws Error before the first `apply`. */
  get client(): ScrapeHttpClient {
    if (this.#client === undefined) throw new Error('ScrapeClientSlot: apply() settings first');
    return this.#client;
  }

  /** @throws Error when the settings are unusable (unreadable TLS files, bad proxy URL); the current client stays. */
  apply(settings: HttpClientSettings): void {
    const key = fingerprint(settings);
    if (key === this.#key && this.#client !== undefined) return;
    const client = new ScrapeHttpClient(settings, this.#dial);
    const old = this.#client;
    if (old) setTimeout(() => old.close(), 300_000).unref();
    this.#client = client;
    this.#key = key;
  }

  close(): void {
    this.#client?.close();
  }
}
