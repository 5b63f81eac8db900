import { ClusterNameMismatchError } from './membership.js';
import { InProcessNetwork, ManualClock, seededRandom } from './cluster.test-support.js';

const names = (m: { peers(): Array<{ name: string }> }): string[] => m.peers().map((p) => p.name);

function cluster(n: number, opts: { clusterName?: string } = {}) {
  const clock = new ManualClock();
  const net = new InProcessNetwork();
  const events: string[] = [];
  const nodes = Array.from({ length: n }, (_, i) =>
    net.add({
      name: `node-${i}`,
      addr: `10.0.0.${i + 1}:12345`,
      clusterName: opts.clusterName ?? 'c',
      now: clock.now,
      random: seededRandom(i + 1),
      suspectAfterMs: 2_000,
      failAfterMs: 4_000,
      onChange: (e, node) => events.push(`node-${i}:${e}:${node}`),
    }),
  );
  return { clock, net, nodes, events };
}

async function rounds(net: InProcessNetwork, clock: ManualClock, n: number, stepMs = 500): Promise<void> {
  for (let i = 0; i < n; i++) {
    clock.advance(stepMs);
    await net.tickAll();
  }
}

describe('Membership', () => {
  it('GIVEN nodes that only know the first one WHEN they join and gossip THEN every node lists all of them', async () => {
    const { clock, net, nodes } = cluster(8);
    for (const m of nodes.slice(1)) {
      const r = await m.join(['10.0.0.1:12345']);
      expect(r).toEqual([{ addr: '10.0.0.1:12345', ok: true }]);
    }
    await rounds(net, clock, 4);
    const all = nodes.map((m) => m.name).sort();
    for (const m of nodes) expect(names(m)).toEqual(all);
    expect(nodes[3]!.peers().filter((p) => p.isSelf).map((p) => p.name)).toEqual(['node-3']);
  });

  it('GIVEN a converged cluster WHEN a node is killed THEN the others drop it after the failure timeout, not before', async () => {
    const { clock, net, nodes, events } = cluster(5);
    for (const m of nodes.slice(1)) await m.join(['10.0.0.1:12345']);
    await rounds(net, clock, 3);
    net.kill('10.0.0.3:12345');
    await rounds(net, clock, 4); // 2s: suspect, not failed
    expect(names(nodes[0]!)).toContain('node-2');
    expect(nodes[0]!.peers().find((p) => p.name === 'node-2')!.suspect).toBe(true);
    await rounds(net, clock, 6); // past 4s
    for (const m of net.live()) expect(names(m)).not.toContain('node-2');
    expect(events.some((e) => e.endsWith(':node_failed:node-2'))).toBe(true);
    // Stale copies from slower nodes do not bring it back.
    await rounds(net, clock, 6);
    for (const m of net.live()) expect(names(m)).toHaveLength(4);
  });

  it('GIVEN a converged cluster WHEN a node leaves gracefully THEN peers drop it at once and saw it terminating', async () => {
    const { clock, net, nodes, events } = cluster(3);
    for (const m of nodes.slice(1)) await m.join(['10.0.0.1:12345']);
    await rounds(net, clock, 2);
    events.length = 0;
    await nodes[2]!.leave();
    net.kill('10.0.0.3:12345');
    expect(names(nodes[0]!)).toEqual(['node-0', 'node-1']);
    expect(names(nodes[1]!)).toEqual(['node-0', 'node-1']);
    expect(events).toEqual(expect.arrayContaining(['node-0:node_update:node-2', 'node-0:node_leave:node-2', 'node-1:node_leave:node-2']));
  });

  it('GIVEN a node that left WHEN the same name restarts THEN it rejoins (newer incarnation beats the tombstone)', async () => {
    const { clock, net, nodes } = cluster(2);
    await nodes[1]!.join(['10.0.0.1:12345']);
    await nodes[1]!.leave();
    net.remove('10.0.0.2:12345');
    expect(names(nodes[0]!)).toEqual(['node-0']);
    clock.advance(1_000);
    const again = net.add({ name: 'node-1', addr: '10.0.0.2:12345', clusterName: 'c', now: clock.now });
    await again.join(['10.0.0.1:12345']);
    expect(names(nodes[0]!)).toEqual(['node-0', 'node-1']);
  });

  it('GIVEN two cluster names WHEN a node joins the other cluster THEN it is rejected with a message naming --cluster.name', async () => {
    const clock = new ManualClock();
    const net = new InProcessNetwork();
    const a = net.add({ name: 'a', addr: 'a:1', clusterName: 'prod', now: clock.now });
    const b = net.add({ name: 'b', addr: 'b:1', clusterName: 'dev', now: clock.now });
    const r = await b.join(['a:1']);
    expect(r[0]!.ok).toBe(false);
    expect(r[0]!.error).toMatch(/cluster name mismatch.*"dev".*"prod".*--cluster\.name/);
    expect(names(a)).toEqual(['a']);
    expect(names(b)).toEqual(['b']);
    expect(() => a.handle({ cluster: 'dev', from: 'b', nodes: [] })).toThrow(ClusterNameMismatchError);
  });

  it('GIVEN a state change WHEN gossiped THEN peers see the new state', async () => {
    const { clock, net, nodes } = cluster(3);
    for (const m of nodes.slice(1)) await m.join(['10.0.0.1:12345']);
    nodes[1]!.setState('viewer');
    await rounds(net, clock, 3);
    for (const m of nodes) expect(m.peers().find((p) => p.name === 'node-1')!.state).toBe('viewer');
  });

  it('GIVEN an unreachable join address THEN join reports the error and the node runs alone', async () => {
    const { nodes } = cluster(1);
    const r = await nodes[0]!.join(['10.9.9.9:12345', '10.0.0.1:12345']);
    expect(r).toEqual([{ addr: '10.9.9.9:12345', ok: false, error: 'connect ECONNREFUSED 10.9.9.9:12345' }]);
    expect(names(nodes[0]!)).toEqual(['node-0']);
  });
});

