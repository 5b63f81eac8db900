/**
 * A thin Kubernetes API client over node:http(s): JSON GETs, watch streams and raw streams (for
 * `pods/log?follow=true`), with the connection's auth (bearer token/file re-read per request,
 * basic auth, authorization, OAuth2), TLS and HTTP proxy (absolute-form for http, CONNECT
 * tunnel for https; `no_proxy` honoured), all through the collector's outbound transport.
 *
 * Contracts:
 * - A non-2xx answer rejects with `KubeApiError` carrying the status, the Status `reason` and the
 *   server's own message (for a 403: `pods is forbidden: User "..." cannot list resource "pods"
 *   ...`), prefixed with what was being done.
 * - `watch` resolves when the server ends the stream (timeout) or `signal` aborts; an `ERROR`
 *   event rejects with a `KubeApiError` of the Status it carries (410 for expired versions).
 * - Nothing here retries; `Informer` (informer.ts) owns retry, backoff and relisting.
 */
import type http from 'node:http';
import type { Readable } from 'node:stream';
import { Authorizer } from '../../../transport/auth.js';
import { HttpTransport, readResponse } from '../../../transport/client.js';
import { configuredHeaders, tlsOptionsOf, transportCredentials, transportOptions } from '../../prometheus/scrape/http-client.js';
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
  readonly #transport: HttpTransport;
  readonly #auth: Authorizer;

  /** @throws Error naming an unreadable TLS file or invalid proxy URL. */
  constructor(conn: KubeConnection) {
    this.#conn = conn;
    const s = conn.settings;
    this.#transport = new HttpTransport(transportOptions(s, 64));
    this.#auth = new Authorizer(transportCredentials(s), s.oauth2?.tls_config ? tlsOptionsOf(s.oauth2.tls_config, 'oauth2.tls_config') : {});
  }

  get connection(): KubeConnection {
    return this.#conn;
  }

  close(): void {
    this.#transport.close();
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
    // The decoded page is held by `page` only, cleared before the next request: a suspended async
    // frame keeps what its registers hold, and a page of whole objects alive while the next one is
    // fetched and parsed would survive (be copied by) the collections that parse triggers.
    let page: KubeList<T> | undefined;
    do {
      page = await this.getJson<KubeList<T>>(apiPath, { ...query, limit: String(limit), ...(cont ? { continue: cont } : {}) }, signal, `listing ${describe(apiPath)}`);
      appendItems(page, items, transform);
      rv = page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
      page = undefined;
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

  async #headers(signal: AbortSignal): Promise<Record<string, string>> {
    const h: Record<string, string> = { accept: 'application/json', 'user-agent': KUBE_USER_AGENT, ...configuredHeaders(this.#conn.settings) };
    const auth = await this.#auth.header(signal);
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
    let res: http.IncomingMessage;
    try {
      res = await this.#transport.request(url, { method: 'GET', headers, signal, timeoutMs });
    } catch (err) {
      throw new Error(`${doing}: ${(err as Error).message}`);
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    throw statusError(status, await readAll(res), doing);
  }
}

/** Appends a page's items (transformed); a function of its own so no local of `list`'s frame holds them. */
function appendItems<T extends KubeObject>(page: KubeList<T>, items: T[], transform: ((obj: T) => T) | undefined): void {
  const pageItems = page.items ?? [];
  for (let i = 0; i < pageItems.length; i++) items.push(transform ? transform(pageItems[i]!) : pageItems[i]!);
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  return (await readResponse(res)).toString('utf8');
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
