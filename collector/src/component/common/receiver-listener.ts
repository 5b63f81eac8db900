/**
 * Where a receiving component (`prometheus.receive_http`, `loki.source.api`, and any future
 * receiver with an `http` server block) serves its paths: on the collector's main HTTP server, or
 * on its own listener.
 *
 * - When `listen_port` is the main server's port (`--server.http.listen-addr`) and the hosts
 *   overlap (equal, either side a wildcard `0.0.0.0`/`::`/empty, or both loopback), the paths are
 *   routed on the main server (`HttpService.route`) instead of a second listener (which would fail
 *   with EADDRINUSE). If the main server does not listen on every interface while `listen_address`
 *   is a wildcard, the paths are still served there and `warning` names the fix.
 * - Any other port gets an own listener (`listenHttpServer`).
 *
 * Contracts: `update` with a changed block restarts or moves the listener: the main-server routes
 * go up before an own listener closes; an own listener that cannot start leaves the previous way of
 * serving in place and `update` throws. `stop` removes the routes or closes the own listener. While
 * the collector starts or stops, the main server answers 503 + Retry-After on paths nobody routes
 * (so a sender retries instead of dropping data on a 404); see `server/http-server.ts`.
 */
import type http from 'node:http';
import type { Logger } from 'winston';
import type { HttpService } from '../../runtime/services.js';
import { closeHttpServer, listenHttpServer, type ConnectionTracking, type HttpServerArguments } from './http-server.js';

/** Where the receiver serves: the main HTTP server, or its own listener. */
export type Listener = 'main-server' | 'own';

export interface ListenPlan {
  readonly listener: Listener;
  /** Set when served by the main server although it does not listen where `http` asked. */
  readonly warning?: string;
}

const LOOPBACK_NAMES = new Set(['localhost', '::1', '0:0:0:0:0:0:0:1']);

function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host.toLowerCase()) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host.toLowerCase() === '::ffff:127.0.0.1';
}

/** `host:port` or `[v6]:port` → parts; undefined when unparseable. */
export function splitHostPort(addr: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) return undefined;
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}

/**
 * Whether an `http` block resolves to the main server listening on `mainAddr` (`host:port` after
 * binding). Port 0 (pick a free port) never does.
 */
export function planListener(cfg: { readonly listen_address: string; readonly listen_port: number }, mainAddr: string | undefined, what = 'data'): ListenPlan {
  const main = mainAddr === undefined ? undefined : splitHostPort(mainAddr);
  if (!main || cfg.listen_port === 0 || cfg.listen_port !== main.port) return { listener: 'own' };
  const want = cfg.listen_address;
  const overlap = want === main.host || isWildcard(want) || isWildcard(main.host) || (isLoopback(want) && isLoopback(main.host));
  if (!overlap) return { listener: 'own' };
  if (isWildcard(want) && !isWildcard(main.host)) {
    return {
      listener: 'main-server',
      warning:
        `http.listen_address "${want || '0.0.0.0'}" asks for every interface, but the main HTTP server listens on ${mainAddr} only, ` +
        `so ${what} is accepted there only; start alloy with --server.http.listen-addr=0.0.0.0:${main.port} to accept it on every interface`,
    };
  }
  return { listener: 'main-server' };
}

export interface ReceiverListenerOptions {
  /** Component name for messages, e.g. `prometheus.receive_http`. */
  readonly component: string;
  /** What is received, for the warning (e.g. `remote-write`). */
  readonly what: string;
  /** Exact paths served when on the main server (the own listener serves every path). */
  readonly paths: readonly string[];
  /** The main server, when the runtime has one with `route`. */
  readonly http: HttpService | undefined;
  readonly handler: http.RequestListener;
  readonly track: ConnectionTracking;
  readonly logger: Logger;
  /** Reports where it serves (healthy) or a listener failure (unhealthy). */
  setHealth(state: 'healthy' | 'unhealthy', message: string): void;
}

/** The main server from `getService('http')`, or undefined in runtimes without one (tests, tools). */
export function mainHttpService(getService: <T>(name: 'http') => T): HttpService | undefined {
  try {
    return getService<HttpService>('http');
  } catch {
    return undefined;
  }
}

