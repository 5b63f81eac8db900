// Three collector processes form a cluster over loopback: every node lists all three peers;
// a prometheus.scrape with clustering spreads N static targets so each is scraped by exactly
// one node; a SIGKILLed node is dropped by the others and its targets move; a SIGTERMed node
// leaves at once and the last node scrapes everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { plainOfBody, type AlloyJSONStatement } from '../../collector/src/syntax/index.js';

jest.setTimeout(60_000);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/alloy');
const TARGETS = 12;

interface Node {
  name: string;
  base: string;
  proc: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000, nodes: Node[] = []): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}\n${nodes.map((n) => `--- ${n.name}\n${n.out().slice(-3000)}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function getJSON<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

const peersOf = async (n: Node): Promise<string[]> => (await getJSON<Array<{ name: string }>>(`${n.base}/api/v0/web/peers`)).map((p) => p.name).sort();
const scrapedBy = async (n: Node): Promise<string[]> =>
  (plainOfBody((await getJSON<{ debugInfo: AlloyJSONStatement[] }>(`${n.base}/api/v0/web/components/prometheus.scrape.spread`)).debugInfo).target as Array<{ url: string }>).map((t) => t.url);

describe('alloy run --cluster.enabled with three processes', () => {
  const nodes: Node[] = [];
  const targets: http.Server[] = [];
  const hits = new Map<string, number>();
  let dir = '';

  afterAll(async () => {
    for (const n of nodes) n.proc.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exit));
    for (const t of targets) t.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('forms a cluster, spreads targets exactly once, and survives a crash and a graceful leave', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cluster-gossip-'));
    const targetAddrs: string[] = [];
    for (let i = 0; i < TARGETS; i++) {
      const s = http.createServer((req, res) => {
        const key = `${(s.address() as net.AddressInfo).port}`;
        hits.set(key, (hits.get(key) ?? 0) + 1);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(`# TYPE demo gauge\ndemo{target="${i}"} ${i}\n`);
        void req;
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      targets.push(s);
      targetAddrs.push(`127.0.0.1:${(s.address() as net.AddressInfo).port}`);
    }
    const config = `prometheus.scrape "spread" {
  targets         = [${targetAddrs.map((a) => `{"__address__" = "${a}"}`).join(', ')}]
  forward_to      = []
  scrape_interval = "300ms"
  scrape_timeout  = "200ms"
  clustering {
    enabled = true
  }
}
`;
    await fs.writeFile(path.join(dir, 'config.alloy'), config);
    const ports = [await freePort(), await freePort(), await freePort()];
    const join = ports.map((p) => `127.0.0.1:${p}`).join(',');
    for (let i = 0; i < 3; i++) {
      const name = `alloy-${i}`;
      const proc = spawn(
        process.execPath,
        [bin, 'run', `--server.http.listen-addr=127.0.0.1:${ports[i]}`, `--storage.path=${path.join(dir, name)}`, '--cluster.enabled=true', `--cluster.node-name=${name}`, `--cluster.join-addresses=${join}`, '--cluster.name=e2e', '--cluster.rejoin-interval=2s', path.join(dir, 'config.alloy')],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      nodes.push({ name, base: `http://127.0.0.1:${ports[i]}`, proc, out: () => out, exit: new Promise((r) => proc.on('exit', (c) => r(c))) });
    }
    const all = nodes.map((n) => n.name).sort();

    // Membership: every node lists all three, and /metrics agrees.
    for (const n of nodes) await waitFor(`${n.name} to list all peers`, async () => ((await peersOf(n)).join() === all.join() ? true : undefined), 20_000, nodes);
    const metrics = await (await fetch(`${nodes[0]!.base}/metrics`)).text();
    expect(metrics).toContain('cluster_node_peers{cluster_name="e2e",state="participant"} 3');
    const self = (await getJSON<Array<{ name: string; isSelf: boolean }>>(`${nodes[1]!.base}/api/v0/web/peers`)).filter((p) => p.isSelf);
    expect(self.map((p) => p.name)).toEqual(['alloy-1']);

    // Distribution: each target is scraped by exactly one node, and every node gets a share.
    const expectPartition = async (live: Node[]): Promise<string[][]> =>
      waitFor(
        `targets split exactly once across ${live.map((n) => n.name).join(', ')}`,
        async () => {
          const shares = await Promise.all(live.map(scrapedBy));
          const flat = shares.flat();
          return flat.length === TARGETS && new Set(flat).size === TARGETS ? shares : undefined;
        },
        20_000,
        nodes,
      );
    const shares = await expectPartition(nodes);
    for (const s of shares) expect(s.length).toBeGreaterThan(0);
    // The targets really are scraped (data flows), not just listed.
    await waitFor('every target scraped', async () => (hits.size === TARGETS ? true : undefined));

    // Crash: SIGKILL one node; the others drop it and take over its targets.
    const [n0, n1, n2] = nodes as [Node, Node, Node];
    n2.proc.kill('SIGKILL');
    await n2.exit;
    const t0 = Date.now();
    for (const n of [n0, n1]) await waitFor(`${n.name} to drop the killed node`, async () => ((await peersOf(n)).join() === 'alloy-0,alloy-1' ? true : undefined), 20_000, nodes);
    const dropMs = Date.now() - t0;
    await expectPartition([n0, n1]);

    // Graceful leave: SIGTERM; the leave is delivered before the process exits, so the survivor
    // has already dropped it (no failure timeout involved).
    n1.proc.kill('SIGTERM');
    expect(await n1.exit).toBe(0);
    expect(n1.out()).toContain('left the cluster');
    expect((await peersOf(n0)).join()).toBe('alloy-0');
    const last = await expectPartition([n0]);
    expect(last[0]).toHaveLength(TARGETS);
    process.stdout.write(`cluster-gossip: crash detected in ${dropMs}ms\n`);
  });
});
