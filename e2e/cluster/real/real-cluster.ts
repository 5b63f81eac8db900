/**
 * A cluster on the real control plane: etcd + the real kube-apiserver + the real
 * kube-controller-manager (`control-plane.ts`), with our kubelet attached over TLS as a node.
 *
 * Identities (all client certificates signed by the cluster CA):
 * - the kubelet is `system:node:<node>` in `system:nodes`, so the Node authorizer decides what it
 *   may read: it registers its Node, watches pods and services, reads only the ConfigMaps and
 *   Secrets its pods reference (one single-object watch each), writes pod status and Events, and
 *   requests ServiceAccount tokens only for its pods' ServiceAccounts;
 * - binding pods to the node is the scheduler's right, so the kubelet binds as
 *   `system:kube-scheduler` (there is no separate scheduler process);
 * - the kube-controller-manager runs every controller it has (Deployment, ReplicaSet,
 *   StatefulSet, DaemonSet, garbage collector, namespace, ServiceAccount, root CA publisher,
 *   endpoints...). Our own controllers are not started: it lacks none that pods here need.
 *
 * Pods get their ServiceAccount token as from a real kubelet: the server's ServiceAccount
 * admission adds the `kube-api-access-*` projected volume; the kubelet fills it with a bound
 * token (TokenRequest), `ca.crt` and `namespace`, refreshes the token at 80 % of its lifetime and
 * bind-mounts the directory at `/var/run/secrets/kubernetes.io/serviceaccount` in the container's
 * own mount namespace. `KUBERNETES_SERVICE_HOST/PORT` name the API server's loopback address,
 * which its certificate covers. Pods get no KUBECONFIG: in-cluster clients use that identity.
 *
 * Known limit (see `e2e/cluster/README.md`, divergence 5): pod IPs are loopback addresses, which
 * the real server refuses in Endpoints, so Services get no endpoints here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import type { DevClusterOptions } from '../dev-cluster.js';
import { Kubelet } from '../kubelet/kubelet.js';
import { defaultImageRules, nodeImageRule, reloaderImageRules } from '../kubelet/image-map.js';
import { repoRoot } from '../harness/paths.js';
import { realControlPlaneUnavailable, sharedK8sDir, startRealControlPlane, type RealControlPlane } from './control-plane.js';

export interface RealCluster {
  readonly url: string;
  /** Admin kubeconfig (`system:masters`). */
  readonly kubeconfigPath: string;
  readonly stateDir: string;
  readonly controlPlane: RealControlPlane;
  readonly kubelet: Kubelet;
  /** Stops the kubelet (every pod process), then the control plane. Idempotent. */
  stop(): Promise<void>;
}

/** Why a real cluster cannot start here, or undefined. Throws under CI=true, like `realControlPlaneUnavailable`. */
export function realClusterUnavailable(): string | undefined {
  const base = realControlPlaneUnavailable();
  if (base !== undefined) return base;
  const missing: string[] = [];
  if (!fs.existsSync(path.join(sharedK8sDir(), 'kube-controller-manager.gz'))) missing.push(`${path.join(sharedK8sDir(), 'kube-controller-manager.gz')}`);
  if (!fs.existsSync('/usr/bin/unshare')) missing.push('/usr/bin/unshare (util-linux)');
  if (process.getuid?.() !== 0) missing.push('root (containers get their ServiceAccount directory through a private mount namespace)');
  if (missing.length === 0) return undefined;
  const msg = `the real-cluster journeys need: ${missing.join(', ')}`;
  if (process.env['CI'] === 'true') throw new Error(`${msg} (CI=true: provide them)`);
  process.stderr.write(`SKIP: ${msg}\n`);
  return msg;
}

export async function startRealCluster(opts: DevClusterOptions = {}): Promise<RealCluster> {
  const logger = opts.logger ?? winston.createLogger({ level: process.env.DEV_CLUSTER_LOG_LEVEL ?? 'warn', format: winston.format.simple(), transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })] });
  if (opts.dataDir !== undefined) throw new Error('real cluster: --data-dir is not supported (etcd gets a fresh data directory per run)');
  if (opts.port !== undefined && opts.port !== 0) throw new Error('real cluster: --port is not supported (the API server takes a free port)');
  const cp = await startRealControlPlane({ controllerManager: true });
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'real-cluster-'));
  fs.mkdirSync(stateDir, { recursive: true });
  const kubeconfigPath = path.resolve(opts.kubeconfigPath ?? '.local/kubeconfig');
  fs.mkdirSync(path.dirname(kubeconfigPath), { recursive: true });
  fs.copyFileSync(cp.kubeconfigPath, kubeconfigPath);
  const nodeName = opts.nodeName ?? 'dev-node';
  const node = cp.clientCertificate(`system:node:${nodeName}`, ['system:nodes']);
  const scheduler = cp.clientCertificate('system:kube-scheduler', []);
  const kubelet = new Kubelet({
    server: cp.url,
    tls: { ca: cp.caPem, cert: node.certPem, key: node.keyPem },
    scheduler: { tls: { ca: cp.caPem, cert: scheduler.certPem, key: scheduler.keyPem } },
    objectSources: 'referenced',
    serviceAccountTokens: true,
    secretMounts: true,
    nodeName,
    stateDir,
    imageRules: opts.imageRules ?? [...defaultImageRules(repoRoot()), ...reloaderImageRules(repoRoot()), nodeImageRule()],
    configSyncDelayMs: opts.configSyncDelayMs,
    podSyncPeriodMs: opts.podSyncPeriodMs,
    podSyncJitter: opts.podSyncJitter,
    timeScale: opts.timeScale,
    crashLoopBaseMs: opts.crashLoopBaseMs,
    ipBase: opts.ipBase,
    shutdownGraceSeconds: opts.shutdownGraceSeconds,
    logger,
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await kubelet.stop();
      await cp.stop();
    })());
  try {
    await kubelet.start();
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: cp.url, kubeconfigPath, stateDir, controlPlane: cp, kubelet, stop };
}
