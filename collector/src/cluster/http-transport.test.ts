import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GOSSIP_PATH, HttpGossipTransport, parseGossipMessage, serveGossip } from './http-transport.js';
import { Membership } from './membership.js';

describe('HTTP gossip transport', () => {
  let server: http.Server;
  let addr = '';
  const node = new Membership({ name: 'srv', addr: 'srv:1', clusterName: 'prod', transport: { exchange: () => Promise.reject(new Error('unused')) } });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === GOSSIP_PATH) void serveGossip(node, req, res);
      else res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `${req.url} not found` }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('exchanges views in one round trip and counts bytes', async () => {
    let tx = 0;
    let rx = 0;
    const t = new HttpGossipTransport({ onBytes: (d, n) => (d === 'tx' ? (tx += n) : (rx += n)) });
    const answer = await t.exchange(addr, { cluster: 'prod', from: 'cli', nodes: [{ name: 'cli', addr: 'cli:1', state: 'participant', incarnation: 1, heartbeat: 3 }] });
    expect(answer.from).toBe('srv');
    expect(answer.nodes.map((n) => n.name).sort()).toEqual(['cli', 'srv']);
    expect(node.peers().map((p) => p.name)).toEqual(['cli', 'srv']);
    expect(tx).toBeGreaterThan(50);
    expect(rx).toBeGreaterThan(50);
    t.close();
  });

  it('answers a foreign cluster name, bad bodies and wrong methods with 4xx and the reason', async () => {
    const t = new HttpGossipTransport();
    await expect(t.exchange(addr, { cluster: 'dev', from: 'x', nodes: [] })).rejects.toThrow(/HTTP 400: cluster name mismatch: node "x" belongs to cluster "dev"/);
    const bad = await fetch(`http://${addr}${GOSSIP_PATH}`, { method: 'POST', body: '{"cluster":"prod","from":"x","nodes":[{"name":""}]}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^invalid gossip message: nodes\.0\.name/);
    const get = await fetch(`http://${addr}${GOSSIP_PATH}`);
    expect(get.status).toBe(405);
    t.close();
  });

  it('names the likely cause when the peer does not serve gossip', async () => {
    const t = new HttpGossipTransport();
    const other = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"/api/v0/cluster/gossip not found"}'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const a = `127.0.0.1:${(other.address() as AddressInfo).port}`;
    await expect(t.exchange(a, { cluster: 'prod', from: 'x', nodes: [] })).rejects.toThrow('HTTP 404: /api/v0/cluster/gossip not found (is --cluster.enabled=true set on that node?)');
    other.close();
    t.close();
  });

  it('rejects non-JSON gossip with a clear message', () => {
    expect(() => parseGossipMessage('nope')).toThrow(/^gossip message is not JSON/);
  });
});
