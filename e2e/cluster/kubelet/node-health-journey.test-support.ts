/**
 * The node's health as the control plane sees it, after the node lifecycle controller's grace
 * period (40 s by default) has passed: on the real server kube-controller-manager marks a node
 * whose Lease is not renewed `Unknown`, taints it unreachable and sets every pod on it
 * `Ready=False`; the kubelet's Lease renewals must prevent that.
 */
import type { Journey } from '../harness/journey.test-support.js';

const GRACE_MS = 40_000;

interface NodeJson {
  metadata: { name: string; creationTimestamp: string };
  spec: { taints?: Array<{ key: string; effect: string }> };
  status: { conditions?: Array<{ type: string; status: string; reason?: string }> };
}

export const nodeHealthJourney: Journey = (env) => {
  describe('node health', () => {
    it('the node stays Ready past the node lifecycle grace period: its Lease is renewed and it is never tainted unreachable', async () => {
      const cluster = env.cluster();
      const readNode = async (): Promise<NodeJson> => (JSON.parse(await cluster.kubectl(['get', 'nodes', '-o', 'json'])) as { items: NodeJson[] }).items[0]!;
      const created = Date.parse((await readNode()).metadata.creationTimestamp);
      // A little over the grace period plus the controller's 5 s monitor period.
      const wait = created + GRACE_MS + 10_000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const node = await readNode();
      expect(node.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
      expect((node.spec.taints ?? []).map((t) => t.key).filter((k) => k.startsWith('node.kubernetes.io/'))).toStrictEqual([]);
      const lease = JSON.parse(await cluster.kubectl(['get', 'lease', node.metadata.name, '-n', 'kube-node-lease', '-o', 'json'])) as { spec: { holderIdentity: string; renewTime: string } };
      expect(lease.spec.holderIdentity).toBe(node.metadata.name);
      expect(Date.now() - Date.parse(lease.spec.renewTime)).toBeLessThan(GRACE_MS / 2);
    }, GRACE_MS + 60_000);
  });
};
