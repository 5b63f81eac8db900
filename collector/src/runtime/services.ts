/**
 * Types of the runtime services components can ask for with `getService(name)`.
 * Components depend on these types only; `server/` and `cli/` provide the implementations.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Handles a request routed to a component; `subpath` is the part after `/api/v0/component/<id>`. */
export type ComponentHandler = (req: IncomingMessage, res: ServerResponse, subpath: string) => void | Promise<void>;

/** Handles a request routed by exact path (`HttpService.route`). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** `getService<HttpService>('http')`: the main HTTP server (`--server.http.listen-addr`). */
export interface HttpService {
  /** `host:port` the main server actually listens on (after binding; port 0 resolved). */
  readonly listenAddr: string;
  /**
   * `--server.http.memory-addr` (default `alloy.internal:12345`): configs address the collector
   * itself by this name (e.g. a scrape target `alloy.internal:12345`). HTTP clients in components
   * should dial `dialAddress(addr)` so that name reaches this server.
   */
  readonly memoryAddr: string;
  /** `memoryAddr` → a dialable `listenAddr` (wildcards become loopback); other addresses unchanged. */
  dialAddress(addr: string): string;
  /** `/api/v0/component/<id>/` — where `mount` serves this component's handler. */
  pathFor(componentId: string): string;
  /** Route `/api/v0/component/<id>/...` to `handler`; returns the unmount function. Remounting replaces. */
  mount(componentId: string, handler: ComponentHandler): () => void;
  /**
   * Serve `handler` for every method at exactly `path` (pathname, query ignored) at the root of the
   * main server, e.g. `prometheus.receive_http` answering `/api/v1/metrics/write` when its `http`
   * block names the main server's port. Returns the unroute function, which removes only this
   * handler: a later `route` of the same path replaces the earlier one (a component renamed in a
   * reload is built while the old one runs, takes the path over, and the old one's unroute is then
   * a no-op). Call the unroute function when the component stops or stops serving the path.
   * Throws for a path not starting with `/` or one the server itself answers (`/-/…`, `/metrics`,
   * `/api/v0/web/…`, `/api/v0/component/…`). While the collector starts (before its first load
   * finished) or stops, a path with no route answers 503 + Retry-After rather than 404, so a route
   * registered during build or removed while stopping never turns a sender's retry into a drop.
   * Optional: wrappers that do not forward it leave components to open their own listener.
   */
  route?(path: string, handler: RouteHandler): () => void;
}

/** `getService<ClusterService>('cluster')`: clustering state (`--cluster.*` flags). */
export interface ClusterService {
  readonly enabled: boolean;
  readonly nodeName: string;
  readonly advertiseAddress: string;
  readonly joinAddresses: readonly string[];
  /** Human-readable state, e.g. "clustering disabled: single node". */
  status(): { readonly state: 'disabled' | 'single-node' | 'clustered'; readonly message: string; readonly peers: readonly string[] };
  /** Whether this node owns `key` (always true without clustering). */
  owns(key: string): boolean;
  /**
   * Subscribe to ownership changes (membership or readiness changed, so `owns` may answer
   * differently); listeners run asynchronously, rate-limited, and must not throw. Returns the
   * unsubscribe function.
   */
  onChange(listener: () => void): () => void;
  /** Known cluster members, this node included (`/api/v0/web/peers`, UI "Clustering"). */
  peers(): readonly ClusterPeer[];
}

export interface ClusterPeer {
  readonly name: string;
  readonly addr: string;
  readonly isSelf: boolean;
  /** `participant`, `viewer` or `terminating`, as Alloy reports peer states. */
  readonly state: string;
}