export class ReceiverListener {
  readonly #o: ReceiverListenerOptions;
  #server: http.Server | undefined;
  #unroute: (() => void)[] | undefined;
  #warning: string | undefined;

  constructor(opts: ReceiverListenerOptions) {
    this.#o = opts;
  }

  /** Where it serves now. */
  get listener(): Listener {
    return this.#unroute ? 'main-server' : 'own';
  }

  get warning(): string | undefined {
    return this.#warning;
  }

  /** The bound address (the main server's when served there). */
  get address(): { host: string; port: number } | undefined {
    if (this.#unroute && this.#o.http) return splitHostPort(this.#o.http.listenAddr);
    const a = this.#server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  /** For debug info: where it serves, the bound address, and the warning if any. */
  info(): { listener: Listener; address: string | null; warning?: string } {
    const a = this.address;
    return {
      listener: this.listener,
      address: a ? (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`) : null,
      ...(this.#warning ? { warning: this.#warning } : {}),
    };
  }

  #plan(cfg: HttpServerArguments): ListenPlan {
    if (!this.#o.http?.route) return { listener: 'own' };
    return planListener(cfg, this.#o.http.listenAddr, this.#o.what);
  }

  /** First start. @throws Error naming the address when an own listener cannot bind. */
  async start(cfg: HttpServerArguments): Promise<void> {
    const plan = this.#plan(cfg);
    if (plan.listener === 'main-server') this.#serveOnMain(plan);
    else await this.#listen(cfg);
  }

  /** Applies a changed block (callers skip unchanged ones). @throws when the new listener cannot start. */
  async update(prev: HttpServerArguments, cfg: HttpServerArguments): Promise<void> {
    const plan = this.#plan(cfg);
    if (plan.listener === 'main-server') {
      // The routes go up before the own listener closes, so no request finds neither.
      this.#serveOnMain(plan);
      await this.#close(0);
      return;
    }
    // The own listener may want the port the old one holds: close it first.
    const hadServer = this.#server !== undefined;
    await this.#close(0);
    try {
      await this.#listen(cfg);
    } catch (err: unknown) {
      // Keep serving the old settings (a main-server route stays).
      if (hadServer) await this.#listen(prev).catch(() => undefined);
      else if (this.#unroute) this.#serveOnMain(this.#plan(prev));
      throw err;
    }
    this.#stopServingOnMain();
  }

  /** Removes the routes, or closes the own listener (busy connections after `graceMs`). */
  async stop(graceMs: number): Promise<void> {
    this.#stopServingOnMain();
    await this.#close(graceMs);
  }

  #serveOnMain(plan: ListenPlan): void {
    const svc = this.#o.http!;
    if (!this.#unroute) this.#unroute = this.#o.paths.map((p) => svc.route!(p, (req, res) => this.#o.handler(req, res)));
    this.#warning = plan.warning;
    const where = `serving ${this.#o.paths.join(', ')} on the main HTTP server ${svc.listenAddr}`;
    if (plan.warning) {
      this.#o.logger.warn(`${this.#o.component}: ${plan.warning}`);
      this.#o.setHealth('healthy', `${where}; warning: ${plan.warning}`);
    } else {
      this.#o.setHealth('healthy', where);
    }
  }

  #stopServingOnMain(): void {
    for (const u of this.#unroute ?? []) u();
    this.#unroute = undefined;
    this.#warning = undefined;
  }

  async #listen(cfg: HttpServerArguments): Promise<void> {
    const server = await listenHttpServer(this.#o.component, cfg, this.#o.handler, this.#o.track);
    server.on('error', (err) => this.#o.setHealth('unhealthy', `HTTP server error: ${err.message}`));
    this.#server = server;
    this.#o.setHealth('healthy', `listening on ${cfg.listen_address || '0.0.0.0'}:${this.address?.port ?? cfg.listen_port}`);
  }

  async #close(graceMs: number): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await closeHttpServer(server, graceMs);
  }
}
