/**
 * The operator's HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (the process and its
 * event loop are alive), `/readyz` (200 once this replica can do its job: a standby is ready, a
 * leader is ready when its informers have synced). Listens on the given host:port only.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface OperatorServerOptions {
  /** `host:port`; port 0 picks a free port. */
  readonly listenAddress: string;
  readonly registry: Registry;
  /** Readiness probe: `undefined` when ready, otherwise the reason. */
  readonly notReadyReason: () => string | undefined;
}

/** @throws when the address is not `host:port`. */
export function parseListenAddress(addr: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(addr);
  if (m === null) throw new Error(`listen address must be host:port, got ${JSON.stringify(addr)}`);
  const host = m[1] === '' ? '0.0.0.0' : m[1]!.replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(m[2]) };
}

export class OperatorServer {
  readonly #o: OperatorServerOptions;
  readonly #server: http.Server;

  constructor(opts: OperatorServerOptions) {
    this.#o = opts;
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/metrics') {
        const body = await this.#o.registry.metrics();
        res.writeHead(200, { 'content-type': this.#o.registry.contentType }).end(body);
      } else if (path === '/healthz' || path === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (path === '/readyz') {
        const reason = this.#o.notReadyReason();
        res.writeHead(reason === undefined ? 200 : 503, { 'content-type': 'text/plain' }).end(reason === undefined ? 'ok\n' : `not ready: ${reason}\n`);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics, /healthz or /readyz\n');
      }
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo> {
    const { host, port } = parseListenAddress(this.#o.listenAddress);
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve(this.#server.address() as AddressInfo));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
