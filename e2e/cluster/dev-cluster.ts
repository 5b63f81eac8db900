/**
 * The local dev cluster: the in-process API server (`./apiserver`), the controller manager
 * (`./controllers`) and one kubelet (`./kubelet`) in one process, talking over HTTP on loopback.
 * `startDevCluster()` is the library entry (tests use it through `./harness/cluster.ts`);
 * `main()` is `bin/dev-cluster`: prints a line with `ready` and the kubeconfig path, runs until
 * SIGINT/SIGTERM, then stops every pod process (process groups, no orphans) and exits.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston, { type Logger } from 'winston';
import { startApiServer, type RunningApiServer } from './apiserver/index.js';
import { ControllerManager } from './controllers/manager.js';
import { Kubelet, type KubeletOptions } from './kubelet/kubelet.js';
import { defaultImageRules, reloaderImageRules, nodeImageRule, type ImageRule } from './kubelet/image-map.js';
import { repoRoot } from './harness/paths.js';
import { realClusterUnavailable, startRealCluster } from './real/real-cluster.js';

export interface DevClusterOptions {
  /** Where the kubeconfig is written. @default '.local/kubeconfig' */
  readonly kubeconfigPath?: string;
  /** Pod, volume and PVC directories. @default a new temp directory */
  readonly stateDir?: string;
  /** API server port on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** Keep API objects across restarts in this directory. @default in memory */
  readonly dataDir?: string;
  readonly nodeName?: string;
  /** @default our image (`…/alloy`, `…/alloy-operator`) and the `harness/node` test image */
  readonly imageRules?: readonly ImageRule[];
  /** Pod sync period (volume re-projection), see `KubeletOptions`. @default 60000 */
  readonly podSyncPeriodMs?: number;
  /** @default 0.5 */
  readonly podSyncJitter?: number;
  /** Non-faithful fast ConfigMap/Secret propagation, see `KubeletOptions`. @default off */
  readonly configSyncDelayMs?: number;
  readonly timeScale?: number;
  readonly crashLoopBaseMs?: number;
  /** First two octets of pod IPs. @default '127.0' */
  readonly ipBase?: string;
  readonly shutdownGraceSeconds?: number;
  readonly logger?: Logger;
}

export interface DevCluster {
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly stateDir: string;
  readonly apiServer: RunningApiServer;
  readonly kubelet: Kubelet;
  readonly controllers: ControllerManager;
  /** Stops kubelet (all pod processes), controllers and API server. Idempotent. */
  stop(): Promise<void>;
}

/** The kubelet settings both clusters take from `DevClusterOptions` (images, timing, addresses). */
export function nodeOptions(opts: DevClusterOptions): Omit<KubeletOptions, 'server' | 'stateDir'> {
  return {
    imageRules: opts.imageRules ?? [...defaultImageRules(repoRoot()), ...reloaderImageRules(repoRoot()), nodeImageRule()],
    configSyncDelayMs: opts.configSyncDelayMs,
    podSyncPeriodMs: opts.podSyncPeriodMs,
    podSyncJitter: opts.podSyncJitter,
    timeScale: opts.timeScale,
    crashLoopBaseMs: opts.crashLoopBaseMs,
    ipBase: opts.ipBase,
    shutdownGraceSeconds: opts.shutdownGraceSeconds,
  };
}

export async function startDevCluster(opts: DevClusterOptions = {}): Promise<DevCluster> {
  const logger = opts.logger ?? winston.createLogger({ level: process.env.DEV_CLUSTER_LOG_LEVEL ?? 'warn', format: winston.format.simple(), transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })] });
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'dev-cluster-'));
  fs.mkdirSync(stateDir, { recursive: true });
  const kubeconfigPath = path.resolve(opts.kubeconfigPath ?? '.local/kubeconfig');
  fs.mkdirSync(path.dirname(kubeconfigPath), { recursive: true });
  const apiServer = await startApiServer({ host: '127.0.0.1', port: opts.port ?? 0, dataDir: opts.dataDir, logger });
  apiServer.kubeconfig(kubeconfigPath);
  const nodeName = opts.nodeName ?? 'dev-node';
  const controllers = new ControllerManager({ server: apiServer.url, nodeNames: [nodeName], logger });
  const kubelet = new Kubelet({ ...nodeOptions(opts), server: apiServer.url, nodeName, stateDir, podKubeconfig: kubeconfigPath, logger });
  apiServer.setPodLogProvider((ns, pod, container, o) => kubelet.logProvider(ns, pod, container, o));
  apiServer.setPodExecProvider(kubelet.execProvider);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await kubelet.stop();
      await controllers.stop();
      await apiServer.close();
    })());
  try {
    await controllers.start();
    await kubelet.start();
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: apiServer.url, kubeconfigPath, stateDir, apiServer, kubelet, controllers, stop };
}