describe('Membership node names', () => {
  it('GIVEN two processes with one --cluster.node-name WHEN one joins the other THEN it is rejected naming the flag', async () => {
    const clock = new ManualClock();
    const net = new InProcessNetwork();
    const a = net.add({ name: 'same', addr: 'a:1', clusterName: 'c', now: clock.now });
    const b = net.add({ name: 'same', addr: 'b:1', clusterName: 'c', now: clock.now });
    const r = await b.join(['a:1']);
    expect(r[0]!.ok).toBe(false);
    expect(r[0]!.error).toMatch(/node name conflict: b:1 and a:1 both use --cluster.node-name "same"/);
    expect(a.self.incarnation).toBe(clock.now());
    expect(names(a)).toEqual(['same']);
  });
});

describe('Membership at scale', () => {
  it('GIVEN 100 nodes joined through random earlier nodes THEN they converge, keep everyone alive, and drop a killed node within the scaled timeout', async () => {
    const clock = new ManualClock();
    const net = new InProcessNetwork();
    const pick = seededRandom(42);
    const nodes = Array.from({ length: 100 }, (_, i) => net.add({ name: `n${i}`, addr: `a${i}`, clusterName: 'c', now: clock.now, random: seededRandom(i + 100), suspectAfterMs: 2_500, failAfterMs: 5_000 }));
    for (let i = 1; i < nodes.length; i++) await nodes[i]!.join([`a${Math.floor(pick() * i)}`]);
    await rounds(net, clock, 20); // 10s: past the unscaled failure timeout, nobody may be dropped
    for (const m of nodes) expect(m.size).toBe(100);
    net.kill('a7');
    await rounds(net, clock, 16); // 8s < 5s × log10(100)
    expect(net.live().filter((m) => m.peers().some((p) => p.name === 'n7'))).not.toHaveLength(0);
    await rounds(net, clock, 10); // 13s > 10s
    for (const m of net.live()) expect(m.size).toBe(99);
  });
});
