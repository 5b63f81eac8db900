/**
 * The kubelet's HTTPS endpoint, the part the API server proxies to: `GET
 * /containerLogs/<namespace>/<pod>/<container>` (what `pods/<name>/log` becomes on a real
 * kube-apiserver: it looks up the Node's address and `daemonEndpoints.kubeletEndpoint.Port` and
 * forwards the query: follow, previous, timestamps, tailLines, sinceSeconds, sinceTime,
 * limitBytes).
 *
 * Authentication is by client certificate signed by the cluster CA (the real kubelet's
 * `--client-ca-file`); authorization admits only the users named in `authorizedUsers` (the API
 * server's `--kubelet-client-certificate` CN), where a real kubelet asks the API server with a
 * SubjectAccessReview for `nodes/proxy`. Answers follow the real kubelet's codes and texts: 401
 * without a certificate, 403 naming the user, 404 for an unknown pod or container, 400 for a
 * container that has not started or a bad query. Other paths are 404.
 */
import https from 'node:https';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { PodLogRequest } from './kubelet.js';

export interface KubeletServerTls {
  /** PEM of the CA that signs client certificates (the cluster CA). */
  readonly ca: string;
  /** PEM serving certificate (naming the node's address) and key. */
  readonly cert: string;
  readonly key: string;
}

/** What the server needs of the kubelet. */
export interface ContainerLogSource {
  /** The pod's container and init container names, or undefined when no such pod runs on this node. */
  containersOf(namespace: string, pod: string): readonly string[] | undefined;
  /** The container's log, or undefined when that instance has not started (or, with `previous`, never ended). */
  open(namespace: string, pod: string, container: string, opts: PodLogRequest): NodeJS.ReadableStream | undefined;
}

export interface KubeletServerOptions {
  /** Address to listen on (the node's InternalIP). */
  readonly host: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  readonly tls: KubeletServerTls;
  /** Certificate common names allowed to read logs. */
  readonly authorizedUsers: readonly string[];
  readonly logs: ContainerLogSource;
}

export interface KubeletServer {
  readonly port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Parses the query the API server forwards. @throws HttpError 400 naming the bad parameter. */
export function parseLogQuery(q: URLSearchParams): PodLogRequest {
  const bool = (k: string): boolean => {
    const v = q.get(k);
    if (v === null || v === '' || v === 'false') return false;
    if (v === 'true') return true;
    throw new HttpError(400, `Unable to decode query: ${k}: invalid boolean ${JSON.stringify(v)}`);
  };
  const int = (k: string): number | undefined => {
    const v = q.get(k);
    if (v === null) return undefined;
    if (!/^-?\d+$/.test(v)) throw new HttpError(400, `Unable to decode query: ${k}: invalid integer ${JSON.stringify(v)}`);
    return Number(v);
  };
  const sinceTime = q.get('sinceTime') ?? undefined;
  if (sinceTime !== undefined && Number.isNaN(Date.parse(sinceTime))) throw new HttpError(400, `Unable to decode query: sinceTime: parsing time ${JSON.stringify(sinceTime)} as RFC3339: invalid`);
  const sinceSeconds = int('sinceSeconds');
  if (sinceSeconds !== undefined && sinceTime !== undefined) throw new HttpError(400, 'at most one of sinceTime or sinceSeconds may be specified');
  const tailLines = int('tailLines');
  const limitBytes = int('limitBytes');
  for (const [k, v] of [['sinceSeconds', sinceSeconds], ['limitBytes', limitBytes]] as const) if (v !== undefined && v < 1) throw new HttpError(400, `${k}: must be greater than 0`);
  if (tailLines !== undefined && tailLines < 0) throw new HttpError(400, 'tailLines: must be greater than or equal to 0');
  return {
    follow: bool('follow'),
    previous: bool('previous'),
    timestamps: bool('timestamps'),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(sinceTime !== undefined ? { sinceTime } : {}),
  };
}

/** Starts the endpoint; resolves once it listens. */
export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const open = new Set<() => void>();
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    const user = (req.socket as TLSSocket).authorized && peer?.subject ? String(peer.subject.CN) : undefined;
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]*)$/.exec(url.pathname);
    if (user === undefined) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
    if (!opts.authorizedUsers.includes(user)) {
      // /containerLogs is authorized as the `nodes/proxy` subresource, as by a real kubelet.
      return void res.writeHead(403, { 'content-type': 'text/plain' }).end(`Forbidden (user=${user}, verb=${req.method === 'GET' ? 'get' : 'create'}, resource=nodes, subresource=proxy)`);
    }
    if (!m || req.method !== 'GET') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
    const [ns, pod, container] = [m[1]!, m[2]!, m[3]!].map(decodeURIComponent) as [string, string, string];
    let stream: NodeJS.ReadableStream;
    try {
      if (container === '') throw new HttpError(400, 'Missing container name.');
      const query = parseLogQuery(url.searchParams);
      const containers = opts.logs.containersOf(ns, pod);
      if (!containers) throw new HttpError(404, `pod "${pod}" does not exist`);
      if (!containers.includes(container)) throw new HttpError(404, `container "${container}" not found in pod "${pod}"`);
      const s = opts.logs.open(ns, pod, container, query);
      if (!s) throw new HttpError(400, query.previous ? `previous terminated container "${container}" in pod "${pod}" not found` : `container "${container}" in pod "${pod}" is waiting to start: ContainerCreating`);
      stream = s;
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, String(e));
      return void res.writeHead(err.status, { 'content-type': 'text/plain' }).end(err.message);
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    const end = (): void => {
      open.delete(end);
      (stream as unknown as { destroy?: () => void }).destroy?.();
      if (!res.writableEnded) res.end();
    };
    open.add(end);
    // The response closes when the API server (or the client behind it) goes away.
    res.on('close', end);
    res.on('error', end);
    stream.on('data', (c: Buffer | string) => res.write(c));
    stream.on('end', end);
    stream.on('error', end);
  };
  const server = https.createServer({ ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key, requestCert: true, rejectUnauthorized: false }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => resolve());
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
