/**
 * HTTP sender for one remote-write endpoint: POSTs snappy-compressed WriteRequests with the
 * remote-write 1.0 headers, auth, TLS, proxy and timeout settings, and classifies the answer:
 *
 * - 2xx: `ok`.
 * - 5xx, network errors and timeouts: `retry` (honouring `Retry-After`).
 * - 429: `retry` when `retryOn429`, else `fail`.
 * - any other status: `fail` (the batch is dropped and counted as failed).
 *
 * `send` never throws for transport problems; it returns a result. Constructing a client with an
 * invalid URL or unreadable TLS file throws with the option named.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { PassThrough, type Duplex } from 'node:stream';
import tls from 'node:tls';
import { redactUrl } from '../../logging/redact.js';

export const USER_AGENT = 'Alloy/v1.15.0 (alloy-ts)';

export interface TlsConfig {
  readonly caPem?: string;
  readonly caFile?: string;
  readonly certPem?: string;
  readonly certFile?: string;
  readonly keyPem?: string;
  readonly keyFile?: string;
  readonly serverName?: string;
  readonly insecureSkipVerify?: boolean;
  readonly minVersion?: 'TLS10' | 'TLS11' | 'TLS12' | 'TLS13';
}

export interface ClientConfig {
  readonly url: string;
  readonly timeoutMs: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly basicAuth?: { readonly username: string; readonly password?: string; readonly passwordFile?: string };
  readonly bearerToken?: string;
  readonly bearerTokenFile?: string;
  readonly authorization?: { readonly type?: string; readonly credentials?: string; readonly credentialsFile?: string };
  readonly tls?: TlsConfig;
  readonly proxyUrl?: string;
  readonly proxyFromEnvironment?: boolean;
  readonly noProxy?: string;
  readonly retryOn429: boolean;
  /**
   * Protocol headers sent instead of the remote-write ones (`content-encoding: snappy`,
   * `content-type: application/x-protobuf`, `x-prometheus-remote-write-version`), for other
   * protocols over the same client (e.g. Pyroscope's push API).
   */
  readonly protocolHeaders?: Readonly<Record<string, string>>;
}

export type SendResult =
  | { readonly kind: 'ok'; readonly status: number }
  | { readonly kind: 'retry'; readonly status?: number; readonly retryAfterMs?: number; readonly message: string; readonly responseText?: string }
  | { readonly kind: 'fail'; readonly status: number; readonly message: string; readonly responseText?: string };

/** Per-request changes to the configured request (used by protocols with several paths). */
export interface SendOptions {
  /** Replaces the configured URL's path and query, e.g. `/ingest?name=app`. */
  readonly pathAndQuery?: string;
  /** Headers set on this request only (after the configured ones). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Sender {
  send(body: Buffer, signal: AbortSignal, options?: SendOptions): Promise<SendResult>;
  close(): void;
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(v: string | undefined, now: number): number | undefined {
  if (!v) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;

function tlsOptions(cfg: TlsConfig | undefined): tls.ConnectionOptions {
  if (!cfg) return {};
  const read = (pem: string | undefined, file: string | undefined, what: string): string | undefined => {
    if (pem !== undefined && file !== undefined) throw new Error(`tls_config: set at most one of ${what}_pem and ${what}_file`);
    if (pem !== undefined) return pem;
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (err: unknown) {
      throw new Error(`tls_config: cannot read ${what}_file ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const ca = read(cfg.caPem, cfg.caFile, 'ca');
  const cert = read(cfg.certPem, cfg.certFile, 'cert');
  const key = read(cfg.keyPem, cfg.keyFile, 'key');
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error('tls_config: client certificate and key must be set together (cert_pem/cert_file and key_pem/key_file)');
  }
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(cfg.serverName ? { servername: cfg.serverName } : {}),
    ...(cfg.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
    ...(cfg.minVersion ? { minVersion: TLS_VERSIONS[cfg.minVersion] } : {}),
  };
}

function proxyFor(target: URL, cfg: ClientConfig): URL | undefined {
  let raw: string | undefined = cfg.proxyUrl;
  let noProxy = cfg.noProxy;
  if (!raw && cfg.proxyFromEnvironment) {
    const env = process.env;
    raw = target.protocol === 'https:' ? (env['HTTPS_PROXY'] ?? env['https_proxy']) : (env['HTTP_PROXY'] ?? env['http_proxy']);
    noProxy = env['NO_PROXY'] ?? env['no_proxy'];
  }
  if (!raw) return undefined;
  if (noProxy) {
    const host = target.hostname;
    for (const entry of noProxy.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (entry === '*' || host === entry || host.endsWith(entry.startsWith('.') ? entry : `.${entry}`)) return undefined;
    }
  }
  try {
    return new URL(raw);
  } catch {
    throw new Error(`proxy_url: invalid URL ${JSON.stringify(redactUrl(raw))}`);
  }
}

function proxyAuth(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  return `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
}

/** An https agent that reaches the target through an HTTP CONNECT tunnel. */
class TunnelAgent extends https.Agent {
  readonly #proxy: URL;
  constructor(proxy: URL, opts: https.AgentOptions) {
    super(opts);
    this.#proxy = proxy;
  }
  override createConnection(
    options: https.RequestOptions,
    cb?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = options.hostname ?? options.host ?? 'localhost';
    const port = Number(options.port ?? 443);
    const auth = proxyAuth(this.#proxy);
    const req = http.request({
      host: this.#proxy.hostname,
      port: Number(this.#proxy.port || 80),
      method: 'CONNECT',
      path: `${host}:${port}`,
      headers: { host: `${host}:${port}`, ...(auth ? { 'proxy-authorization': auth } : {}) },
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        cb?.(new Error(`proxy CONNECT to ${host}:${port} answered ${res.statusCode}`), socket);
        return;
      }
      const secure = tls.connect({ ...(options as tls.ConnectionOptions), socket, servername: options.servername ?? host });
      cb?.(null, secure);
    });
    req.once('error', (err) => cb?.(err, new PassThrough()));
    req.end();
    return undefined;
  }
}


export class RemoteWriteClient implements Sender {
  readonly #url: URL;
  readonly #cfg: ClientConfig;
  readonly #agent: http.Agent | https.Agent;
  readonly #proxy: URL | undefined;
  readonly #baseHeaders: Record<string, string>;

