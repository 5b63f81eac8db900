import { HashRing } from '../collector/src/cluster/hash-ring.js';
import { Rendezvous, runClusterBench, targetKeys } from './cluster-hashing.js';

describe('cluster benchmark harness', () => {
  it('compares two sharders that each give every key exactly one owner, and gossip converges', async () => {
    const keys = targetKeys(2000);
    const nodes = ['a', 'b', 'c', 'd'];
    for (const s of [new HashRing(), new Rendezvous()]) {
      s.setNodes(nodes);
      const owners = new Set(keys.map((k) => s.lookup(k)));
      expect([...owners].sort()).toEqual(nodes);
    }
    const f = await runClusterBench(2000, 4, 8);
    expect(f.ringLookupsPerSec).toBeGreaterThan(0);
    expect(f.rendezvousLookupsPerSec).toBeGreaterThan(0);
    expect(f.ringMoved).toBeGreaterThan(0.1);
    expect(f.ringMoved).toBeLessThan(0.3);
    expect(f.gossipTicks).toBeLessThan(100);
  });
});
