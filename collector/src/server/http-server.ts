/**
 * The collector's main HTTP server (node:http, no framework), modelled on Alloy's http service:
 *
 * - `GET /-/ready`    200 after the first successful load, else 503.
 * - `GET /-/healthy`  200 when every component is healthy, else 500 listing the unhealthy ones.
 * - `GET|POST /-/reload` reload from disk: 200 "config reloaded", or 400 with the formatted
 *   diagnostics (the previous config keeps running); 500 naming the error if `reload` throws.
 * - `GET /metrics`    process metrics + controller metrics + every component registry.
 * - `GET /api/v0/web/debug/{id}` live-debugging stream of a component (SSE, rate-limited; `live-stream.ts`).
 * - `GET /api/v0/web/components[/{id}]` component state in upstream's shape (`componentJSON`; secrets redacted).
 * - `GET /api/v0/web/peers` cluster members (from the `cluster` service).
 * - `/api/v0/component/<id>/...` routed to handlers mounted through the `http` service.
 * - exact paths registered with `route` (cluster gossip; components through the `http` service,
 *   e.g. `prometheus.receive_http` serving `/api/v1/metrics/write` when it names this port).
 * - the web UI under `uiPathPrefix` (`ui/web-ui.ts`: components, one component, graph, clustering).
 * - anything else: 404 JSON — except while the collector starts (before the first load finished)
 *   or stops (after `beginShutdown`): then a path no handler serves may be a configured route that
 *   is not registered yet or already gone, so it answers 503 with `Retry-After` (a remote-write or
 *   push sender retries instead of dropping the batch as it does on 404). While stopping, `/-/ready`
 *   answers 503 and those 503s close the connection so clients reconnect to the next instance.
 *
 * Depends on runtime types only; the CLI wires it to a `Runtime`.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'winston';
import type { ZodType } from 'zod';
import type { ComponentInfo } from '../runtime/controller.js';
import type { AlloyJSONStatement } from '../syntax/index.js';
import type { ClusterPeer, ClusterService, ComponentHandler, HttpService } from '../runtime/services.js';
import { withoutDeclareBody } from '../ui/pages.js';
import { mergeExpositions } from './metrics-merge.js';
import { LIVE_PATH, serveLiveStream } from './live-stream.js';
import type { LiveDebugging } from '../runtime/live-debugging.js';
import { WebUi } from '../ui/web-ui.js';
import { parseListenAddr } from '../cli-kit/listen-addr.js';

export { parseListenAddr };

export interface ServerRuntime {
  isReady(): boolean;
  /** Reload from disk; `message` holds formatted diagnostics when `ok` is false. */
  reload(): Promise<{ readonly ok: boolean; readonly message: string }>;
  components(): readonly ComponentInfo[];
  /** Registries to expose on /metrics (process/controller registry first). */
  registries(): readonly Registry[];
  /** Converts argument/export values to JSON with secrets redacted and capsules summarised. */
  toJSON(value: unknown): unknown;
  /** Alloy JSON body of arguments/exports/debug info, typed by `schema`; secrets redacted. */
  encodeBody(value: unknown, schema?: ZodType): AlloyJSONStatement[];
}

export interface HttpServerOptions {
  /** `host:port`; `:port` listens on all interfaces like Go; port 0 picks a free port. */
  readonly listenAddr: string;
  readonly logger: Logger;
  /** Where the HTML UI lives (`--server.http.ui-path-prefix`); default `/`. */
  readonly uiPathPrefix?: string;
  /** `--server.http.memory-addr`; default `alloy.internal:12345`. */
  readonly memoryAddr?: string;
}

export type ServiceHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export const COMPONENT_PATH_PREFIX = '/api/v0/component/';
/** `Retry-After` of the 503s answered while starting or stopping. */
export const RETRY_AFTER_SECONDS = 1;
/** Paths `route` refuses: the server's own endpoints. */
const RESERVED_PATHS: readonly string[] = ['/metrics', '/api/v0/web/components', '/api/v0/web/peers'];
const RESERVED_PREFIXES: readonly string[] = ['/-/', '/api/v0/web/', COMPONENT_PATH_PREFIX];


