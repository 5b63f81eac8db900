/**
 * `bin/operator` entry point.
 *   operator [run] [flags]     run the operator against KUBECONFIG (or the in-cluster config)
 *   operator crd               print the Collector CRD (crds/collectors.alloy.dev.yaml)
 *   operator rbac [--namespace NS]   print the RBAC the operator needs
 * Graceful shutdown on SIGTERM/SIGINT: stop taking work, finish in-flight reconciles, release the
 * leader lease, close the HTTP server.
 *
 * What only a subcommand or a new config needs is imported when first used: the CRD generator and
 * the RBAC printer (their own subcommands), and the collector's validator (the first config to
 * validate; results are remembered by config, see `controller/validation-cache.ts`). An operator
 * whose Collectors' configs are all known does not load the collector runtime at all.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { CollectorController } from './controller/collector-controller.js';
import { CollectorReconciler } from './controller/collector-reconciler.js';
import { KubeEventRecorder } from './controller/event-recorder.js';
import { HttpPodConfigProbe } from './controller/pod-config-probe.js';
import { cacheTransform } from './kube/cache-transform.js';
import { loadKubeConfig } from './kube/kube-config.js';
import { RestKubeApi } from './kube/rest-kube-api.js';
import { listWatchFor } from './kube/resilient-informer.js';
import { LeaseElector } from './leader/lease-elector.js';
import { createLogger } from './logging.js';
import { OperatorMetrics } from './metrics/operator-metrics.js';
import { configBlocks } from './rbac/config-blocks.js';
import { DEFAULT_IMAGE_REPOSITORY, FIELD_MANAGER } from './render/labels.js';
import { memoizeValidator } from './controller/validation-cache.js';
import { OperatorServer } from './server/operator-server.js';
import { systemClock } from './util/clock.js';
import { packageVersion } from '../../collector/src/runtime/build-info.js';

const USAGE = `usage: operator [run] [flags] | operator crd | operator rbac [--namespace NS]

flags of run:
  --kubeconfig PATH                 kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --namespace NS                    watch Collectors in NS only (default: all namespaces)
  --leader-elect true|false         use a Lease so several replicas are safe (default: true)
  --leader-election-namespace NS    namespace of the Lease (default: $POD_NAMESPACE or the in-cluster namespace or "default")
  --leader-election-id NAME         name of the Lease (default: alloy-operator)
  --lease-duration D                (default: 15s)
  --renew-deadline D                (default: 10s)
  --retry-period D                  (default: 2s)
  --identity ID                     leader identity (default: $POD_NAME or hostname-pid)
  --http-listen-address HOST:PORT   /metrics, /healthz, /readyz (default: 0.0.0.0:8080)
  --image IMAGE                     collector image when a Collector names none (default: ${DEFAULT_IMAGE_REPOSITORY}:<version>)
  --workers N                       parallel reconciles (default: 16)
  --kube-api-qps N                  sustained API requests per second, watches excluded (default: 300)
  --kube-api-burst N                requests allowed at once above the QPS (default: 600)
  --observe-pod-config true|false   read alloy_config_hash from pods (port 12345) so status.configHash is what
                                    they run and Progressing=ConfigReloading until all reloaded (default: true)
  --nudge-pods true|false           after a config change, annotate each collector pod with the config hash so
                                    the kubelet re-projects the ConfigMap volume at once instead of on its
                                    periodic sync, 60-90 s later (default: true)
  --log-level error|warn|info|debug (default: info)
  --log-format logfmt|json          (default: logfmt)
`;

/** Parses `500ms`, `15s`, `1m`, `1m30s`. @throws naming the flag. */
export function parseDuration(flag: string, text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`--${flag} must be a duration like 500ms, 15s or 1m, got ${JSON.stringify(text)}`);
  return total;
}

