/**
 * A thin fetch-based Kubernetes REST client: exactly the HTTP calls a kubelet or controller makes
 * (list, get, create, update, merge-patch, delete, watch). Errors from the server surface as
 * `KubeApiError` carrying the HTTP status and the server's `Status` reason/message.
 */
import https from 'node:https';
import { Readable } from 'node:stream';
import type { KubeList, KubeObject } from './k8s-types.js';

export interface ResourceType {
  /** API group, `''` for core. */
  readonly group: string;
  readonly version: string;
  /** Plural resource name, e.g. `pods`. */
  readonly resource: string;
  readonly namespaced: boolean;
  readonly kind: string;
}

export const RESOURCES = {
  pods: { group: '', version: 'v1', resource: 'pods', namespaced: true, kind: 'Pod' },
  configmaps: { group: '', version: 'v1', resource: 'configmaps', namespaced: true, kind: 'ConfigMap' },
  secrets: { group: '', version: 'v1', resource: 'secrets', namespaced: true, kind: 'Secret' },
  services: { group: '', version: 'v1', resource: 'services', namespaced: true, kind: 'Service' },
  events: { group: '', version: 'v1', resource: 'events', namespaced: true, kind: 'Event' },
  endpoints: { group: '', version: 'v1', resource: 'endpoints', namespaced: true, kind: 'Endpoints' },
  persistentvolumeclaims: { group: '', version: 'v1', resource: 'persistentvolumeclaims', namespaced: true, kind: 'PersistentVolumeClaim' },
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespaced: true, kind: 'EndpointSlice' },
  nodes: { group: '', version: 'v1', resource: 'nodes', namespaced: false, kind: 'Node' },
  namespaces: { group: '', version: 'v1', resource: 'namespaces', namespaced: false, kind: 'Namespace' },
  statefulsets: { group: 'apps', version: 'v1', resource: 'statefulsets', namespaced: true, kind: 'StatefulSet' },
  deployments: { group: 'apps', version: 'v1', resource: 'deployments', namespaced: true, kind: 'Deployment' },
  replicasets: { group: 'apps', version: 'v1', resource: 'replicasets', namespaced: true, kind: 'ReplicaSet' },
  daemonsets: { group: 'apps', version: 'v1', resource: 'daemonsets', namespaced: true, kind: 'DaemonSet' },
  controllerrevisions: { group: 'apps', version: 'v1', resource: 'controllerrevisions', namespaced: true, kind: 'ControllerRevision' },
  poddisruptionbudgets: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespaced: true, kind: 'PodDisruptionBudget' },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true, kind: 'Lease' },
} as const satisfies Record<string, ResourceType>;

export function apiVersionOf(t: ResourceType): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeApiError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof KubeApiError && e.status === 409;
/** 409 from a `metadata.uid` precondition: the object of that name is now another one (deleted and recreated). */
export const isUidMismatch = (e: unknown): boolean => e instanceof KubeApiError && e.status === 409 && /UID in precondition/.test(e.message);
export const isGone = (e: unknown): boolean => e instanceof KubeApiError && e.status === 410;
/** 403 because the namespace is being deleted: expected while a namespace drains, not worth a warning. */
export const isNamespaceTerminating = (e: unknown): boolean => e instanceof KubeApiError && e.status === 403 && /being terminated/.test(e.message);

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface KubeClientOptions {
  /** Base URL of the API server, e.g. `http://127.0.0.1:6443`. */
  readonly server: string;
  readonly token?: string;
  /** Sent as the User-Agent, shows up in managedFields. */
  readonly userAgent?: string;
  /** For an `https` server: the CA to trust and, for a client-certificate identity, its PEM pair. */
  readonly tls?: KubeClientTls;
}

export interface KubeClientTls {
  /** PEM of the CA that signed the server's certificate. */
  readonly ca: string;
  /** PEM client certificate (with `key`): the identity, e.g. `CN=system:node:<node>`, `O=system:nodes`. */
  readonly cert?: string;
  readonly key?: string;
}

interface FetchInit {
  method?: string;
  headers: Record<string, string>;
  body?: string | undefined;
  signal: AbortSignal;
}

/** `fetch` over `node:https` with a CA and client certificate (the global fetch takes neither). */
function httpsFetch(agent: https.Agent, url: string, init: FetchInit): Promise<Response> {
  return new Promise((resolve, reject) => {
    // An explicit length, not a chunked body: on reused keep-alive connections the real
    // kube-apiserver answered chunked PATCH/POST bodies now and then with Go's bare
    // `400 Bad Request` (connection: close).
    const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) };
    const req = https.request(url, { method: init.method ?? 'GET', headers, agent, signal: init.signal }, (res) => {
      const status = res.statusCode ?? 500;
      const resHeaders = new Headers();
      for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') resHeaders.set(k, v);
      const noBody = status === 204 || status === 304;
      if (noBody) res.resume();
      resolve(new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers: resHeaders }));
    });
    req.once('error', reject);
    req.end(init.body);
  });
}

export class KubeClient {
  readonly server: string;
  #headers: Record<string, string>;
  #fetch: (url: string, init: FetchInit) => Promise<Response>;

