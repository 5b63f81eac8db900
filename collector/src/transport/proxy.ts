/**
 * Outbound HTTP proxies, as Go's `net/http` and Prometheus' common config use them:
 *
 * - `proxyUrl` (an `http://` proxy, optionally with `user:password@`) or, with
 *   `proxyFromEnvironment`, `HTTP_PROXY` / `HTTPS_PROXY` by the target's scheme (upper case first)
 *   and `NO_PROXY`;
 * - `noProxy`: comma-separated hosts; an entry matches the host itself and its subdomains
 *   (`example.com`, `.example.com`), `*` matches everything;
 * - plain `http://` targets are sent to the proxy in absolute form; `https://` targets go through a
 *   `CONNECT` tunnel (with `Proxy-Authorization` from the proxy URL and the configured
 *   `proxyConnectHeaders`), over which TLS is negotiated with the target.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import tls from 'node:tls';
import { redactUrl } from '../logging/redact.js';

export interface ProxySettings {
  readonly proxyUrl?: string | undefined;
  readonly proxyFromEnvironment?: boolean | undefined;
  readonly noProxy?: string | undefined;
  /** Headers sent with CONNECT (e.g. proxy tokens). */
  readonly proxyConnectHeaders?: Readonly<Record<string, string>> | undefined;
}

function noProxyMatches(host: string, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (entry === '*' || host === entry) return true;
    if (host.endsWith(entry.startsWith('.') ? entry : `.${entry}`)) return true;
  }
  return false;
}

/** Chooses the proxy of each target URL. @throws Error naming `proxy_url` when it is unusable. */
export class ProxySelector {
  readonly #fixed: URL | undefined;
  readonly #settings: ProxySettings;

  constructor(s: ProxySettings) {
    this.#settings = s;
    if (s.proxyUrl) this.#fixed = parseProxy(s.proxyUrl, 'proxy_url');
  }

  get connectHeaders(): Readonly<Record<string, string>> {
    return this.#settings.proxyConnectHeaders ?? {};
  }

  /** The proxy for `target`, or undefined to connect directly. */
  proxyFor(target: URL): URL | undefined {
    const s = this.#settings;
    if (this.#fixed) return noProxyMatches(target.hostname, s.noProxy) ? undefined : this.#fixed;
    if (!s.proxyFromEnvironment) return undefined;
    const env = process.env;
    const raw = target.protocol === 'https:' ? (env['HTTPS_PROXY'] ?? env['https_proxy']) : (env['HTTP_PROXY'] ?? env['http_proxy']);
    if (!raw) return undefined;
    if (noProxyMatches(target.hostname, env['NO_PROXY'] ?? env['no_proxy'])) return undefined;
    return parseProxy(raw, target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY');
  }
}

function parseProxy(raw: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`${what}: invalid URL ${JSON.stringify(redactUrl(raw))}`);
  }
  if (u.protocol !== 'http:') throw new Error(`${what}: scheme ${u.protocol} is not supported; use an http:// proxy`);
  return u;
}

/** `Proxy-Authorization` for a proxy URL carrying `user:password@`. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  return `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
}

/** The TLS server name for a host: none for IP literals (SNI forbids them). */
export function serverNameFor(hostname: string, configured: string | undefined): string | undefined {
  if (configured) return configured;
  const h = hostname.replace(/^\[|\]$/g, '');
  return isIP(h) ? undefined : h;
}

/**
 * An https agent whose connections are CONNECT tunnels through `proxy`, with TLS to the target on
 * top; connections are kept alive and reused like any agent's.
 */
export class TunnelAgent extends https.Agent {
  readonly #proxy: URL;
  readonly #connectHeaders: Readonly<Record<string, string>>;

  constructor(proxy: URL, connectHeaders: Readonly<Record<string, string>>, opts: https.AgentOptions) {
    super(opts);
    this.#proxy = proxy;
    this.#connectHeaders = connectHeaders;
  }

  override createConnection(options: https.RequestOptions, cb?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const host = (options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
    const port = Number(options.port ?? 443);
    const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const auth = proxyAuthorization(this.#proxy);
    const req = http.request({
      host: this.#proxy.hostname,
      port: Number(this.#proxy.port || 80),
      method: 'CONNECT',
      path: target,
      headers: { ...this.#connectHeaders, host: target, ...(auth ? { 'proxy-authorization': auth } : {}) },
    });
    req.once('connect', (res, socket: Socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        cb?.(new Error(`proxy CONNECT to ${target} failed: ${res.statusCode} ${res.statusMessage ?? ''}`.trim()), socket);
        return;
      }
      const servername = serverNameFor(host, options.servername ?? undefined);
      const secure = tls.connect({ ...(options as tls.ConnectionOptions), socket, ...(servername ? { servername } : {}) });
      cb?.(null, secure);
    });
    req.once('error', (err) => {
      const e = new Error(`proxy ${this.#proxy.host}: ${err.message}`);
      cb?.(e, new PassThrough());
    });
    req.end();
    return undefined;
  }
}