export class AlloyHttpServer implements HttpService {
  readonly #opts: HttpServerOptions;
  readonly #server: http.Server;
  readonly #handlers = new Map<string, ComponentHandler>();
  readonly #routes = new Map<string, ServiceHandler>();
  #runtime: ServerRuntime | undefined;
  #cluster: ClusterService | undefined;
  #live: LiveDebugging | undefined;
  #address: string | undefined;
  #stopping = false;
  readonly #ui: WebUi;

  constructor(opts: HttpServerOptions) {
    this.#opts = opts;
    parseListenAddr(opts.listenAddr);
    this.#ui = new WebUi(opts.uiPathPrefix ?? '/');
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#opts.logger.error('http handler failed', { path: req.url, err: errMsg(err) });
        if (!res.headersSent) sendJSON(res, 500, { error: errMsg(err) });
        else res.destroy();
      });
    });
    this.#server.keepAliveTimeout = 5_000;
  }

  /** Attach the cluster service (for `/api/v0/web/peers` and the Clustering page). */
  setCluster(c: ClusterService): void {
    this.#cluster = c;
  }

  /** The live-debugging hub whose streams `/api/v0/web/debug/{id}` serves. */
  setLiveDebugging(l: LiveDebugging): void {
    this.#live = l;
  }

  /** Attach the runtime (the server can start before the first load, answering 503 on /-/ready). */
  setRuntime(rt: ServerRuntime): void {
    this.#runtime = rt;
  }

  async listen(): Promise<string> {
    const { host, port } = parseListenAddr(this.#opts.listenAddr);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new Error(`listening on ${this.#opts.listenAddr}: ${err.message}`));
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    const a = this.#server.address() as AddressInfo;
    this.#address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    return this.#address;
  }

  get listenAddr(): string {
    return this.#address ?? this.#opts.listenAddr;
  }

  get memoryAddr(): string {
    return this.#opts.memoryAddr ?? 'alloy.internal:12345';
  }

  dialAddress(addr: string): string {
    if (addr !== this.memoryAddr) return addr;
    const { host, port } = parseListenAddr(this.listenAddr);
    if (host === '0.0.0.0') return `127.0.0.1:${port}`;
    if (host === '::') return `[::1]:${port}`;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  pathFor(componentId: string): string {
    return `${COMPONENT_PATH_PREFIX}${componentId}/`;
  }

  mount(componentId: string, handler: ComponentHandler): () => void {
    this.#handlers.set(componentId, handler);
    return () => {
      if (this.#handlers.get(componentId) === handler) this.#handlers.delete(componentId);
    };
  }

  /**
   * Serve `handler` at exactly `path` (runtime service endpoints such as cluster gossip, and
   * components through `HttpService.route`, e.g. `prometheus.receive_http` on this port). A later
   * route of the same path replaces the earlier one. Returns the unroute function (removes only
   * this handler). Throws for paths this server answers itself.
   */
  route(path: string, handler: ServiceHandler): () => void {
    if (!path.startsWith('/')) throw new Error(`route path "${path}" must start with "/"`);
    if (RESERVED_PATHS.includes(path) || RESERVED_PREFIXES.some((r) => path.startsWith(r))) {
      throw new Error(`route path "${path}" is served by the main HTTP server itself; pick a path outside ${[...RESERVED_PATHS, ...RESERVED_PREFIXES.map((r) => `${r}…`)].join(', ')}`);
    }
    this.#routes.set(path, handler);
    return () => {
      if (this.#routes.get(path) === handler) this.#routes.delete(path);
    };
  }

  /**
   * The collector is going away: from now on `/-/ready` answers 503 and paths without a handler
   * answer 503 + Retry-After instead of 404 (routes removed by stopping components included).
   */
  beginShutdown(): void {
    this.#stopping = true;
  }

  /** Stop accepting connections and close idle ones; bounded by `timeoutMs`. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => this.#server.closeAllConnections(), timeoutMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }

  #clusterView(): { enabled: boolean; status: string; peers: readonly ClusterPeer[] } {
    const c = this.#cluster;
    if (!c) return { enabled: false, status: 'clustering service not available', peers: [] };
    return { enabled: c.enabled, status: c.status().message, peers: c.peers() };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    const rt = this.#runtime;

    if (p.startsWith(COMPONENT_PATH_PREFIX)) {
      // Ids of components inside custom components contain '/': take the longest mounted id.
      // Ids are plain identifiers and dots, so the raw (undecoded) path is matched.
      const rest = p.slice(COMPONENT_PATH_PREFIX.length);
      let id: string | undefined;
      for (const k of this.#handlers.keys()) {
        if ((rest === k || rest.startsWith(`${k}/`)) && (id === undefined || k.length > id.length)) id = k;
      }
      if (id === undefined) {
        const slash = rest.indexOf('/');
        const cid = slash < 0 ? rest : rest.slice(0, slash);
        if (this.#transient()) return this.#unavailable(res, `component "${cid}" has no HTTP handler`);
        return sendJSON(res, 404, { error: `no HTTP handler for component "${cid}"` });
      }
      const sub = rest.slice(id.length);
      return this.#handlers.get(id)!(req, res, sub === '' ? '/' : sub);
    }

    const routed = this.#routes.get(p);
    if (routed) return routed(req, res);

    switch (p) {
      case '/-/ready':
        if (!method(req, res, ['GET', 'HEAD'])) return;
        if (this.#stopping) return sendText(res, 503, 'Alloy is shutting down.\n');
        if (rt?.isReady()) return sendText(res, 200, 'Alloy is ready.\n');
        return sendText(res, 503, 'Alloy is not ready.\n');
      case '/-/healthy': {
        if (!method(req, res, ['GET', 'HEAD'])) return;
        if (!rt) return sendText(res, 500, 'unhealthy: configuration not loaded yet\n');
        const bad = rt.components().filter((c) => c.health.state !== 'healthy');
        if (bad.length === 0) return sendText(res, 200, 'All Alloy components are healthy.\n');
        const list = bad.map((c) => `${c.id} (${c.health.state}: ${c.health.message})`).join(', ');
        return sendText(res, 500, `unhealthy components: ${list}\n`);
      }
      case '/-/reload': {
        if (!method(req, res, ['GET', 'POST'])) return;
        if (!rt) return sendText(res, 503, 'runtime not started\n');
        let r: { readonly ok: boolean; readonly message: string };
        try {
          r = await rt.reload();
        } catch (err: unknown) {
          // A bug, not a config error: the runtime did not report it as diagnostics.
          this.#opts.logger.error('reload failed with an unexpected error', { err: errMsg(err) });
          return sendText(res, 500, `reload failed with an unexpected error (not a configuration diagnostic): ${errMsg(err)}\n`);
        }
        if (r.ok) return sendText(res, 200, 'config reloaded\n');
        return sendText(res, 400, r.message.endsWith('\n') ? r.message : r.message + '\n');
      }
      case '/metrics': {
        if (!method(req, res, ['GET', 'HEAD'])) return;
        const regs = rt?.registries() ?? [];
        const texts = await Promise.all(regs.map((r) => r.metrics()));
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(mergeExpositions(texts));
        return;
      }
      case '/api/v0/web/components':
        if (!method(req, res, ['GET'])) return;
        return sendJSON(res, 200, (rt?.components() ?? []).map((c) => componentJSON(c, rt!, false)));
      case '/api/v0/web/peers':
        if (!method(req, res, ['GET'])) return;
        return sendJSON(res, 200, this.#cluster?.peers() ?? []);
      default:
        break;
    }
    if (p.startsWith(LIVE_PATH)) {
      if (!method(req, res, ['GET'])) return;
      return serveLiveStream(req, res, url, this.#live, (id) => {
        const c = (rt?.components() ?? []).find((x) => x.id === id);
        return c === undefined ? 'missing' : c.liveDebugging ? 'ok' : 'unsupported';
      });
    }
    if (p.startsWith('/api/v0/web/components/')) {
      if (!method(req, res, ['GET'])) return;
      const id = decodeURIComponent(p.slice('/api/v0/web/components/'.length));
      const c = rt?.components().find((x) => x.id === id);
      if (!c) return sendJSON(res, 404, { error: `component "${id}" not found` });
      return sendJSON(res, 200, componentJSON(c, rt!, true));
    }
    if (method(req, res, ['GET', 'HEAD'], false) && this.#ui.handle(req, res, url, rt, () => this.#clusterView())) return;
    if (this.#transient()) return this.#unavailable(res, `${p} is not served right now`);
    return sendJSON(res, 404, { error: `${p} not found` });
  }

  /** Starting (first load not finished) or stopping: unserved paths may be routes in transit. */
  #transient(): boolean {
    return this.#stopping || !this.#runtime?.isReady();
  }

  #unavailable(res: ServerResponse, what: string): void {
    const why = this.#stopping ? 'the collector is shutting down' : 'the collector is starting and has not finished loading its configuration';
    if (this.#stopping) res.shouldKeepAlive = false;
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': String(RETRY_AFTER_SECONDS) });
    res.end(JSON.stringify({ error: `${what}: ${why}; retry in ${RETRY_AFTER_SECONDS}s` }));
  }
}

/**
 * A component as upstream Alloy's API serves it (`component.Info` JSON): `name`, `type: "block"`,
 * `localID`, `moduleID`, `label`, `referencesTo`, `referencedBy`, `health {state, message,
 * updatedTime}`, `original`, `liveDebuggingEnabled` (the component publishes live-debugging
 * data), and with `detail` the `arguments`, `exports` and `debugInfo` as
 * Alloy JSON bodies (`[{name, type: "attr"|"block", value|body}]`, values typed
 * `{type, value}`). `id` and `dataPath` are ours, kept for existing scripts.
 */
export function componentJSON(c: ComponentInfo, rt: Pick<ServerRuntime, 'encodeBody'>, detail: boolean): Record<string, unknown> {
  const updated = c.health.updatedAt.toISOString();
  // A component inside a module (custom component, import) has id "<module id>/<local id>".
  const slash = c.id.lastIndexOf('/');
  const out: Record<string, unknown> = {
    name: c.name,
    type: 'block',
    localID: slash < 0 ? c.id : c.id.slice(slash + 1),
    moduleID: slash < 0 ? '' : c.id.slice(0, slash),
    ...(c.label ? { label: c.label } : {}),
    referencesTo: c.referencesTo,
    referencedBy: c.referencedBy,
    health: { state: c.health.state, message: c.health.message, updatedTime: updated },
    original: '',
    liveDebuggingEnabled: c.liveDebugging,
    id: c.id,
    dataPath: c.dataPath,
  };
  if (!detail) return out;
  out.arguments = rt.encodeBody(withoutDeclareBody(c.arguments), c.argumentsSchema);
  out.exports = rt.encodeBody(c.exports);
  const debug = c.debugInfo;
  if (debug !== undefined && debug !== null) out.debugInfo = rt.encodeBody(debug);
  return out;
}

function method(req: IncomingMessage, res: ServerResponse, allowed: readonly string[], answer = true): boolean {
  if (allowed.includes(req.method ?? 'GET')) return true;
  if (!answer) return false;
  res.writeHead(405, { allow: allowed.join(', '), 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: `method ${req.method} not allowed; use ${allowed.join(' or ')}` }));
  return false;
}

function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function sendJSON(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
