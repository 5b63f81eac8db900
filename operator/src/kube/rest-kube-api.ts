/**
 * `KubeApi` over HTTP(S). The server, TLS and credentials come from `kube-config.ts`
 * (kubeconfig file, in-cluster ServiceAccount, exec plugins); requests go through node's
 * http/https so plain-HTTP loopback API servers work as well as TLS ones. Lists are read in
 * pages (`limit`/`continue`, as client-go's pager) so a large list is never one response.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { FIELD_MANAGER } from '../render/labels.js';
import type { KubeAccess } from './kube-config.js';
import { KubeError, pathOf, type DeleteOptions, type KubeApi, type KubeObject, type ObjectRef, type ReadOptions } from './kube-api.js';

export interface RestKubeApiOptions {
  /** Field manager of server-side apply. @default `alloy-operator` */
  readonly fieldManager?: string;
  /** Per-request timeout (not for watches). @default 30000 */
  readonly timeoutMs?: number;
  /** Sent as User-Agent on every request (audit logs, API priority and fairness). @default `alloy-operator/unknown` */
  readonly userAgent?: string;
  /** Sustained requests per second (watches not counted), as client-go's QPS. @default 50 */
  readonly qps?: number;
  /** Requests allowed at once above `qps` after a quiet period, as client-go's Burst. @default 100 */
  readonly burst?: number;
  /** Items per list page (client-go's pager uses 500). @default 500 */
  readonly pageSize?: number;
}

/** client-go style token bucket: `burst` tokens, refilled at `qps` per second. */
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;
  #tail: Promise<void> = Promise.resolve();

  /** @throws when qps or burst is not a positive number. */
  constructor(qps: number, burst: number, now: () => number = () => performance.now()) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`TokenBucket: qps must be > 0 and burst >= 1, got qps=${qps} burst=${burst}`);
    this.#qps = qps;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  /** Resolves when a request may go; callers are served in order. */
  take(): Promise<void> {
    const turn = this.#tail.then(async () => {
      const now = this.#now();
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
      this.#last = now;
      if (this.#tokens < 1) {
        const waitMs = ((1 - this.#tokens) / this.#qps) * 1000;
        await new Promise((r) => setTimeout(r, waitMs));
        this.#tokens += (waitMs / 1000) * this.#qps;
        this.#last = this.#now();
      }
      this.#tokens -= 1;
    });
    this.#tail = turn;
    return turn;
  }
}

type Query = Record<string, string | number | boolean | undefined>;

/**
 * `Accept` of metadata-only reads, as client-go's metadata client sends them minus protobuf: the
 * PartialObjectMetadata form first, plain JSON (whole objects) for servers that lack it. Lists ask
 * for the list type, watches for the item type (their events carry single objects).
 */
export const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const ACCEPT_METADATA_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
/** `Accept` of a write whose answer is needed for its metadata only (the same form as a watch event's object). */
export const ACCEPT_METADATA_OBJECT = ACCEPT_METADATA_WATCH;

