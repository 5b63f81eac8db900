/**
 * Cluster benchmark. Workload: K scrape-target keys (default 100,000, shaped like
 * `prometheus.scrape`'s cluster keys) over N nodes (default 10).
 *
 * - Ownership lookups per CPU-second: our 512-token ring (`HashRing.lookup`, what
 *   `GossipCluster.owns` runs per target on every resync) against a peer measured in the same
 *   run: rendezvous (highest-random-weight) hashing over the same nodes and hash function, the
 *   other standard choice for this job. Prints the ratio.
 * - Ring rebuild time on a membership change, and the share of keys that move when a node joins
 *   (ideal 1/(N+1)) for both algorithms.
 * - Gossip convergence: ticks until every node of an M-node in-process cluster lists all M after
 *   each joined through one random earlier node, and the bytes exchanged per node per tick.
 *
 *   npm run build:bench && node dist-bench/bench/cluster-hashing.js [K] [N]
 */
import { fileURLToPath } from 'node:url';
import { HashRing, hashString } from '../collector/src/cluster/hash-ring.js';
import { InProcessNetwork, ManualClock, seededRandom } from '../collector/src/cluster/cluster.test-support.js';

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Rendezvous hashing: the node with the highest hash(node, key) owns the key. */
export class Rendezvous {
  #nodes: string[] = [];
  #seeds = new Uint32Array(0);
  setNodes(names: Iterable<string>): void {
    this.#nodes = [...new Set(names)].sort();
    this.#seeds = Uint32Array.from(this.#nodes.map(hashString));
  }
  lookup(key: string): string | undefined {
    const h = hashString(key);
    let best = -1;
    let bestW = -1;
    for (let i = 0; i < this.#seeds.length; i++) {
      let x = (h ^ this.#seeds[i]!) >>> 0;
      x ^= x >>> 16;
      x = Math.imul(x, 0x85ebca6b);
      x ^= x >>> 13;
      x = Math.imul(x, 0xc2b2ae35);
      x ^= x >>> 16;
      const w = x >>> 0;
      if (w > bestW) {
        bestW = w;
        best = i;
      }
    }
    return best < 0 ? undefined : this.#nodes[best];
  }
}

export function targetKeys(k: number): string[] {
  return Array.from({ length: k }, (_, i) => `__address__=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:9100,job=kubernetes-pods,namespace=ns-${i % 37},pod=app-${i}`);
}

interface Sharder {
  setNodes(names: Iterable<string>): void;
  lookup(key: string): string | undefined;
}

function lookupsPerCpuSec(s: Sharder, keys: readonly string[], minMs = 300): number {
  let n = 0;
  let sink = 0;
  const t0 = cpuMs();
  let t = t0;
  while (t - t0 < minMs) {
    for (const k of keys) if (s.lookup(k) === 'node-0') sink++;
    n += keys.length;
    t = cpuMs();
  }
  if (sink < 0) throw new Error('unreachable');
  return (n / (t - t0)) * 1000;
}

function movedOnJoin(s: Sharder, nodes: string[], keys: readonly string[]): number {
  s.setNodes(nodes);
  const before = keys.map((k) => s.lookup(k));
  s.setNodes([...nodes, 'node-new']);
  let moved = 0;
  keys.forEach((k, i) => {
    if (s.lookup(k) !== before[i]) moved++;
  });
  return moved / keys.length;
}

export interface ClusterBenchFigures {
  readonly ringLookupsPerSec: number;
  readonly rendezvousLookupsPerSec: number;
  readonly ringRebuildMs: number;
  readonly ringMoved: number;
  readonly rendezvousMoved: number;
  readonly gossipTicks: number;
  readonly gossipBytesPerNodePerTick: number;
}

export async function runClusterBench(k: number, n: number, gossipNodes: number): Promise<ClusterBenchFigures> {
  const keys = targetKeys(k);
  const nodes = Array.from({ length: n }, (_, i) => `node-${i}`);
  const ring = new HashRing();
  const hrw = new Rendezvous();
  ring.setNodes(nodes);
  hrw.setNodes(nodes);
  lookupsPerCpuSec(ring, keys, 50);
  lookupsPerCpuSec(hrw, keys, 50);
  const ringLookupsPerSec = lookupsPerCpuSec(ring, keys);
  const rendezvousLookupsPerSec = lookupsPerCpuSec(hrw, keys);
  const t0 = cpuMs();
  const rebuilds = 20;
  for (let i = 0; i < rebuilds; i++) ring.setNodes(i % 2 ? nodes : nodes.slice(1));
  const ringRebuildMs = (cpuMs() - t0) / rebuilds;
  const ringMoved = movedOnJoin(new HashRing(), nodes, keys);
  const rendezvousMoved = movedOnJoin(new Rendezvous(), nodes, keys);

  // Gossip convergence in-process: node i joins via one random earlier node (no node knows
  // everyone), then ticks until every node lists all of them.
  const clock = new ManualClock();
  const net = new InProcessNetwork();
  const members = Array.from({ length: gossipNodes }, (_, i) => net.add({ name: `m-${i}`, addr: `10.0.${i >> 8}.${i & 255}:12345`, clusterName: 'bench', now: clock.now, random: seededRandom(i + 7) }));
  const pick = seededRandom(99);
  for (let i = 1; i < gossipNodes; i++) {
    const j = Math.floor(pick() * i);
    await members[i]!.join([`10.0.${j >> 8}.${j & 255}:12345`]);
  }
  let ticks = 0;
  while (!members.every((m) => m.size === gossipNodes) && ticks < 100) {
    clock.advance(500);
    await net.tickAll();
    ticks++;
  }
  const before = net.exchanges;
  const bytes = JSON.stringify({ cluster: 'bench', from: 'm-0', nodes: members[0]!.peers().map((p) => ({ name: p.name, addr: p.addr, state: p.state, incarnation: 1, heartbeat: 1 })) }).length;
  clock.advance(500);
  await net.tickAll();
  const perNode = ((net.exchanges - before) * bytes * 2) / gossipNodes;
  return { ringLookupsPerSec, rendezvousLookupsPerSec, ringRebuildMs, ringMoved, rendezvousMoved, gossipTicks: ticks, gossipBytesPerNodePerTick: perNode };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const k = Number(process.argv[2] ?? 100_000);
  const n = Number(process.argv[3] ?? 10);
  const f = await runClusterBench(k, n, 50);
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  process.stdout.write(
    [
      `cluster hashing: ${fmt(k)} keys over ${n} nodes`,
      `  ring (512 tokens/node) lookups/CPU-s:  ${fmt(f.ringLookupsPerSec)}`,
      `  rendezvous (peer) lookups/CPU-s:        ${fmt(f.rendezvousLookupsPerSec)}`,
      `  ratio ring/rendezvous:                  ${(f.ringLookupsPerSec / f.rendezvousLookupsPerSec).toFixed(2)}x`,
      `  ring rebuild on membership change:      ${f.ringRebuildMs.toFixed(2)} ms`,
      `  keys moved when node ${n + 1} joins:          ring ${(f.ringMoved * 100).toFixed(1)}%, rendezvous ${(f.rendezvousMoved * 100).toFixed(1)}% (ideal ${(100 / (n + 1)).toFixed(1)}%)`,
      `gossip: 50 nodes, each joined via one random earlier node, converge in ${f.gossipTicks} ticks; ~${fmt(f.gossipBytesPerNodePerTick)} bytes/node/tick at fanout 3`,
      '',
    ].join('\n'),
  );
}
