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
 * own mount namespace. Pods get no KUBECONFIG: in-cluster clients use that identity.
 *
 * Pod network: each pod runs in its own network namespace with an address `10.N.x.y` on the
 * node's bridge (`../kubelet/pod-network.ts`; `N` from the `127.N` block the caller holds, 96
 * excepted: that is the Service range), so the real server accepts the Endpoints its controller
 * writes and Services get endpoints. The API server listens on loopback only; pods reach it
 * through a TCP relay on the bridge's gateway address `10.N.0.1` (same port), which its serving
 * certificate names: `KUBERNETES_SERVICE_HOST/PORT` point there. Nothing leaves the machine.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { nodeOptions, type DevClusterOptions } from '../dev-cluster.js';
import { Kubelet } from '../kubelet/kubelet.js';
import { KubeClient, type ResourceType } from '../harness/kube-client.js';
import { PodNetwork, podNetworkUnavailable } from '../kubelet/pod-network.js';
import { KUBELET_CLIENT_CN, realControlPlaneUnavailable, sharedK8sDir, startRealControlPlane, type RealControlPlane } from './control-plane.js';

export interface RealCluster {
  readonly url: string;
  /** Admin kubeconfig (`system:masters`). */
  readonly kubeconfigPath: string;
  readonly stateDir: string;
  readonly controlPlane: RealControlPlane;
  readonly kubelet: Kubelet;
  /** A `system:masters` client of the API server. */
  readonly admin: KubeClient;
  /** The host's address on the pods' bridge: a server the test runs listens here for pods to reach it. */
  readonly podGateway: string;
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
  const netns = podNetworkUnavailable();
  if (netns !== undefined && process.getuid?.() === 0) missing.push(netns);
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
  const block = Number(/^127\.(\d{1,3})$/.exec(opts.ipBase ?? '127.0')?.[1] ?? 'NaN');
  if (!(block >= 0 && block <= 255)) throw new Error(`real cluster: ipBase must look like 127.N, got ${JSON.stringify(opts.ipBase)}`);
  const network = await PodNetwork.create(`10.${block === 96 ? 250 : block}`);
  let cp: RealControlPlane;
  try {
    cp = await startRealControlPlane({ controllerManager: true, servingIps: [network.gateway] });
  } catch (e) {
    await network.close();
    throw e;
  }
  const apiPort = Number(new URL(cp.url).port);
  const relay = await startRelay(network.gateway, apiPort).catch(async (e: unknown) => {
    await network.close();
    await cp.stop();
    throw e;
  });
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'real-cluster-'));
  fs.mkdirSync(stateDir, { recursive: true });
  const kubeconfigPath = path.resolve(opts.kubeconfigPath ?? '.local/kubeconfig');
  fs.mkdirSync(path.dirname(kubeconfigPath), { recursive: true });
  fs.copyFileSync(cp.kubeconfigPath, kubeconfigPath);
  const nodeName = opts.nodeName ?? 'dev-node';
  const node = cp.clientCertificate(`system:node:${nodeName}`, ['system:nodes']);
  const scheduler = cp.clientCertificate('system:kube-scheduler', []);
  const serving = cp.servingCertificate(`system:node:${nodeName}`, ['127.0.0.1']);
  const kubelet = new Kubelet({
    ...nodeOptions(opts),
    server: cp.url,
    tls: { ca: cp.caPem, cert: node.certPem, key: node.keyPem },
    scheduler: { tls: { ca: cp.caPem, cert: scheduler.certPem, key: scheduler.keyPem } },
    objectSources: 'referenced',
    serviceAccountTokens: true,
    secretMounts: true,
    podNetwork: network,
    podApiServer: { host: network.gateway, port: apiPort },
    serving: { tls: { ca: cp.caPem, cert: serving.certPem, key: serving.keyPem }, authorizedUsers: [KUBELET_CLIENT_CN] },
    nodeName,
    stateDir,
    logger,
  });
  const admin = new KubeClient({ server: cp.url, token: cp.adminToken, tls: { ca: cp.caPem }, userAgent: 'real-cluster-harness' });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await kubelet.stop();
      await relay.close();
      await cp.stop();
    })());
  try {
    await kubelet.start();
    // Ready as a user expects a cluster: pods can be created in `default` (ServiceAccount
    // admission refuses pods until the ServiceAccount controller has made `default/default`).
    await waitForServiceAccount(admin, 'default', 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: cp.url, kubeconfigPath, stateDir, controlPlane: cp, kubelet, admin, podGateway: network.gateway, stop };
}

/**
 * Resolves once ServiceAccount `default` exists in `namespace` (made by the controller manager
 * shortly after the namespace); pods of a fresh namespace are refused until then.
 * @throws after `timeoutMs`
 */
export async function waitForServiceAccount(client: KubeClient, namespace: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sa = await client.tryGet(SERVICE_ACCOUNTS, namespace, 'default').catch(() => undefined);
    if (sa) return;
    if (Date.now() > deadline) throw new Error(`ServiceAccount ${namespace}/default did not appear within ${timeoutMs} ms (is kube-controller-manager running?)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const SERVICE_ACCOUNTS: ResourceType = { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true, kind: 'ServiceAccount' };

/** Forwards TCP connections from `host:port` to `127.0.0.1:port` (TLS passes through untouched). */
async function startRelay(host: string, port: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