function qs(query: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

function errorFrom(status: number, body: string, what: string): KubeError {
  try {
    const st = JSON.parse(body) as { reason?: string; message?: string };
    return new KubeError(status, st.reason ?? String(status), `${what}: ${st.message ?? body}`);
  } catch {
    return new KubeError(status, String(status), `${what}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

export class RestKubeApi implements KubeApi {
  readonly #access: KubeAccess;
  readonly #server: URL;
  readonly #pageSize: number;
  readonly #fieldManager: string;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #limiter: TokenBucket;
  /** One keep-alive agent per TLS identity, so requests reuse connections instead of a TLS handshake each. */
  #agent: { readonly key: string; readonly agent: https.Agent } | undefined;
  readonly #httpAgent = new http.Agent({ keepAlive: true });

  /** @throws when qps/burst/pageSize are not positive. */
  constructor(access: KubeAccess, opts: RestKubeApiOptions = {}) {
    this.#access = access;
    this.#server = access.server;
    this.#pageSize = opts.pageSize ?? 500;
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1) throw new Error(`RestKubeApi: pageSize must be a whole number >= 1, got ${this.#pageSize}`);
    this.#fieldManager = opts.fieldManager ?? FIELD_MANAGER;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#userAgent = opts.userAgent ?? 'alloy-operator/unknown';
    this.#limiter = new TokenBucket(opts.qps ?? 50, opts.burst ?? 100);
  }

  /** The keep-alive agent for the current TLS identity (a new one when an exec plugin rotates the client certificate). */
  #keepAliveAgent(cert: Buffer | undefined, key: Buffer | undefined): https.Agent {
    const id = `${cert?.toString('base64') ?? ''}|${key?.toString('base64') ?? ''}`;
    if (this.#agent?.key !== id) {
      this.#agent?.agent.destroy();
      const t = this.#access.tls;
      const agent = new https.Agent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: t.rejectUnauthorized, ...(t.ca !== undefined ? { ca: t.ca } : {}), ...(t.servername !== undefined ? { servername: t.servername } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) });
      this.#agent = { key: id, agent };
    }
    return this.#agent.agent;
  }

  async #open(method: string, path: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number | undefined, signal?: AbortSignal): Promise<http.IncomingMessage> {
    // Credentials are taken per request, so rotated tokens are picked up.
    const creds = await this.#access.credentials();
    const opts: https.RequestOptions = { method, headers: { accept: 'application/json', 'user-agent': this.#userAgent, ...creds.headers, ...headers } };
    const secure = this.#server.protocol === 'https:';
    opts.agent = secure ? this.#keepAliveAgent(creds.cert, creds.key) : this.#httpAgent;
    const base = this.#server.pathname.replace(/\/+$/, '');
    const url = new URL(base + path, this.#server);
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(url, { ...opts, ...(signal !== undefined ? { signal } : {}) }, resolve);
      if (timeoutMs !== undefined) req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  async #request<R>(method: string, path: string, body?: unknown, contentType = 'application/json', accept?: string): Promise<R> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // Explicit length: node sends DELETE bodies neither chunked nor sized otherwise.
    const headers: Record<string, string> = payload === undefined ? {} : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(payload)) };
    if (accept !== undefined) headers['accept'] = accept;
    await this.#limiter.take();
    const res = await this.#open(method, path, headers, payload, this.#timeoutMs);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw errorFrom(status, text, `${method} ${path}`);
    return (text === '' ? {} : JSON.parse(text)) as R;
  }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.#request<T>('GET', pathOf(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return undefined;
      throw e;
    }
  }

  /**
   * Every matching object, read in pages of `pageSize`; the resourceVersion is the first page's
   * (the snapshot the continue tokens read from). A continue token that expired (410) restarts
   * the list from the first page, as client-go's pager does.
   */
  async list<T extends KubeObject>(apiVersion: string, kind: string, namespace?: string, labelSelector?: string, opts: ReadOptions = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const accept = opts.metadataOnly === true ? ACCEPT_METADATA_LIST : undefined;
    type Page = { items?: T[]; metadata?: { resourceVersion?: string; continue?: string } };
    for (let attempt = 0; ; attempt++) {
      const items: T[] = [];
      let resourceVersion = '';
      let cont: string | undefined;
      try {
        do {
          const page = await this.#request<Page>('GET', pathOf(apiVersion, kind, namespace) + qs({ labelSelector, limit: this.#pageSize, continue: cont }), undefined, undefined, accept);
          for (const o of page.items ?? []) items.push({ ...o, apiVersion, kind });
          if (resourceVersion === '') resourceVersion = page.metadata?.resourceVersion ?? '';
          cont = page.metadata?.continue || undefined;
        } while (cont !== undefined);
        return { items, resourceVersion };
      } catch (e) {
        if (!(e instanceof KubeError && e.status === 410 && attempt < 2)) throw e;
      }
    }
  }

  async apply<T extends KubeObject>(obj: KubeObject, subresource?: 'status', opts: ReadOptions = {}): Promise<T> {
    const path = pathOf(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name, subresource);
    const metadataOnly = opts.metadataOnly === true;
    const answer = await this.#request<T>('PATCH', path + qs({ fieldManager: this.#fieldManager, force: true }), obj, 'application/apply-patch+yaml', metadataOnly ? ACCEPT_METADATA_OBJECT : undefined);
    // PartialObjectMetadata names its own kind; callers read the applied object's.
    return metadataOnly ? ({ ...answer, apiVersion: obj.apiVersion, kind: obj.kind } as T) : answer;
  }

  mergePatch<T extends KubeObject>(ref: ObjectRef, patch: unknown, subresource?: 'status'): Promise<T> {
    const path = pathOf(ref.apiVersion, ref.kind, ref.namespace, ref.name, subresource);
    return this.#request<T>('PATCH', path + qs({ fieldManager: this.#fieldManager }), patch, 'application/merge-patch+json');
  }

  create<T extends KubeObject>(obj: KubeObject): Promise<T> {
    return this.#request<T>('POST', pathOf(obj.apiVersion, obj.kind, obj.metadata.namespace) + qs({ fieldManager: this.#fieldManager }), obj);
  }

  replace<T extends KubeObject>(obj: KubeObject): Promise<T> {
    const path = pathOf(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
    return this.#request<T>('PUT', path + qs({ fieldManager: this.#fieldManager }), obj);
  }

  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<void> {
    try {
      await this.#request('DELETE', pathOf(ref.apiVersion, ref.kind, ref.namespace, ref.name), {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: opts.propagationPolicy ?? 'Background',
        ...(opts.uid !== undefined ? { preconditions: { uid: opts.uid } } : {}),
      });
    } catch (e) {
      if (!(e instanceof KubeError && e.status === 404)) throw e;
    }
  }

  async watch(path: string, query: Query, onEvent: (type: string, obj: KubeObject) => void, done: (err: unknown) => void, opts: ReadOptions = {}): Promise<AbortController> {
    const controller = new AbortController();
    const q = qs({ ...query, watch: true, allowWatchBookmarks: true, timeoutSeconds: 300 });
    let res: http.IncomingMessage;
    try {
      res = await this.#open('GET', path + q, opts.metadataOnly === true ? { accept: ACCEPT_METADATA_WATCH } : {}, undefined, undefined, controller.signal);
    } catch (e) {
      queueMicrotask(() => done(e));
      return controller;
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => done(errorFrom(status, text, `WATCH ${path}`)));
      res.on('error', (e) => done(e));
      return controller;
    }
    let buf = '';
    let finished = false;
    const finish = (err: unknown): void => {
      if (finished || controller.signal.aborted) return;
      finished = true;
      done(err);
    };
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        let ev: { type: string; object: KubeObject };
        try {
          ev = JSON.parse(line) as { type: string; object: KubeObject };
        } catch (e) {
          res.destroy();
          finish(e);
          return;
        }
        if (ev.type === 'ERROR') {
          const st = ev.object as unknown as { code?: number; reason?: string; message?: string };
          onEvent(ev.type, ev.object);
          res.destroy();
          finish(new KubeError(st.code ?? 500, st.reason ?? 'Unknown', st.message ?? 'watch error'));
          return;
        }
        onEvent(ev.type, ev.object);
      }
    });
    res.on('end', () => finish(null));
    res.on('error', (e) => finish(e));
    res.on('close', () => finish(null));
    return controller;
  }
}
