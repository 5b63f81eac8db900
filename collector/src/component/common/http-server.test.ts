import http from 'node:http';
import type { Socket } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { closeHttpServer, httpServerSchema, listenHttpServer } from './http-server.js';

const tracking = () => ({
  sockets: new Set<Socket>(),
  connections: new Gauge({ name: 'test_tcp_connections', help: 'h', labelNames: ['protocol'] as const, registers: [new Registry()] }),
});

describe('httpServerSchema', () => {
  it('applies Alloy defaults', () => {
    expect(httpServerSchema.parse({})).toStrictEqual({
      listen_address: '',
      listen_port: 8080,
      conn_limit: 0,
      server_read_timeout: 30_000,
      server_write_timeout: 30_000,
      server_idle_timeout: 120_000,
    });
  });

  it('rejects tls_config with the fix and out-of-range ports', () => {
    const issue = httpServerSchema.safeParse({ tls_config: {} }).error?.issues[0];
    expect(issue?.path).toEqual(['tls_config']);
    expect(issue?.message).toBe('is not supported by this collector yet; terminate TLS at a load balancer or proxy in front of the collector');
    expect(httpServerSchema.safeParse({ listen_port: 65536 }).success).toBe(false);
  });
});

describe('listenHttpServer', () => {
  it('serves, applies limits and tracks connections until they close', async () => {
    const track = tracking();
    const cfg = httpServerSchema.parse({ listen_address: '127.0.0.1', listen_port: 0, conn_limit: 3, server_idle_timeout: '1234ms' });
    let seen = { sockets: 0, connections: 0 };
    const server = await listenHttpServer(
      'test.component',
      cfg,
      (_req, res) => {
        void track.connections.get().then((g) => {
          seen = { sockets: track.sockets.size, connections: g.values[0]?.value ?? 0 };
          res.end('ok');
        });
      },
      track,
    );
    try {
      expect(server.maxConnections).toBe(3);
      expect(server.keepAliveTimeout).toBe(1234);
      const port = (server.address() as { port: number }).port;
      const body = await new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, agent: false }, (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c.toString()));
          res.on('end', () => resolve(b));
        }).on('error', reject);
      });
      expect(body).toBe('ok');
      expect(seen).toStrictEqual({ sockets: 1, connections: 1 });
    } finally {
      await closeHttpServer(server, 1000);
    }
    expect(track.sockets.size).toBe(0);
    expect((await track.connections.get()).values[0]?.value).toBe(0);
  });

  it('names the component and address when the port is taken', async () => {
    const first = await listenHttpServer('a', httpServerSchema.parse({ listen_address: '127.0.0.1', listen_port: 0 }), (_q, s) => s.end(), tracking());
    const port = (first.address() as { port: number }).port;
    try {
      await expect(listenHttpServer('test.component', httpServerSchema.parse({ listen_address: '127.0.0.1', listen_port: port }), (_q, s) => s.end(), tracking())).rejects.toThrow(
        `test.component: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`,
      );
    } finally {
      await new Promise((r) => first.close(r));
    }
  });
});
