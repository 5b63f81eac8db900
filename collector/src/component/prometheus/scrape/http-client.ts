/**
 * The scrape HTTP client: one per scrape config (agents are shared by all targets of a
 * component). Implements Prometheus's HTTP client settings: bearer/basic/authorization auth,
 * TLS (CA, client cert, server name, insecure skip verify, minimum version), HTTP proxies
 * (absolute-form for http, CONNECT tunnels for https), redirects, gzip, body size limit and
 * timeout. Never retries; the scrape loop reports every failure as the target's error.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { SecretLike } from './schema-helpers.js';
import { redactUrl } from '../../../logging/redact.js';
import { fingerprint } from '../../common/fingerprint.js';

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

const TLS_VERSIONS: Record<string, tls.SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

export class BodySizeLimitError extends Error {
  constructor(limit: number) {
    super(`body size limit exceeded: the response is larger than body_size_limit (${limit} bytes)`);
    this.name = 'BodySizeLimitError';
  }
}

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new Error(`unable to read ${what} ${path}: ${(err as Error).message}`);
  }
}

function reveal(v: SecretLike | string): string {
  return typeof v === 'string' ? v : v.reveal();
}

/** Node TLS options from Alloy's `tls_config`. @throws Error naming an unreadable file or bad version. */
export function tlsOptionsOf(t: TlsSettings, what = 'tls_config'): tls.ConnectionOptions {
  const opts: tls.ConnectionOptions = {};
  if (t.ca !== undefined) opts.ca = t.ca;
  if (t.ca_file) opts.ca = readSecretFile(t.ca_file, `${what}.ca_file`);
  if (t.cert !== undefined) opts.cert = t.cert;
  if (t.cert_file) opts.cert = readSecretFile(t.cert_file, `${what}.cert_file`);
  if (t.key !== undefined) opts.key = t.key.reveal();
  if (t.key_file) opts.key = readSecretFile(t.key_file, `${what}.key_file`);
  if (t.server_name) opts.servername = t.server_name;
  opts.rejectUnauthorized = !t.insecure_skip_verify;
  if (t.min_version) {
    const v = TLS_VERSIONS[t.min_version];
    if (!v) throw new Error(`${what}.min_version ${JSON.stringify(t.min_version)} is invalid; use one of ${Object.keys(TLS_VERSIONS).join(', ')}`);
    opts.minVersion = v;
  }
  return opts;
}

/**
 * OAuth2 client-credentials tokens (golang.org/x/oauth2/clientcredentials semantics): client
 * credentials in a Basic header first, in the form body if the server rejects that; tokens are
 * reused until 10 s before `expires_in`.
 */
export class OAuth2TokenSource {
  readonly #cfg: OAuth2Settings;
  readonly #tls: tls.ConnectionOptions;
  #token: { header: string; expiresAt: number } | undefined;
  #bodyAuth = false;

  constructor(cfg: OAuth2Settings, tlsOpts: tls.ConnectionOptions) {
    this.#cfg = cfg;
    this.#tls = tlsOpts;
    try {
      new URL(cfg.token_url);
    } catch {
      throw new Error(`oauth2.token_url ${JSON.stringify(redactUrl(cfg.token_url))} is not a valid URL`);
    }
  }

