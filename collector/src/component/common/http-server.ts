/**
 * The `http` server block of listening components (Alloy's `common/net` `HTTPConfig`): where the
 * component's own listener binds and its connection limits and timeouts (milliseconds).
 * `tls_config` is rejected with the fix (terminate TLS in front of the collector).
 * The `grpc` block (`GRPCConfig`) is validated with upstream's names and defaults; no gRPC
 * listener is opened (`GRPC_NOT_SERVED` says why).
 * `listenHttpServer()` starts a listener for such a block, `closeHttpServer()` stops it.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Gauge } from 'prom-client';
import { z } from 'zod';
import { duration, unsupported } from '../../syntax/vm/schema.js';

export const httpServerSchema = z.object({
  listen_address: z.string().default(''),
  listen_port: z.number().int().min(0).max(65535).default(8080),
  conn_limit: z.number().int().min(0).default(0),
  server_read_timeout: duration().default(30_000),
  server_write_timeout: duration().default(30_000),
  server_idle_timeout: duration().default(120_000),
  tls_config: unsupported('terminate TLS at a load balancer or proxy in front of the collector'),
});

export type HttpServerArguments = z.output<typeof httpServerSchema>;

/**
 * The `grpc` block of `loki.source.api` and `prometheus.receive_http`, with upstream's names and
 * defaults (durations unset mean "infinite"). Upstream starts a gRPC server for it but registers no
 * service on it (pushes and remote-writes are HTTP only), so this collector validates the block and
 * opens no listener; `tls_config` is not supported, as for `http`.
 */
export const grpcServerSchema = z.object({
  listen_address: z.string().default(''),
  listen_port: z.number().int().min(0).max(65535).default(0),
  conn_limit: z.number().int().min(0).default(0),
  max_connection_age: duration().optional(),
  max_connection_age_grace: duration().optional(),
  max_connection_idle: duration().optional(),
  server_max_recv_msg_size: z.number().int().min(0).default(4 * 1024 * 1024),
  server_max_send_msg_size: z.number().int().min(0).default(4 * 1024 * 1024),
  server_max_concurrent_streams: z.number().int().min(0).default(100),
  tls_config: unsupported('terminate TLS at a load balancer or proxy in front of the collector'),
});

export type GrpcServerArguments = z.output<typeof grpcServerSchema>;

/** Logged and shown in debug info when a `grpc` block is configured. */
export const GRPC_NOT_SERVED =
  'the grpc block is validated but no gRPC listener is opened: upstream serves no API on it for this component (data arrives over HTTP only), so a gRPC listener is not supported by this collector yet';

/** Where a listener records its open sockets (for shutdown) and its connection count. */
export interface ConnectionTracking {
  readonly sockets: Set<Socket>;
  readonly connections: Gauge<'protocol'>;
}

/**
 * Starts a listener for `cfg`: read timeout as request timeout (headers within at most 60s), idle
 * timeout as keep-alive, `conn_limit` as max connections (0: unlimited); every socket is tracked
 * until it closes. Resolves once listening.
 * @throws Error naming `component` and the address when the port cannot be bound.
 * The caller attaches its own `error` handler for failures after start.
 */
export async function listenHttpServer(component: string, cfg: HttpServerArguments, handler: http.RequestListener, track: ConnectionTracking): Promise<http.Server> {
  const server = http.createServer({ requestTimeout: cfg.server_read_timeout, headersTimeout: Math.min(cfg.server_read_timeout || 60_000, 60_000) }, handler);
  server.keepAliveTimeout = cfg.server_idle_timeout;
  if (cfg.conn_limit > 0) server.maxConnections = cfg.conn_limit;
  server.on('connection', (s: Socket) => {
    track.sockets.add(s);
    track.connections.inc({ protocol: 'http' });
    s.once('close', () => {
      track.sockets.delete(s);
      track.connections.dec({ protocol: 'http' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: Error) => reject(new Error(`${component}: cannot listen on ${cfg.listen_address || '0.0.0.0'}:${cfg.listen_port}: ${err.message}`)));
    server.listen(cfg.listen_port, cfg.listen_address || undefined, () => resolve());
  });
  return server;
}

/** Stops accepting, closes idle keep-alive sockets at once and the busy ones after `graceMs`; resolves when closed. */
export async function closeHttpServer(server: http.Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((r) => server.close(() => r()));
  server.closeIdleConnections();
  const t = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(t);
}
