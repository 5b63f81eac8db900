// GossipCluster over real HTTP on loopback: join, convergence, ownership partition, change
// notifications, failure detection, graceful leave and --cluster.wait-for-size.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import winston from 'winston';
import { GOSSIP_PATH, HttpGossipTransport } from './http-transport.js';
import { GossipCluster } from './service.js';

const logger = winston.createLogger({ silent: true });

interface Node {
  svc: GossipCluster;
  server: http.Server;
  addr: string;
  registry: Registry;
  changes: number;
}

const nodes: Node[] = [];

async function startNode(name: string, join: string[], extra: Partial<ConstructorParameters<typeof GossipCluster>[0]> = {}): Promise<Node> {
  let svc: GossipCluster | undefined;
  const server = http.createServer((req, res) => {
    if (req.url === GOSSIP_PATH && svc) void svc.handle(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const registry = new Registry();
  svc = new GossipCluster({
    nodeName: name,
    advertiseAddress: addr,
    joinAddresses: join,
    defaultPort: 12345,
    clusterName: 'test',
    rejoinIntervalMs: 0,
    maxJoinPeers: 0,
    waitForSize: 0,
    waitTimeoutMs: 0,
    logger,
    registry,
    gossipIntervalMs: 30,
    // Generous against CPU stalls on a loaded 2-core CI box; the crash test waits this long.
    suspectAfterMs: 800,
    failAfterMs: 1_600,
    notifyMinIntervalMs: 20,
    ...extra,
  });
  const node: Node = { svc, server, addr, registry, changes: 0 };
  svc.onChange(() => node.changes++);
  nodes.push(node);
  await svc.start();
  return node;
}

async function waitFor(what: string, fn: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const peerNames = (n: Node): string[] => n.svc.peers().map((p) => p.name);

afterEach(async () => {
  for (const n of nodes.splice(0)) {
    await n.svc.stop(200);
    n.server.closeAllConnections();
    await new Promise((r) => n.server.close(r));
  }
});

describe('GossipCluster over HTTP', () => {
  it('three nodes converge, split keys exactly once between them, notify on change and export metrics', async () => {
    const a = await startNode('a', []);
    const b = await startNode('b', [a.addr]);
    const c = await startNode('c', [b.addr]);
    await waitFor('3 peers everywhere', () => [a, b, c].every((n) => n.svc.peers().length === 3));
    const keys = Array.from({ length: 3000 }, (_, i) => `__address__=10.0.${i >> 8}.${i & 255}:9100`);
    const owned = [a, b, c].map((n) => keys.filter((k) => n.svc.owns(k)).length);
    expect(owned.reduce((x, y) => x + y)).toBe(keys.length);
    for (const k of keys.slice(0, 50)) expect([a, b, c].filter((n) => n.svc.owns(k))).toHaveLength(1);
    for (const o of owned) expect(o).toBeGreaterThan(700);
    await waitFor('change notifications', () => a.changes > 0 && c.changes > 0);
    const text = await a.registry.metrics();
    expect(text).toContain('cluster_node_peers{cluster_name="test",state="participant"} 3');
    expect(text).toContain('cluster_node_info{state="participant"} 1');
    expect(text).toMatch(/cluster_transport_rx_bytes_total [1-9]/);
    expect(text).toMatch(/cluster_transport_exchanges_total\{kind="gossip",result="success"\} [1-9]/);
    expect(a.svc.status()).toMatchObject({ state: 'clustered', peers: ['a', 'b', 'c'] });
  });

  it('drops a node that stops answering (crash) and one that leaves gracefully; survivors then own every key', async () => {
    const a = await startNode('a', []);
    const b = await startNode('b', [a.addr]);
    let cDown = false;
    const http = new HttpGossipTransport();
    const c = await startNode('c', [a.addr], {
      transport: { exchange: (addr, msg) => (cDown ? Promise.reject(new Error('crashed')) : http.exchange(addr, msg)) },
    });
    await waitFor('convergence', () => [a, b, c].every((n) => n.svc.peers().length === 3));
    // Crash: c neither answers nor sends any more, and never says goodbye.
    cDown = true;
    c.server.closeAllConnections();
    c.server.close();
    nodes.splice(nodes.indexOf(c), 1);
    await waitFor('c dropped', () => !peerNames(a).includes('c') && !peerNames(b).includes('c'));
    await c.svc.stop(50);
    http.close();
    await b.svc.stop();
    nodes.splice(nodes.indexOf(b), 1);
    b.server.close();
    expect(peerNames(a)).toEqual(['a']); // the leave arrived synchronously with stop()
    expect(a.svc.owns('anything')).toBe(true);
  });

  it('joins the peers --cluster.discover-peers finds, and reports discovery failures in status', async () => {
    const a = await startNode('a', []);
    const b = await startNode('b', [], { discover: async () => [a.addr] });
    await waitFor('b joined a via discovery', () => peerNames(a).includes('b'));
    const c = await startNode('c', [], {
      discover: async () => {
        throw new Error('discover-k8s: listing pods in namespace "x": HTTP 403: forbidden');
      },
    });
    expect(c.svc.status().message).toContain('HTTP 403: forbidden');
    expect(peerNames(b)).toEqual(['a', 'b']);
  });

  it('rejects a node from another cluster and reports why in status', async () => {
    const a = await startNode('a', []);
    const x = await startNode('x', [a.addr], { clusterName: 'other' });
    expect(peerNames(a)).toEqual(['a']);
    expect(x.svc.status().message).toMatch(/cluster name mismatch.*--cluster\.name/);
  });

  it('owns nothing until --cluster.wait-for-size participants are present', async () => {
    const a = await startNode('a', [], { waitForSize: 2 });
    expect(a.svc.ready).toBe(false);
    expect(a.svc.owns('k')).toBe(false);
    await startNode('b', [a.addr], { waitForSize: 2 });
    await waitFor('ready', () => a.svc.ready);
    expect(['k1', 'k2', 'k3', 'k4', 'k5', 'k6'].some((k) => a.svc.owns(k))).toBe(true);
  });

  it('stops waiting for size after --cluster.wait-timeout', async () => {
    const a = await startNode('a', [], { waitForSize: 3, waitTimeoutMs: 100 });
    expect(a.svc.owns('k')).toBe(false);
    await waitFor('wait timeout', () => a.svc.ready, 3_000);
    expect(a.svc.owns('k')).toBe(true);
  });
});