const USAGE = `usage: dev-cluster [--apiserver test|real] [--kubeconfig PATH] [--port N] [--state-dir DIR] [--data-dir DIR] [--pod-sync-period MS] [--pod-sync-jitter F] [--config-sync-delay MS] [--pod-ip-base 127.N]
Starts a local Kubernetes API server, controllers and a kubelet running pods as local processes.
ConfigMap/Secret volumes are re-projected on each pod's periodic sync (--pod-sync-period, default
60000 ms, stretched by up to --pod-sync-jitter, default 0.5) and when the pod object changes, as
on a real node; --config-sync-delay MS also re-projects MS after a ConfigMap/Secret change (fast, not real).
Prints "dev-cluster ready kubeconfig=<path> server=<url>" and runs until SIGINT/SIGTERM.
Run a second dev cluster at the same time with another --pod-ip-base (default 127.0).
--apiserver real starts etcd, the real kube-apiserver and kube-controller-manager from
../shared/k8s instead of the test API server and attaches the kubelet to it as a node (pods get
bound ServiceAccount tokens; needs root). --port and --data-dir apply to the test API server only.`;

function nonNegative(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new Error(`dev-cluster: ${flag} must be a whole number, got ${JSON.stringify(v)}`);
  return n;
}

export type DevClusterArgs = DevClusterOptions & { help?: boolean; apiserver?: 'test' | 'real' };

export function parseArgs(argv: readonly string[]): DevClusterArgs {
  const out: { -readonly [K in keyof DevClusterOptions]: DevClusterOptions[K] } & { help?: boolean; apiserver?: 'test' | 'real' } = {};
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf('=');
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string => {
      const v = eq > 0 ? raw.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new Error(`dev-cluster: flag ${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--kubeconfig': out.kubeconfigPath = value(); break;
      case '--apiserver': {
        const v = value();
        if (v !== 'test' && v !== 'real') throw new Error(`dev-cluster: --apiserver must be "test" (our API server) or "real" (etcd + the real kube-apiserver), got ${JSON.stringify(v)}`);
        out.apiserver = v;
        break;
      }
      case '--port': out.port = nonNegative(flag, value()); break;
      case '--state-dir': out.stateDir = value(); break;
      case '--data-dir': out.dataDir = value(); break;
      case '--config-sync-delay': out.configSyncDelayMs = nonNegative(flag, value()); break;
      case '--pod-sync-period': {
        const v = nonNegative(flag, value());
        if (v === 0) throw new Error('dev-cluster: --pod-sync-period must be > 0 (milliseconds)');
        out.podSyncPeriodMs = v;
        break;
      }
      case '--pod-sync-jitter': {
        const raw = value();
        const v = Number(raw);
        if (!/^\d+(\.\d+)?$/.test(raw) || v > 10) throw new Error(`dev-cluster: --pod-sync-jitter must be a factor between 0 and 10, got ${JSON.stringify(raw)}`);
        out.podSyncJitter = v;
        break;
      }
      case '--pod-ip-base': {
        const v = value();
        if (!/^127\.(\d{1,3})$/.test(v) || Number(v.split('.')[1]) > 255) throw new Error(`dev-cluster: --pod-ip-base must look like 127.N (N 0-255), got ${JSON.stringify(v)}; pods get 127.N.x.y`);
        out.ipBase = v;
        break;
      }
      case '-h': case '--help': out.help = true; break;
      default: throw new Error(`dev-cluster: unknown flag ${JSON.stringify(raw)}\n${USAGE}`);
    }
  }
  if (out.apiserver === 'real' && (out.port !== undefined || out.dataDir !== undefined)) {
    throw new Error('dev-cluster: --port and --data-dir apply to the test API server only; drop them with --apiserver real (the real API server takes a free port and a fresh etcd)');
  }
  return out;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { apiserver, help: _help, ...clusterOpts } = opts;
  if (apiserver === 'real') {
    const why = realClusterUnavailable();
    if (why !== undefined) {
      process.stderr.write(`dev-cluster: cannot start the real API server: ${why}\n`);
      process.exitCode = 1;
      return;
    }
  }
  const cluster = apiserver === 'real' ? await startRealCluster(clusterOpts) : await startDevCluster(clusterOpts);
  process.stdout.write(`dev-cluster ready kubeconfig=${cluster.kubeconfigPath} server=${cluster.url}\n`);
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      process.stdout.write(`dev-cluster: ${sig}, stopping pods\n`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await cluster.stop();
  process.stdout.write('dev-cluster stopped\n');
  // Every pod process is gone; do not wait for idle keep-alive sockets of kubectl clients.
  process.exit(0);
}