  constructor(opts: KubeClientOptions) {
    if (!/^https?:\/\//.test(opts.server)) {
      throw new Error(`KubeClient: option "server" must be an http(s) URL, got ${JSON.stringify(opts.server)}`);
    }
    this.server = opts.server.replace(/\/+$/, '');
    this.#headers = { accept: 'application/json', 'user-agent': opts.userAgent ?? 'alloy-ts-dev-cluster' };
    if (opts.token) this.#headers.authorization = `Bearer ${opts.token}`;
    const tls = opts.tls;
    if (tls && !this.server.startsWith('https://')) throw new Error(`KubeClient: option "tls" needs an https server, got ${JSON.stringify(opts.server)}`);
    if (tls && (tls.cert === undefined) !== (tls.key === undefined)) throw new Error('KubeClient: options "tls.cert" and "tls.key" go together (a client certificate and its private key)');
    if (tls) {
      const agent = new https.Agent({ keepAlive: true, ca: tls.ca, ...(tls.cert !== undefined ? { cert: tls.cert, key: tls.key } : {}) });
      this.#fetch = (url, init) => httpsFetch(agent, url, init);
    } else this.#fetch = (url, init) => fetch(url, init);
  }

  path(t: ResourceType, namespace?: string, name?: string, sub?: string): string {
    const base = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
    const ns = t.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    const n = name ? `/${encodeURIComponent(name)}` : '';
    const s = sub ? `/${sub}` : '';
    return `${base}${ns}/${t.resource}${n}${s}`;
  }

  async request<R>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<R> {
    const headers: Record<string, string> = { ...this.#headers };
    if (body !== undefined) headers['content-type'] = contentType;
    // Bounded so a hung server can never stall a controller's work queue forever.
    const res = await this.#fetch(this.server + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (!res.ok) throw errorFrom(res.status, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : {}) as R;
  }

  list<T extends KubeObject>(t: ResourceType, namespace?: string, opts: ListOptions = {}): Promise<KubeList<T>> {
    return this.request('GET', this.path(t, namespace) + query(opts));
  }

  get<T extends KubeObject>(t: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request('GET', this.path(t, namespace, name));
  }

  /** Like `get` but resolves `undefined` on 404. */
  async tryGet<T extends KubeObject>(t: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(t, namespace, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  create<T extends KubeObject>(t: ResourceType, namespace: string | undefined, obj: T): Promise<T> {
    return this.request('POST', this.path(t, namespace), { apiVersion: apiVersionOf(t), kind: t.kind, ...obj });
  }

  replace<T extends KubeObject>(t: ResourceType, obj: T, sub?: string): Promise<T> {
    return this.request('PUT', this.path(t, obj.metadata.namespace, obj.metadata.name, sub), { apiVersion: apiVersionOf(t), kind: t.kind, ...obj });
  }

  /** JSON merge patch (RFC 7386); `sub` is e.g. `status`. */
  mergePatch<T extends KubeObject>(t: ResourceType, namespace: string | undefined, name: string, patch: unknown, sub?: string): Promise<T> {
    return this.request('PATCH', this.path(t, namespace, name, sub), patch, 'application/merge-patch+json');
  }

  async delete(t: ResourceType, namespace: string | undefined, name: string, opts: { gracePeriodSeconds?: number; propagationPolicy?: string; uid?: string } = {}): Promise<void> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.uid) body.preconditions = { uid: opts.uid };
    await this.request('DELETE', this.path(t, namespace, name), body);
  }

  /**
   * Opens a watch and calls `onEvent` for each event until the server ends the stream or `signal`
   * aborts. Resolves when the stream ends; rejects with `KubeApiError` (410 for a too-old
   * resourceVersion, sent either as the HTTP status or as an ERROR event).
   */
  async watch<T extends KubeObject>(t: ResourceType, namespace: string | undefined, opts: ListOptions & { timeoutSeconds?: number }, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    const q = query({ ...opts, watch: '1', allowWatchBookmarks: 'true' });
    const res = await this.#fetch(this.server + this.path(t, namespace) + q, { headers: this.#headers, signal });
    if (!res.ok || !res.body) throw errorFrom(res.status, await res.text(), `WATCH ${t.resource}`);
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const ev = JSON.parse(line) as WatchEvent<T>;
          if (ev.type === 'ERROR') {
            const st = ev.object as unknown as { code?: number; reason?: string; message?: string };
            throw new KubeApiError(st.code ?? 500, st.reason ?? 'Unknown', st.message ?? 'watch error');
          }
          onEvent(ev);
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    }
  }
}

function query(opts: object): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(opts) as [string, unknown][]) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

function errorFrom(status: number, text: string, what: string): KubeApiError {
  try {
    const st = JSON.parse(text) as { reason?: string; message?: string };
    return new KubeApiError(status, st.reason ?? String(status), `${what}: ${st.message ?? text}`);
  } catch {
    return new KubeApiError(status, String(status), `${what}: HTTP ${status} ${text.slice(0, 200)}`);
  }
}

/** `namespace/name` (or `name` for cluster-scoped objects): the cache and work-queue key. */
export function keyOf(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata.name ?? '');
}
