/**
 * The kubelet's own HTTPS endpoint, the one a real API server proxies `kubectl logs` to:
 * `GET /containerLogs/<namespace>/<pod>/<container>` with the query of `pods/log` (`follow`,
 * `previous`, `timestamps`, `tailLines`, `sinceSeconds`, `sinceTime`, `limitBytes`), answered
 * from the node's log files as plain text. Listens on the node address only (127.0.0.1) and, like
 * a kubelet with anonymous authentication and `AlwaysAllow`, does not authenticate callers.
 * Exec, attach and port-forward are not served (404).
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { podLogOptions } from '../apiserver/options.js';
import type { PodLogRequest } from './kubelet.js';

export type LogSource = (namespace: string, pod: string, container: string, opts: PodLogRequest) => NodeJS.ReadableStream | undefined;

export interface KubeletServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startKubeletServer(tls: { certPem: string; keyPem: string }, logs: LogSource, host = '127.0.0.1'): Promise<KubeletServer> {
  const open = new Set<() => void>();
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`404 page not found: ${url.pathname} (this kubelet serves only /containerLogs/<namespace>/<pod>/<container>)\n`);
      return;
    }
    const [ns, pod, container] = [m[1]!, m[2]!, m[3]!].map(decodeURIComponent) as [string, string, string];
    const opts = podLogOptions(url.searchParams);
    if (typeof opts === 'string') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`${opts}\n`);
      return;
    }
    const stream = logs(ns, pod, container, opts);
    if (!stream) {
      // A real kubelet's answers (400, which the API server passes on with this text).
      const msg = opts.previous ? `previous terminated container "${container}" in pod "${pod}" not found` : `container "${container}" in pod "${pod}" is waiting to start: ContainerCreating`;
      res.writeHead(400, { 'content-type': 'text/plain' }).end(msg);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    const end = (): void => {
      open.delete(end);
      (stream as unknown as { destroy?: () => void }).destroy?.();
      if (!res.writableEnded) res.end();
    };
    open.add(end);
    req.on('close', end);
    stream.on('data', (c: Buffer | string) => res.write(c));
    stream.on('end', end);
    stream.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const end of [...open]) end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