  async header(signal: AbortSignal): Promise<string> {
    if (this.#token && Date.now() < this.#token.expiresAt) return this.#token.header;
    const secret = this.#cfg.client_secret_file ? readSecretFile(this.#cfg.client_secret_file, 'oauth2.client_secret_file') : (this.#cfg.client_secret?.reveal() ?? '');
    let res = await this.#request(secret, this.#bodyAuth, signal);
    if (!this.#bodyAuth && (res.status === 400 || res.status === 401)) {
      this.#bodyAuth = true;
      res = await this.#request(secret, true, signal);
    }
    if (res.status < 200 || res.status > 299) throw new Error(`oauth2: cannot fetch token from ${redactUrl(this.#cfg.token_url)}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    let tok: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    try {
      tok = JSON.parse(res.body) as typeof tok;
    } catch {
      throw new Error(`oauth2: token response from ${redactUrl(this.#cfg.token_url)} is not JSON`);
    }
    if (typeof tok.access_token !== 'string' || tok.access_token === '') throw new Error('oauth2: server response missing access_token');
    const type = typeof tok.token_type === 'string' && tok.token_type !== '' && tok.token_type.toLowerCase() !== 'bearer' ? tok.token_type : 'Bearer';
    const expiresIn = Number(tok.expires_in);
    const expiresAt = Number.isFinite(expiresIn) && expiresIn > 0 ? Date.now() + expiresIn * 1000 - 10_000 : Number.POSITIVE_INFINITY;
    this.#token = { header: `${type} ${tok.access_token}`, expiresAt };
    return this.#token.header;
  }

  #request(secret: string, inBody: boolean, signal: AbortSignal): Promise<{ status: number; body: string }> {
    const url = new URL(this.#cfg.token_url);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.#cfg.scopes && this.#cfg.scopes.length > 0) form.set('scope', this.#cfg.scopes.join(' '));
    for (const [k, v] of Object.entries(this.#cfg.endpoint_params ?? {})) form.set(k, v);
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (inBody) {
      form.set('client_id', this.#cfg.client_id);
      form.set('client_secret', secret);
    } else {
      headers['Authorization'] = 'Basic ' + Buffer.from(`${encodeURIComponent(this.#cfg.client_id)}:${encodeURIComponent(secret)}`).toString('base64');
    }
    const body = form.toString();
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const r = mod.request(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, signal, ...(url.protocol === 'https:' ? this.#tls : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.once('error', reject);
      });
      r.once('error', reject);
      r.end(body);
    });
  }
}

export class ScrapeHttpClient {
  readonly #settings: HttpClientSettings;
  readonly #tlsOptions: tls.ConnectionOptions;
  readonly #httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  readonly #httpsAgent: https.Agent;
  readonly #proxy: URL | undefined;
  readonly #noProxy: string[];
  readonly #oauth2: OAuth2TokenSource | undefined;

  /** @throws Error naming the unreadable file or invalid option. */
  readonly #dial: ((hostPort: string) => string) | undefined;

  /** `dial` maps a target `host:port` to the address to connect to (the HTTP service's `dialAddress`). */
  constructor(settings: HttpClientSettings, dial?: (hostPort: string) => string) {
    this.#dial = dial;
    this.#settings = settings;
    const opts = settings.tls_config ? tlsOptionsOf(settings.tls_config) : {};
    this.#tlsOptions = opts;
    if (settings.oauth2) this.#oauth2 = new OAuth2TokenSource(settings.oauth2, settings.oauth2.tls_config ? tlsOptionsOf(settings.oauth2.tls_config) : {});
    this.#httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4, ...opts });
    if (settings.proxy_url) {
      try {
        this.#proxy = new URL(settings.proxy_url);
      } catch {
        throw new Error(`proxy_url ${JSON.stringify(redactUrl(settings.proxy_url))} is not a valid URL`);
      }
      if (this.#proxy.protocol !== 'http:') throw new Error(`proxy_url scheme ${this.#proxy.protocol} is not supported; use an http:// proxy`);
    }
    this.#noProxy = (settings.no_proxy ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  }

  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  /** The Authorization header for the configured auth, read fresh (credential files may rotate). */
  authorizationHeader(): string | undefined {
    const s = this.#settings;
    if (s.bearer_token) return `Bearer ${s.bearer_token.reveal()}`;
    if (s.bearer_token_file) return `Bearer ${readSecretFile(s.bearer_token_file, 'bearer_token_file')}`;
    if (s.authorization) {
      const cred = s.authorization.credentials_file
        ? readSecretFile(s.authorization.credentials_file, 'authorization.credentials_file')
        : (s.authorization.credentials?.reveal() ?? '');
      return `${s.authorization.type} ${cred}`;
    }
    if (s.basic_auth) {
      const pw = s.basic_auth.password_file ? readSecretFile(s.basic_auth.password_file, 'basic_auth.password_file') : (s.basic_auth.password?.reveal() ?? '');
      return 'Basic ' + Buffer.from(`${s.basic_auth.username}:${pw}`).toString('base64');
    }
    return undefined;
  }

  #useProxy(url: URL): boolean {
    if (!this.#proxy) return false;
    const host = url.hostname;
    return !this.#noProxy.some((p) => host === p || (p.startsWith('.') ? host.endsWith(p) : host.endsWith('.' + p)));
  }

  async fetch(req: FetchRequest): Promise<FetchResult> {
    const timeout = AbortSignal.timeout(req.timeoutMs);
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    const headers: Record<string, string> = { ...req.headers };
    for (const [k, vs] of Object.entries(this.#settings.http_headers ?? {})) headers[k] = vs.map(reveal).join(', ');
    const auth = this.#oauth2 ? await this.#oauth2.header(signal) : this.authorizationHeader();
    if (auth !== undefined) headers['Authorization'] = auth;
    let url = req.url;
    for (let redirects = 0; ; redirects++) {
      const res = await this.#once(url, headers, req.bodySizeLimit, signal, timeout, req.timeoutMs);
      if (res.status >= 300 && res.status < 400 && res.location !== undefined && this.#settings.follow_redirects) {
        if (redirects >= 10) throw new Error('stopped after 10 redirects');
        url = new URL(res.location, url);
        continue;
      }
      return res;
    }
  }

  async #connectTunnel(url: URL, signal: AbortSignal): Promise<Duplex> {
    const proxy = this.#proxy!;
    const headers: Record<string, string> = { host: `${url.hostname}:${url.port || 443}` };
    for (const [k, vs] of Object.entries(this.#settings.proxy_connect_header ?? {})) headers[k] = (vs as readonly (SecretLike | string)[]).map(reveal).join(', ');
    if (proxy.username) headers['Proxy-Authorization'] = 'Basic ' + Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64');
    return new Promise((resolve, reject) => {
      const r = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: headers['host'], headers, signal });
      r.once('connect', (res, socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          reject(new Error(`proxy CONNECT to ${headers['host']} failed: ${res.statusCode} ${res.statusMessage ?? ''}`));
        } else resolve(socket);
      });
      r.once('error', reject);
      r.end();
    });
  }

  async #once(url: URL, headers: Record<string, string>, limit: number, signal: AbortSignal, timeout: AbortSignal, timeoutMs: number): Promise<FetchResult & { location?: string }> {
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') throw new Error(`unsupported scheme ${url.protocol} (use http or https)`);
    const viaProxy = this.#useProxy(url);
    let options: https.RequestOptions;
    let plainOverTls = false;
    if (viaProxy && !isHttps) {
      const proxy = this.#proxy!;
      const h: Record<string, string> = { ...headers, host: url.host };
      if (proxy.username) h['Proxy-Authorization'] = 'Basic ' + Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64');
      options = { host: proxy.hostname, port: proxy.port || 80, path: url.href, headers: h, agent: this.#httpAgent, signal };
    } else if (viaProxy) {
      // TLS over a CONNECT tunnel: we run the handshake ourselves and speak plain HTTP/1.1 on the
      // TLS socket through a one-shot agent (Node's https agents ignore a custom connection).
      const tunnel = await this.#connectTunnel(url, signal);
      const tlsOpts = this.#tlsOptions;
      const hostname = url.hostname.replace(/^\[|\]$/g, '');
      const servername = tlsOpts.servername ?? (isIP(hostname) ? undefined : hostname);
      const tlsSocket = tls.connect({ ...tlsOpts, socket: tunnel, ...(servername ? { servername } : {}) });
      const agent = new http.Agent({ keepAlive: false });
      (agent as unknown as { createConnection: () => Duplex }).createConnection = () => tlsSocket;
      options = { host: hostname, port: url.port || 443, path: url.pathname + url.search, headers: { host: url.host, ...headers }, signal, agent };
      plainOverTls = true;
    } else {
      let host = url.hostname.replace(/^\[|\]$/g, '');
      let port = url.port || (isHttps ? '443' : '80');
      if (this.#dial) {
        // e.g. `alloy.internal:12345` → this collector's own listen address; Host stays as written.
        const to = new URL(`http://${this.#dial(`${url.hostname}:${port}`)}`);
        host = to.hostname.replace(/^\[|\]$/g, '');
        port = to.port || port;
      }
      options = { host, port, path: url.pathname + url.search, headers: { host: url.host, ...headers }, signal, agent: isHttps ? this.#httpsAgent : this.#httpAgent };
      if (isHttps) options.servername = this.#tlsOptions.servername ?? (/^[\d.:]+$/.test(url.hostname) ? undefined : url.hostname);
    }
    const mod = isHttps && !plainOverTls ? https : http;
    try {
      return await new Promise((resolve, reject) => {
        const r = mod.request({ ...options, method: 'GET' }, (res) => {
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
        r.once('error', reject);
        r.end();
      });
    } catch (err) {
      if (timeout.aborted) throw new Error(`context deadline exceeded: scrape timed out after ${timeoutMs}ms`);
      throw err;
    }
  }
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
