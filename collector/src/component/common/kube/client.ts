/**
 * A thin Kubernetes API client over node:http(s): JSON GETs, watch streams and raw streams (for
 * `pods/log?follow=true`), with the connection's auth (bearer token/file re-read per request,
 * basic auth, authorization, OAuth2), TLS and HTTP proxy (absolute-form for http, CONNECT
 * tunnel for https; `no_proxy` honoured).
 *
 * Contracts:
 * - A non-2xx answer rejects with `KubeApiError` carrying the status, the Status `reason` and the
 *   server's own message (for a 403: `pods is forbidden: User "..." cannot list resource "pods"
 *   ...`), prefixed with what was being done.
 * - `watch` resolves when the server ends the stream (timeout) or `signal` aborts; an `ERROR`
 *   event rejects with a `KubeApiError` of the Status it carries (410 for expired versions).
 * - Nothing here retries; `Informer` (informer.ts) owns retry, backoff and relisting.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import { OAuth2TokenSource, ScrapeHttpClient, tlsOptionsOf } from '../../prometheus/scrape/http-client.js';
import type { KubeConnection } from './config.js';

export const KUBE_USER_AGENT = 'Alloy/v1.15.0 (alloy-ts)';

/** The parts of a Kubernetes object the client and informers read. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences?: ReadonlyArray<{ readonly kind: string; readonly name: string; readonly controller?: boolean }>;
    readonly [k: string]: unknown;
  };
  readonly [k: string]: unknown;
}

export interface KubeList<T extends KubeObject> {
  readonly metadata: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items: readonly T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T extends KubeObject> {
  readonly type: WatchEventType;
  readonly object: T;
}

export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(status: number, message: string, reason?: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 410: 'Gone', 500: 'Internal Server Error', 503: 'Service Unavailable' };

function statusError(status: number, body: string, doing: string): KubeApiError {
  let message = body.trim().slice(0, 500);
  let reason: string | undefined;
  try {
    const s = JSON.parse(body) as { message?: unknown; reason?: unknown };
    if (typeof s.message === 'string') message = s.message;
    if (typeof s.reason === 'string') reason = s.reason;
  } catch {
    // not a Status object
  }
  const text = STATUS_TEXT[status] ?? '';
  return new KubeApiError(status, `${doing}: ${status}${text ? ` ${text}` : ''}${message ? `: ${message}` : ''}`, reason);
}

export type Query = Readonly<Record<string, string | undefined>>;

export class KubeClient {
  readonly #conn: KubeConnection;
  readonly #tls: tls.ConnectionOptions;
  readonly #auth: ScrapeHttpClient;
  readonly #oauth2: OAuth2TokenSource | undefined;
  readonly #agent: http.Agent;
  readonly #proxy: URL | undefined;
  readonly #noProxy: string[];

  /** @throws Error naming an unreadable TLS file or invalid proxy URL. */
  constructor(conn: KubeConnection) {
    this.#conn = conn;
    const s = conn.settings;
    this.#tls = s.tls_config ? tlsOptionsOf(s.tls_config) : {};
    this.#auth = new ScrapeHttpClient(s);
    this.#oauth2 = s.oauth2 ? new OAuth2TokenSource(s.oauth2, s.oauth2.tls_config ? tlsOptionsOf(s.oauth2.tls_config, 'oauth2.tls_config') : {}) : undefined;
    this.#agent = conn.server.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...this.#tls }) : new http.Agent({ keepAlive: true });
    if (s.proxy_url) {
      try {
        this.#proxy = new URL(s.proxy_url);
      } catch {
        throw new Error(`proxy_url ${JSON.stringify(s.proxy_url)} is not a valid URL`);
      }
      if (this.#proxy.protocol !== 'http:') throw new Error(`proxy_url scheme ${this.#proxy.protocol} is not supported; use an http:// proxy`);
    }
    this.#noProxy = (s.no_proxy ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
  }

  get connection(): KubeConnection {
    return this.#conn;
  }

  close(): void {
    this.#agent.destroy();
    this.#auth.close();
  }

  /** GET a JSON document. @throws KubeApiError for non-2xx answers, Error for transport failures. */
  async getJson<T>(apiPath: string, query: Query, signal: AbortSignal, doing = `GET ${apiPath}`): Promise<T> {
    const res = await this.#open(apiPath, query, signal, doing, 60_000);
    const body = await readAll(res);
    try {
      return JSON.parse(body) as T;
    } catch {
      throw new Error(`${doing}: the server answered with a body that is not JSON`);
    }
  }

  /**
   * Lists a collection, following `continue` tokens (pages of `limit`). `transform` runs on each
   * item as its page arrives, so only one page of whole decoded objects is alive at a time.
   */
  async list<T extends KubeObject>(apiPath: string, query: Query, signal: AbortSignal, limit = 500, transform?: (obj: T) => T): Promise<KubeList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page = await this.getJson<KubeList<T>>(apiPath, { ...query, limit: String(limit), ...(cont ? { continue: cont } : {}) }, signal, `listing ${describe(apiPath)}`);
      for (const item of page.items ?? []) items.push(transform ? transform(item) : item);
      rv = page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { metadata: rv !== undefined ? { resourceVersion: rv } : {}, items };
  }

  /**
   * Watches a collection; `onEvent` runs for every ADDED/MODIFIED/DELETED/BOOKMARK event in order.
   * `onOpen` runs once the server accepted the watch. Resolves when the stream ends.
   */
  async watch<T extends KubeObject>(apiPath: string, query: Query, signal: AbortSignal, onEvent: (e: WatchEvent<T>) => void, onOpen?: () => void): Promise<void> {
    const doing = `watching ${describe(apiPath)}`;
    const res = await this.#open(apiPath, { ...query, watch: 'true' }, signal, doing, 0);
    onOpen?.();
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      let failed = false;
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        res.destroy();
        reject(err);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while (!failed && (nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === '') continue;
          let ev: { type?: string; object?: unknown };
          try {
            ev = JSON.parse(line) as typeof ev;
          } catch {
            fail(new Error(`${doing}: malformed watch event`));
            return;
          }
          if (ev.type === 'ERROR') {
            const st = (ev.object ?? {}) as { code?: number; message?: string; reason?: string };
            fail(new KubeApiError(st.code ?? 500, `${doing}: ${st.code ?? 500} ${st.reason ?? ''}: ${st.message ?? ''}`.replace(/ {2,}/g, ' '), st.reason));
            return;
          }
          if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED' && ev.type !== 'BOOKMARK') continue;
          try {
            onEvent({ type: ev.type, object: ev.object as T });
          } catch (err) {
            fail(err instanceof Error ? err : new Error(String(err)));
            return;
          }
        }
      });
      res.once('end', () => {
        if (!failed) resolve();
      });
      res.once('error', (err) => (signal.aborted ? resolve() : fail(err)));
      res.once('close', () => {
        if (!failed) resolve();
      });
    });
  }

  /** Opens a streaming GET (e.g. `pods/<name>/log?follow=true`); the caller consumes and destroys it. */
  stream(apiPath: string, query: Query, signal: AbortSignal): Promise<Readable> {
    return this.#open(apiPath, query, signal, `GET ${apiPath}`, 0);
  }

  #useProxy(url: URL): boolean {
    if (!this.#proxy) return false;
    const host = url.hostname;
    return !this.#noProxy.some((p) => host === p || (p.startsWith('.') ? host.endsWith(p) : host.endsWith('.' + p)));
  }

  async #headers(signal: AbortSignal): Promise<Record<string, string>> {
    const h: Record<string, string> = { accept: 'application/json', 'user-agent': KUBE_USER_AGENT };
    for (const [k, vs] of Object.entries(this.#conn.settings.http_headers ?? {})) h[k] = vs.map((v) => (typeof v === 'string' ? v : v.reveal())).join(', ');
    const auth = this.#oauth2 ? await this.#oauth2.header(signal) : this.#auth.authorizationHeader();
    if (auth !== undefined) h['authorization'] = auth;
    return h;
  }

  async #open(apiPath: string, query: Query, signal: AbortSignal, doing: string, timeoutMs: number): Promise<http.IncomingMessage> {
    const url = new URL(this.#conn.server.href.replace(/\/$/, '') + apiPath);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
    let headers: Record<string, string>;
    try {
      headers = await this.#headers(signal);
    } catch (err) {
      throw new Error(`${doing}: ${(err as Error).message}`);
    }
    const sig = timeoutMs > 0 ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : signal;
    const isHttps = url.protocol === 'https:';
    let options: https.RequestOptions;
    if (this.#useProxy(url) && !isHttps) {
      const proxy = this.#proxy!;
      options = { host: proxy.hostname, port: proxy.port || 80, path: url.href, headers: { ...headers, host: url.host, ...proxyAuth(proxy) }, signal: sig };
    } else if (this.#useProxy(url)) {
      const socket = await this.#tunnel(url, sig, doing);
      const hostname = url.hostname.replace(/^\[|\]$/g, '');
      const servername = this.#tls.servername ?? (isIP(hostname) ? undefined : hostname);
      const secure = tls.connect({ ...this.#tls, socket, ...(servername ? { servername } : {}) });
      options = { host: hostname, port: url.port || 443, path: url.pathname + url.search, headers: { ...headers, host: url.host }, signal: sig, createConnection: () => secure };
      return this.#send(http, options, doing);
    } else {
      const hostname = url.hostname.replace(/^\[|\]$/g, '');
      options = { host: hostname, port: url.port || (isHttps ? 443 : 80), path: url.pathname + url.search, headers: { ...headers, host: url.host }, signal: sig, agent: this.#agent };
      if (isHttps) options.servername = this.#tls.servername ?? (isIP(hostname) ? undefined : hostname);
    }
    return this.#send(isHttps ? https : http, options, doing);
  }

  #send(mod: typeof http | typeof https, options: https.RequestOptions, doing: string): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = mod.request({ ...options, method: 'GET' }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(res);
          return;
        }
        readAll(res).then(
          (body) => reject(statusError(status, body, doing)),
          (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
        );
      });
      req.once('error', (err) => reject(new Error(`${doing}: ${err.message}`)));
      req.end();
    });
  }

  #tunnel(url: URL, signal: AbortSignal, doing: string): Promise<import('node:net').Socket> {
    const proxy = this.#proxy!;
    const target = `${url.hostname}:${url.port || 443}`;
    const headers: Record<string, string> = { host: target, ...proxyAuth(proxy) };
    for (const [k, vs] of Object.entries(this.#conn.settings.proxy_connect_header ?? {})) headers[k] = (vs as readonly { reveal(): string }[]).map((v) => v.reveal()).join(', ');
    return new Promise((resolve, reject) => {
      const r = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: target, headers, signal });
      r.once('connect', (res, socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          reject(new Error(`${doing}: proxy CONNECT to ${target} failed: ${res.statusCode} ${res.statusMessage ?? ''}`));
        } else resolve(socket);
      });
      r.once('error', (err) => reject(new Error(`${doing}: proxy ${proxy.host}: ${err.message}`)));
      r.end();
    });
  }
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  return { 'proxy-authorization': 'Basic ' + Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64') };
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
  });
}

/** `/api/v1/namespaces/ns/pods` → `pods in namespace "ns"`; `/api/v1/nodes` → `nodes (cluster-wide)`; for messages. */
export function describe(apiPath: string): string {
  const m = /\/namespaces\/([^/]+)\/([^/?]+)$/.exec(apiPath);
  if (m) return `${m[2]} in namespace "${m[1]}"`;
  const last = apiPath.split('/').filter(Boolean).pop() ?? apiPath;
  return `${last} (cluster-wide)`;
}

/** Collection path of a resource: `collectionPath('', 'v1', 'pods', 'ns')` → `/api/v1/namespaces/ns/pods`. */
export function collectionPath(group: string, version: string, resource: string, namespace?: string): string {
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${resource}` : `${base}/${resource}`;
}
