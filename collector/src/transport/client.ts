/**
 * The outbound HTTP transport of every client in the collector (remote-write, Loki and Pyroscope
 * writers, scrapers, the Kubernetes client, the OTLP/HTTP exporter): keep-alive agents with the
 * client's TLS settings, the proxy of each target (absolute form for http, a kept-alive CONNECT
 * tunnel for https), optional dialling overrides, a deadline and an abort signal per request.
 *
 * Contracts:
 * - `request` resolves with the response once its headers arrived (any status; the caller reads or
 *   discards the body) and rejects with an Error for transport failures: connection errors, TLS
 *   failures, a refused CONNECT, or the deadline (`timeoutMessage`) / abort signal.
 * - The deadline covers the whole exchange: a body still streaming when it passes is destroyed
 *   with the same error. `timeoutMs` 0 means no deadline (watches, log streams).
 * - Connections are reused per transport; `close` destroys them. Constructing with unusable TLS
 *   files or proxy URL throws with the option named.
 */
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import { ProxySelector, proxyAuthorization, serverNameFor, TunnelAgent, type ProxySettings } from './proxy.js';
import { tlsOptions, type TlsSettings } from './tls.js';

export interface TransportOptions {
  readonly tls?: TlsSettings | undefined;
  /** Names the TLS block in messages; default `tls_config`. */
  readonly tlsWhat?: string | undefined;
  readonly proxy?: ProxySettings | undefined;
  /** Upper bound of connections per host (default 64). */
  readonly maxSockets?: number | undefined;
  /** Idle connections kept per host (Node's default 256). */
  readonly maxFreeSockets?: number | undefined;
  /** Reuse connections (default true). */
  readonly keepAlive?: boolean | undefined;
  /** Maps a direct target's `host:port` to the address to connect to; `Host` stays as written. */
  readonly dial?: ((hostPort: string) => string) | undefined;
}

export interface TransportRequest {
  readonly method: string;
  readonly headers?: Readonly<Record<string, string | number>> | undefined;
  readonly body?: Uint8Array | string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Deadline of the whole exchange; 0 or absent: none. */
  readonly timeoutMs?: number | undefined;
  /** The error message when the deadline passes (default `request timed out after <n>ms`). */
  readonly timeoutMessage?: string | undefined;
}

export class HttpTransport {
  readonly #tls: tls.ConnectionOptions;
  readonly #proxy: ProxySelector;
  readonly #dial: ((hostPort: string) => string) | undefined;
  readonly #agentOptions: http.AgentOptions;
  readonly #http: http.Agent;
  #https: https.Agent | undefined;
  readonly #tunnels = new Map<string, TunnelAgent>();

  /** @throws Error naming an unreadable TLS file, a bad TLS option or an unusable proxy URL. */
  constructor(o: TransportOptions = {}) {
    this.#tls = tlsOptions(o.tls, o.tlsWhat);
    this.#proxy = new ProxySelector(o.proxy ?? {});
    this.#dial = o.dial;
    this.#agentOptions = { keepAlive: o.keepAlive ?? true, maxSockets: o.maxSockets ?? 64, ...(o.maxFreeSockets !== undefined ? { maxFreeSockets: o.maxFreeSockets } : {}) };
    this.#http = new http.Agent(this.#agentOptions);
  }

  /** The TLS options of this transport (e.g. for a token endpoint sharing them). */
  get tlsOptions(): tls.ConnectionOptions {
    return this.#tls;
  }

  close(): void {
    this.#http.destroy();
    this.#https?.destroy();
    for (const a of this.#tunnels.values()) a.destroy();
    this.#tunnels.clear();
  }

  #httpsAgent(): https.Agent {
    return (this.#https ??= new https.Agent({ ...this.#agentOptions, ...this.#tls }));
  }

  #tunnelAgent(proxy: URL): TunnelAgent {
    let a = this.#tunnels.get(proxy.href);
    if (!a) {
      a = new TunnelAgent(proxy, this.#proxy.connectHeaders, { ...this.#agentOptions, ...this.#tls });
      this.#tunnels.set(proxy.href, a);
    }
    return a;
  }

  /** Sends one request to `url`. @throws Error for an unsupported scheme. */
  request(url: URL, req: TransportRequest): Promise<http.IncomingMessage> {
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') return Promise.reject(new Error(`unsupported scheme ${url.protocol} (use http or https)`));
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const headers: Record<string, string | number> = { host: url.host, ...req.headers };
    const proxy = this.#proxy.proxyFor(url);
    let options: https.RequestOptions;
    let mod: typeof http | typeof https = isHttps ? https : http;
    if (proxy && !isHttps) {
      const auth = proxyAuthorization(proxy);
      if (auth) headers['proxy-authorization'] = auth;
      options = { host: proxy.hostname, port: Number(proxy.port || 80), path: url.href, agent: this.#http };
      mod = http;
    } else if (proxy) {
      options = { host: hostname, port: Number(url.port || 443), path: url.pathname + url.search, agent: this.#tunnelAgent(proxy) };
      const sn = serverNameFor(hostname, this.#tls.servername);
      if (sn) options.servername = sn;
    } else {
      let host = hostname;
      let port = url.port || (isHttps ? '443' : '80');
      if (this.#dial) {
        const to = new URL(`http://${this.#dial(`${url.hostname}:${port}`)}`);
        host = to.hostname.replace(/^\[|\]$/g, '');
        port = to.port || port;
      }
      options = { host, port: Number(port), path: url.pathname + url.search, agent: isHttps ? this.#httpsAgent() : this.#http };
      if (isHttps) {
        const sn = serverNameFor(hostname, this.#tls.servername);
        if (sn) options.servername = sn;
      }
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const signal = req.signal;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        cleanup();
        reject(err);
      };
      let response: http.IncomingMessage | undefined;
      const r = mod.request({ ...options, method: req.method, headers }, (res) => {
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        response = res;
        // The deadline and the signal keep covering the body the caller reads.
        res.once('close', cleanup);
        resolve(res);
      });
      const stop = (err: Error): void => {
        if (response) response.destroy(err);
        else r.destroy(err);
      };
      const onAbort = (): void => {
        const reason: unknown = signal?.reason;
        stop(reason instanceof Error ? reason : new Error('request aborted'));
      };
      if (req.timeoutMs && req.timeoutMs > 0) {
        const ms = req.timeoutMs;
        timer = setTimeout(() => stop(new Error(req.timeoutMessage ?? `request timed out after ${ms}ms`)), ms);
      }
      if (signal) {
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
      r.on('error', fail);
      if (req.body !== undefined) r.end(req.body);
      else r.end();
    });
  }
}

/** Reads a response body into one Buffer, at most `limit` bytes kept (the rest is read and dropped). */
export function readResponse(res: http.IncomingMessage, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    res.on('data', (c: Buffer) => {
      if (kept >= limit) return;
      const part = kept + c.length > limit ? c.subarray(0, limit - kept) : c;
      chunks.push(part);
      kept += part.length;
    });
    res.once('end', () => resolve(Buffer.concat(chunks, kept)));
    res.once('error', reject);
    res.once('close', () => {
      if (!res.complete) reject(res.errored ?? new Error('response closed before its end'));
    });
  });
}