function inClusterNamespace(): string | undefined {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function runOperator(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'leader-elect': { type: 'string', default: 'true' },
      'leader-election-namespace': { type: 'string' },
      'leader-election-id': { type: 'string', default: 'alloy-operator' },
      'lease-duration': { type: 'string', default: '15s' },
      'renew-deadline': { type: 'string', default: '10s' },
      'retry-period': { type: 'string', default: '2s' },
      identity: { type: 'string' },
      'http-listen-address': { type: 'string', default: '0.0.0.0:8080' },
      image: { type: 'string' },
      workers: { type: 'string', default: '16' },
      'kube-api-qps': { type: 'string', default: '300' },
      'kube-api-burst': { type: 'string', default: '600' },
      'observe-pod-config': { type: 'string', default: 'true' },
      'nudge-pods': { type: 'string', default: 'true' },
      'log-level': { type: 'string', default: 'info' },
      'log-format': { type: 'string', default: 'logfmt' },
    },
  });
  const logger = createLogger(values['log-level'], values['log-format']);
  const leaderElect = values['leader-elect'];
  if (leaderElect !== 'true' && leaderElect !== 'false') throw new Error(`--leader-elect must be true or false, got ${JSON.stringify(leaderElect)}`);
  const workers = Number(values.workers);
  const observe = values['observe-pod-config'];
  if (observe !== 'true' && observe !== 'false') throw new Error(`--observe-pod-config must be true or false, got ${JSON.stringify(observe)}`);
  const nudge = values['nudge-pods'];
  if (nudge !== 'true' && nudge !== 'false') throw new Error(`--nudge-pods must be true or false, got ${JSON.stringify(nudge)}`);

  const access = loadKubeConfig(values.kubeconfig);
  const qps = Number(values['kube-api-qps']);
  const burst = Number(values['kube-api-burst']);
  if (!(qps > 0) || !Number.isInteger(burst) || burst < 1) throw new Error(`--kube-api-qps must be > 0 and --kube-api-burst a whole number >= 1, got ${values['kube-api-qps']} and ${values['kube-api-burst']}`);
  const version = packageVersion() ?? 'latest';
  const api = new RestKubeApi(access, { userAgent: `alloy-operator/${version}`, qps, burst });
  const clock = systemClock;
  const metrics = new OperatorMetrics({ defaultMetrics: true });
  const identity = values.identity ?? process.env['POD_NAME'] ?? `${hostname()}-${process.pid}`;
  const image = values.image ?? `${DEFAULT_IMAGE_REPOSITORY}:${version}`;

  const validate = memoizeValidator(async (sources, opts) => {
    const [{ validateConfig }, { defaultRegistry }] = await Promise.all([import('../../collector/src/runtime/validate.js'), import('../../collector/src/component/registry.js')]);
    return validateConfig(sources, { registry: defaultRegistry(), ...(opts.stabilityLevel !== undefined ? { stabilityLevel: opts.stabilityLevel } : {}) });
  });
  const namespace = values.namespace;
  const events = new KubeEventRecorder(api, clock, logger, identity);
  const newController = (): CollectorController =>
    new CollectorController({
      api,
      reconciler: (reader) =>
        new CollectorReconciler({
          api,
          reader,
          validate,
          analyze: configBlocks,
          defaultImage: image,
          clock,
          logger,
          events,
          ...(observe === 'true' ? { podConfigProbe: new HttpPodConfigProbe() } : {}),
          nudgePods: nudge === 'true',
        }),
      informers: (apiVersion, kind, labelSelector, metadataOnly) =>
        listWatchFor(api, apiVersion, kind, { metadataOnly, transform: cacheTransform(kind, FIELD_MANAGER, metadataOnly), ...(namespace !== undefined ? { namespace } : {}), ...(labelSelector !== undefined ? { labelSelector } : {}) }),
      clock,
      logger,
      metrics,
      workers,
    });

  let controller: CollectorController | undefined;
  let leading = leaderElect === 'false';
  const server = new OperatorServer({
    listenAddress: values['http-listen-address'],
    registry: metrics.registry,
    notReadyReason: () => (!leading ? undefined : controller?.synced === true ? undefined : 'informers have not synced yet'),
  });
  const addr = await server.listen();
  logger.info('operator starting', { identity, image, namespace: namespace ?? '(all)', http: `${addr.address}:${addr.port}`, leaderElect });

  const stop = new AbortController();
  let exitCode = 0;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      logger.info('shutting down', { signal: sig });
      stop.abort();
    });
  }

  const runController = async (signal: AbortSignal): Promise<void> => {
    controller = newController();
    await controller.run(signal);
  };

  if (leaderElect === 'false') {
    await runController(stop.signal);
  } else {
    const leaseNamespace = values['leader-election-namespace'] ?? process.env['POD_NAMESPACE'] ?? inClusterNamespace() ?? 'default';
    let controllerRun: Promise<void> | undefined;
    const elector = new LeaseElector({
      api,
      clock,
      logger,
      namespace: leaseNamespace,
      name: values['leader-election-id'],
      identity,
      leaseDurationMs: parseDuration('lease-duration', values['lease-duration']),
      renewDeadlineMs: parseDuration('renew-deadline', values['renew-deadline']),
      retryPeriodMs: parseDuration('retry-period', values['retry-period']),
      onLeaderChange: (isLeader) => {
        leading = isLeader;
        metrics.leader.set({ name: values['leader-election-id'] }, isLeader ? 1 : 0);
      },
      onStartedLeading: (signal) => {
        controllerRun = runController(signal);
      },
      onStoppedLeading: () => {
        // As controller-runtime does: a replica that lost its lease exits and is restarted clean.
        exitCode = 1;
        stop.abort();
      },
    });
    await elector.run(stop.signal);
    await controllerRun;
  }
  await server.close();
  logger.info('operator stopped');
  return exitCode;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === 'crd') {
      const { renderCrdYaml } = await import('./crd/crd-generator.js');
      process.stdout.write(renderCrdYaml());
      return 0;
    }
    if (cmd === 'rbac') {
      const { values } = parseArgs({ args: rest, options: { namespace: { type: 'string', default: 'alloy-system' } } });
      const { operatorRbacYaml } = await import('./rbac/operator-rbac.js');
      process.stdout.write(operatorRbacYaml(values.namespace));
      return 0;
    }
    if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
      process.stdout.write(USAGE);
      return 0;
    }
    return await runOperator(cmd === 'run' ? rest : argv);
  } catch (e) {
    process.stderr.write(`operator: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
}
