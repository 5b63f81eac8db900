/**
 * Runs the same journeys on either API server. A journey is a function that registers its own
 * `describe` block and reads the cluster through `JourneyEnv` from its `beforeAll` on; a suite
 * file picks the server: `runJourneys({ apiserver: 'test' }, [j])` on the in-process dev cluster
 * (fast default), `runJourneys({ apiserver: 'real' }, [a, b, ...])` on one real control plane
 * shared by every journey given (a control plane costs 10-30 s to start, so real-server files
 * group journeys). Journeys must assert only what both servers do; `env.apiserver` may select
 * between two equally strong assertions where the servers differ on purpose (documented in
 * `../README.md`, "which suites run where").
 */
import { useCluster, type TestCluster, type UseClusterOptions } from './cluster.js';
import { realClusterUnavailable } from '../real/real-cluster.js';

export type ApiServerKind = 'test' | 'real';

/** The kubelet's default periodic pod sync, a real kubelet's `syncFrequency` (1 min). */
const KUBELET_POD_SYNC_PERIOD_MS = 60_000;

export interface JourneyEnv {
  readonly apiserver: ApiServerKind;
  /** The shared cluster; throws before the suite's `beforeAll` has started it. */
  cluster(): TestCluster;
  /** An address of the test process that pods reach: `127.0.0.1` on the dev cluster, the bridge gateway on the real one. */
  hostForPods(): string;
  /** The kubelet's periodic pod sync (ConfigMap volumes are re-projected on it), before jitter. */
  readonly podSyncPeriodMs: number;
}

export type Journey = (env: JourneyEnv) => void;

export interface RunJourneysOptions extends Omit<UseClusterOptions, 'apiserver'> {
  readonly apiserver: ApiServerKind;
  /** Skip reason computed by the caller (missing tools); the real server adds its own. */
  readonly skip?: string;
}

/**
 * Registers `describe('<apiserver> API server', ...)` that starts one cluster, runs `journeys` in
 * order on it and stops it; prints the cluster's start time and the block's wall time. On the real
 * server the block is skipped (with the reason printed) where it cannot start, and fails under CI=true.
 */
export function runJourneys(opts: RunJourneysOptions, journeys: readonly Journey[]): void {
  const { apiserver, skip: callerSkip, ...clusterOpts } = opts;
  const skip = callerSkip ?? (apiserver === 'real' ? realClusterUnavailable() : undefined);
  const title = apiserver === 'real' ? 'on the real kube-apiserver' : 'on the test API server';
  let current: TestCluster | undefined;
  const env: JourneyEnv = {
    apiserver,
    cluster() {
      if (!current) throw new Error(`the cluster ${title} is not started (use env.cluster() from beforeAll on)`);
      return current;
    },
    hostForPods() {
      return env.cluster().real?.podGateway ?? '127.0.0.1';
    },
    podSyncPeriodMs: clusterOpts.podSyncPeriodMs ?? KUBELET_POD_SYNC_PERIOD_MS,
  };
  (skip === undefined ? describe : describe.skip)(title, () => {
    let t0 = 0;
    beforeAll(async () => {
      t0 = Date.now();
      current = await useCluster({ ...clusterOpts, apiserver });
      console.log(`${title}: cluster ready in ${Date.now() - t0} ms`);
    }, 120_000);
    afterAll(async () => {
      await current?.stop();
      console.log(`${title}: ${journeys.length} journey(s), wall time ${Date.now() - t0} ms`);
    }, 60_000);
    for (const journey of journeys) journey(env);
  });
}