  constructor(cfg: ClientConfig) {
    let url: URL;
    try {
      url = new URL(cfg.url);
    } catch {
      throw new Error(`url: invalid remote_write URL ${JSON.stringify(redactUrl(cfg.url))}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`url: unsupported scheme ${url.protocol} in ${redactUrl(cfg.url)} (use http or https)`);
    }
    const authCount = [cfg.basicAuth, cfg.bearerToken, cfg.bearerTokenFile, cfg.authorization].filter((x) => x !== undefined).length;
    if (authCount > 1) {
      throw new Error('at most one of basic_auth, authorization, bearer_token & bearer_token_file must be configured');
    }
    this.#url = url;
    this.#cfg = cfg;
    this.#proxy = proxyFor(url, cfg);
    const agentOpts = { keepAlive: true, maxSockets: 64, ...tlsOptions(cfg.tls) };
    if (url.protocol === 'https:') {
      this.#agent = this.#proxy ? new TunnelAgent(this.#proxy, agentOpts) : new https.Agent(agentOpts);
    } else {
      this.#agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    }
    this.#baseHeaders = {
      ...(cfg.headers ?? {}),
      ...(cfg.protocolHeaders ?? { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0' }),
      'user-agent': USER_AGENT,
    };
    if (url.username) {
      this.#baseHeaders['authorization'] =
        `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    }
  }

  async #authHeader(): Promise<string | undefined> {
    const c = this.#cfg;
    if (c.basicAuth) {
      const pw = c.basicAuth.passwordFile ? (await readFile(c.basicAuth.passwordFile, 'utf8')).trim() : (c.basicAuth.password ?? '');
      return `Basic ${Buffer.from(`${c.basicAuth.username}:${pw}`).toString('base64')}`;
    }
    if (c.bearerToken !== undefined) return `Bearer ${c.bearerToken}`;
    if (c.bearerTokenFile) return `Bearer ${(await readFile(c.bearerTokenFile, 'utf8')).trim()}`;
    if (c.authorization) {
      const cred = c.authorization.credentialsFile
        ? (await readFile(c.authorization.credentialsFile, 'utf8')).trim()
        : (c.authorization.credentials ?? '');
      return `${c.authorization.type ?? 'Bearer'} ${cred}`;
    }
    return undefined;
  }

  async send(body: Buffer, signal: AbortSignal, options?: SendOptions): Promise<SendResult> {
    let auth: string | undefined;
    try {
      auth = await this.#authHeader();
    } catch (err: unknown) {
      return { kind: 'retry', message: `reading credentials: ${err instanceof Error ? err.message : String(err)}` };
    }
    const headers: Record<string, string | number> = { ...this.#baseHeaders, ...(options?.headers ?? {}), 'content-length': body.length };
    if (auth) headers['authorization'] = auth;
    const url = options?.pathAndQuery !== undefined ? new URL(options.pathAndQuery, this.#url) : this.#url;
    const viaHttpProxy = this.#proxy && url.protocol === 'http:';
    const proxyAuthz = viaHttpProxy ? proxyAuth(this.#proxy!) : undefined;
    if (proxyAuthz) headers['proxy-authorization'] = proxyAuthz;
    const mod = url.protocol === 'https:' ? https : http;
    const opts: http.RequestOptions = viaHttpProxy
      ? { host: this.#proxy!.hostname, port: Number(this.#proxy!.port || 80), path: url.href, method: 'POST', headers, agent: this.#agent }
      : {
          host: url.hostname,
          port: url.port ? Number(url.port) : undefined,
          path: url.pathname + url.search,
          method: 'POST',
          headers,
          agent: this.#agent,
        };
    return new Promise<SendResult>((resolve) => {
      let done = false;
      const finish = (r: SendResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const req = mod.request(opts, (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 1024) chunks.push(c);
          size += c.length;
        });
        res.on('error', (err) => finish({ kind: 'retry', status, message: err.message }));
        res.on('end', () => {
          const text = Buffer.concat(chunks).subarray(0, 1024).toString('utf8').trim();
          if (status >= 200 && status < 300) return finish({ kind: 'ok', status });
          const message = `server returned HTTP status ${status} ${res.statusMessage ?? ''}: ${text}`.trim();
          const retryAfterMs = parseRetryAfter(res.headers['retry-after'], Date.now());
          if (status >= 500 || (status === 429 && this.#cfg.retryOn429)) {
            return finish({ kind: 'retry', status, message, responseText: text, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
          }
          return finish({ kind: 'fail', status, message, responseText: text });
        });
      });
      const timer = setTimeout(() => {
        req.destroy(new Error(`context deadline exceeded (remote_timeout ${this.#cfg.timeoutMs}ms)`));
      }, this.#cfg.timeoutMs);
      const onAbort = (): void => {
        req.destroy(new Error('send aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => finish({ kind: 'retry', message: err.message }));
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
