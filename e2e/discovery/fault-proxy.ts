/**
 * A proxy in front of the dev API server that the discovery journeys switch between passing
 * requests, forbidding them (403 Status as kube-apiserver's authorizer answers), dropping every
 * connection, and hanging (requests are accepted and never answered). Loopback only, port 0.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultMode = 'pass' | 'forbid' | 'down' | 'hang';

export interface FaultProxy {
  readonly url: string;
  /** Setting a mode other than `pass` also ends the streams (watches) already passed through. */
  mode: FaultMode;
  /** URLs of the requests passed to the API server. */
  readonly passed: string[];
  /** URLs of every request received, whatever the mode. */
  readonly received: string[];
  close(): Promise<void>;
}

/**
 * `affects(url)` chooses the requests the mode applies to (default: all); the others always pass.
 * `forbidden(url)` is the message of the 403 Status.
 */
export async function faultProxy(
  target: string,
  opts: { affects?: (url: string) => boolean; forbidden?: (url: string) => string } = {},
): Promise<FaultProxy> {
  const up = new URL(target);
  const state = { mode: 'pass' as FaultMode };
  const open = new Set<http.ServerResponse>();
  const hung = new Set<http.ServerResponse>();
  const passed: string[] = [];
  const received: string[] = [];
  const affects = opts.affects ?? (() => true);
  const forbidden = opts.forbidden ?? (() => 'pods is forbidden: User "system:serviceaccount:mon:alloy" cannot list resource "pods" in API group "" in the namespace "x"');
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    received.push(url);
    const mode = affects(url) ? state.mode : 'pass';
    if (mode === 'down') return void req.socket.destroy();
    if (mode === 'hang') {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    if (mode === 'forbid') {
      res.writeHead(403, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Forbidden', code: 403, message: forbidden(url) }));
    }
    passed.push(url);
    const preq = http.request({ host: up.hostname, port: up.port, path: url, method: req.method, headers: req.headers }, (pres) => {
      res.writeHead(pres.statusCode ?? 502, pres.headers);
      pres.pipe(res);
    });
    // Tracked from now, not from the upstream's first bytes: a mode switch must also end a watch
    // whose answer has not started yet, or it would outlive the switch.
    open.add(res);
    res.on('close', () => {
      open.delete(res);
      preq.destroy();
    });
    preq.on('error', () => res.destroy());
    req.pipe(preq);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    passed,
    received,
    get mode() {
      return state.mode;
    },
    set mode(m: FaultMode) {
      state.mode = m;
      if (m !== 'pass') for (const r of open) if (affects(r.req.url ?? '')) r.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const h of hung) h.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
