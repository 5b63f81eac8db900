/**
 * The kubectl journey (`e2e/cluster/kubectl/`) and the operator journeys (`e2e/operator/journeys/`)
 * on one real control plane: etcd + kube-apiserver + kube-controller-manager with our kubelet as
 * the node (`useCluster({ apiserver: 'real' })`). The same journeys run on the test API server in
 * their own folders' files. They run one after the other, each in its own namespace, dropped when
 * it ends. The operator runs as local `bin/operator` processes with the admin kubeconfig, as on the
 * test server; pods run in their own network namespaces with `10.N` addresses that the test
 * process reaches, and send to sinks listening on the pods' gateway. One control plane for all of
 * them (it costs 10-30 s to start); the file prints its start time and its wall time, which is
 * what it adds to CI. The last journey checks that the node stayed healthy all along (its Lease
 * renewed, never tainted unreachable by the node lifecycle controller).
 */
import { jest } from '@jest/globals';
import { runJourneys } from '../cluster/harness/journey.test-support.js';
import { kubectlImageRules, kubectlJourney } from '../cluster/kubectl/kubectl-journey.test-support.js';
import { unavailableReason } from '../operator/operator-harness.js';
import { leaderElection } from '../operator/journeys/leader-election.js';
import { configMapRef } from '../operator/journeys/config-map-ref.js';
import { collectorLifecycle } from '../operator/journeys/collector-lifecycle.js';
import { configDelivery } from '../operator/journeys/config-delivery.js';
import { nodeHealthJourney } from '../cluster/kubelet/node-health-journey.test-support.js';

jest.setTimeout(300_000);

// The kubelet's periodic sync at 30 s instead of 60 s halves config-delivery's wait for the
// no-nudge case (its bounds scale with the period); every other journey relies on the nudge.
runJourneys({ apiserver: 'real', skip: unavailableReason(), imageRules: kubectlImageRules(), podSyncPeriodMs: 30_000 }, [kubectlJourney, leaderElection, configMapRef, collectorLifecycle, configDelivery, nodeHealthJourney]);
