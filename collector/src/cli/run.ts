/**
 * `alloy run [flags] PATH`: starts the HTTP server, loads PATH (file or directory of `*.alloy`),
 * and runs until SIGTERM/SIGINT. SIGHUP reloads like `/-/reload`. Flags and defaults follow
 * Alloy's run command; `--cluster.enabled` starts the gossip `cluster` service
 * (`cluster/service.ts`), otherwise the single-node one keeps the settings. Exit codes: 0 after a graceful stop, 1 when the first load or listening fails,
 * 2 for usage errors.
 */
import os from 'node:os';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { LogManager } from '../logging/logger.js';
import { STABILITY_ORDER, type ServiceName, type Stability } from '../runtime/component.js';
import { SingleNodeCluster } from '../runtime/cluster-service.js';
import { defaultRegistry } from '../component/registry.js';
import { DECODE_WORKERS_FLAG, parseDecodeWorkers, setDecodeWorkers } from '../component/prometheus/receive_http/decode-workers.js';
import { COMPRESS_WORKERS_FLAG, parseCompressWorkers, setCompressWorkers } from '../prom/snappy/compress-pool.js';
import { Runtime } from '../runtime/runtime.js';
import { LiveDebugging } from '../runtime/live-debugging.js';
import { syntaxEvaluator } from '../runtime/evaluator.js';
import { AlloyHttpServer, parseListenAddr } from '../server/http-server.js';
// The gossip cluster (cluster/) loads only with --cluster.enabled=true: most collectors never need it.
import type { GossipCluster } from '../cluster/service.js';
import type { Logger } from 'winston';
import { flagUsage, parseFlags, UsageError, type FlagSpec, type FlagValue } from '../cli-kit/flags.js';
import { BUILD_INFO } from '../runtime/build-info.js';
import type { CliIO } from '../cli-kit/io.js';

export const RUN_FLAGS: readonly FlagSpec[] = [
  { name: 'server.http.listen-addr', kind: 'string', default: '127.0.0.1:12345', help: 'Address to listen for HTTP traffic on' },
  { name: 'server.http.memory-addr', kind: 'string', default: 'alloy.internal:12345', help: 'Address by which configs reach this collector itself (the http service maps it to the real listener)' },
  { name: 'server.http.ui-path-prefix', kind: 'string', default: '/', help: 'Prefix to serve the HTTP UI at' },
  { name: 'server.http.enable-pprof', kind: 'bool', default: true, help: 'Enable /debug/pprof profiling endpoints (accepted; not served by this build)' },
  { name: 'server.http.disable-support-bundle', kind: 'bool', default: false, help: 'Disable /-/support support bundle retrieval' },
  { name: 'cluster.enabled', kind: 'bool', default: false, help: 'Start in clustered mode' },
  { name: 'cluster.node-name', kind: 'string', default: '', help: 'The name to use for this node (default: hostname)' },
  { name: 'cluster.advertise-address', kind: 'string', default: '', help: 'Address to advertise to the cluster' },
  { name: 'cluster.join-addresses', kind: 'string', default: '', help: 'Comma-separated list of addresses to join the cluster at' },
  { name: 'cluster.discover-peers', kind: 'string', default: '', help: 'List of key-value tuples for discovering peers' },
  { name: 'cluster.advertise-interfaces', kind: 'stringList', default: ['eth0', 'en0'], help: 'List of interfaces used to infer an address to advertise' },
  { name: 'cluster.rejoin-interval', kind: 'duration', default: 60_000, help: 'How often to rejoin the list of peers' },
  { name: 'cluster.max-join-peers', kind: 'int', default: 5, help: 'Number of peers to join from the discovered set' },
  { name: 'cluster.name', kind: 'string', default: '', help: 'The name of the cluster to join' },
  { name: 'cluster.enable-tls', kind: 'bool', default: false, help: 'Specifies whether TLS should be used for communication between peers' },
  { name: 'cluster.tls-ca-path', kind: 'string', default: '', help: 'Path to the CA certificate file' },
  { name: 'cluster.tls-cert-path', kind: 'string', default: '', help: 'Path to the certificate file' },
  { name: 'cluster.tls-key-path', kind: 'string', default: '', help: 'Path to the key file' },
  { name: 'cluster.tls-server-name', kind: 'string', default: '', help: 'Server name to use for TLS communication' },
  { name: 'cluster.wait-for-size', kind: 'int', default: 0, help: 'Wait for the cluster to reach the specified number of instances before allowing components that use clustering to begin processing. Zero means disabled' },
  { name: 'cluster.wait-timeout', kind: 'duration', default: 0, help: 'Maximum duration to wait for minimum cluster size. Zero means wait forever' },
  { name: 'config.format', kind: 'string', default: 'alloy', help: 'The format of the source file. Supported formats: alloy' },
  { name: 'config.bypass-conversion-errors', kind: 'bool', default: false, help: 'Enable bypassing errors when converting' },
  { name: 'config.extra-args', kind: 'string', default: '', help: 'Extra arguments from the original format used by the converter' },
  { name: 'disable-reporting', kind: 'bool', default: false, help: 'Disable reporting of enabled components to Grafana (this build never reports)' },
  { name: 'storage.path', kind: 'string', default: 'data-alloy/', help: 'Base directory where components can store data' },
  { name: 'stability.level', kind: 'string', default: 'generally-available', help: `Minimum stability level of features to enable. Supported values: ${STABILITY_ORDER.join(', ')}` },
  { name: 'feature.community-components.enabled', kind: 'bool', default: false, help: 'Enable community components' },
  { name: 'feature.prometheus.metric-validation-scheme', kind: 'string', default: 'legacy', help: 'Prometheus metric validation scheme to use. Supported values: "legacy", "utf-8"' },
  { name: DECODE_WORKERS_FLAG, kind: 'string', default: 'auto', help: 'Worker threads that decode prometheus.receive_http bodies (snappy + protobuf); 0 decodes on the main thread; auto: one per CPU beyond the first, at most 4' },
  { name: COMPRESS_WORKERS_FLAG, kind: 'string', default: '0', help: 'Worker thread that snappy-compresses prometheus.remote_write requests: 0 (default) compresses on the main thread; auto: 1 when more than one CPU is usable' },
  { name: 'help', kind: 'bool', default: false, help: 'Show help for run' },
];

export const RUN_USAGE = `Usage:
  alloy run [flags] PATH

Runs the collector in the foreground until interrupted. PATH is an Alloy config file or a
directory whose *.alloy files are loaded together. Reload with SIGHUP or GET/POST /-/reload.

Flags:
${flagUsage(RUN_FLAGS)}
`;

export interface RunSettings {
  readonly configPath: string;
  readonly listenAddr: string;
  readonly storagePath: string;
  readonly stabilityLevel: Stability;
  /** Decode worker threads of `prometheus.receive_http` (the flag's `auto` resolved). */
  readonly decodeWorkers: number;
  /** Snappy compression worker of `prometheus.remote_write` (0 or 1, `auto` resolved). */
  readonly compressWorkers: number;
  readonly values: ReadonlyMap<string, FlagValue>;
}

/** Flags → settings; throws UsageError (exit 2) or Error (exit 1) naming the fix. */
export function runSettings(args: readonly string[]): RunSettings | 'help' {
  const { values, positionals } = parseFlags(args, RUN_FLAGS);
  if (values.get('help') === true) return 'help';
  if (positionals.length === 0) throw new UsageError('path argument not provided: alloy run [flags] PATH');
  if (positionals.length > 1) throw new UsageError(`expected exactly one PATH, got ${positionals.length}: ${positionals.join(' ')}`);
  const format = values.get('config.format') as string;
  if (format !== 'alloy') {
    throw new Error(
      `--config.format=${format} is not supported: this collector reads only Alloy configuration syntax (--config.format=alloy). ` +
        `Convert the file first (for example with Grafana Alloy's "alloy convert --source-format=${format}").`,
    );
  }
  const level = values.get('stability.level') as string;
  if (!(STABILITY_ORDER as readonly string[]).includes(level)) {
    throw new UsageError(`invalid value "${level}" for flag --stability.level: supported values are ${STABILITY_ORDER.join(', ')}`);
  }
  const scheme = values.get('feature.prometheus.metric-validation-scheme') as string;
  if (scheme !== 'legacy' && scheme !== 'utf-8') {
    throw new UsageError(`invalid value "${scheme}" for flag --feature.prometheus.metric-validation-scheme: supported values are legacy, utf-8`);
  }
  let decodeWorkers: number;
  let compressWorkers: number;
  try {
    decodeWorkers = parseDecodeWorkers(values.get(DECODE_WORKERS_FLAG) as string);
    compressWorkers = parseCompressWorkers(values.get(COMPRESS_WORKERS_FLAG) as string);
  } catch (err: unknown) {
    throw new UsageError((err as Error).message);
  }
  return {
    configPath: positionals[0]!,
    decodeWorkers,
    compressWorkers,
    listenAddr: values.get('server.http.listen-addr') as string,
    storagePath: values.get('storage.path') as string,
    stabilityLevel: level as Stability,
    values,
  };
}

export async function runCommand(args: readonly string[], io: CliIO): Promise<number> {
  let settings: RunSettings | 'help';
  try {
    settings = runSettings(args);
  } catch (err) {
    io.stderr.write(`Error: ${(err as Error).message}\n`);
    if (err instanceof UsageError) {
      io.stderr.write(`Run 'alloy run --help' for usage.\n`);
      return 2;
    }
    return 1;
  }
  if (settings === 'help') {
    io.stdout.write(RUN_USAGE);
    return 0;
  }
  const v = settings.values;
  setDecodeWorkers(settings.decodeWorkers);
  setCompressWorkers(settings.compressWorkers);
  const logs = new LogManager({ stream: io.stderr });
  const log = logs.root;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  let server: AlloyHttpServer;
  try {
    server = new AlloyHttpServer({
      listenAddr: settings.listenAddr,
      logger: logs.service('http'),
      uiPathPrefix: v.get('server.http.ui-path-prefix') as string,
      memoryAddr: v.get('server.http.memory-addr') as string,
    });
    await server.listen();
  } catch (err) {
    log.error('failed to start HTTP server', { err: (err as Error).message });
    return 1;
  }
  const joinAddresses = (v.get('cluster.join-addresses') as string).split(',').map((s) => s.trim()).filter(Boolean);
  const nodeName = (v.get('cluster.node-name') as string) || os.hostname();
  let cluster: SingleNodeCluster | GossipCluster;
  let gossip: GossipCluster | undefined;
  if (v.get('cluster.enabled') === true) {
    let gossipPath: string;
    try {
      ({ cluster: gossip, gossipPath } = await gossipCluster(v, nodeName, joinAddresses, server.listenAddr, logs.service('cluster'), registry));
    } catch (err) {
      io.stderr.write(`Error: ${(err as Error).message}\n`);
      await server.close();
      return 1;
    }
    const gc = gossip;
    cluster = gc;
    server.route(gossipPath, (req, res) => gc.handle(req, res));
    await gc.start();
  } else {
    cluster = new SingleNodeCluster({
      enabled: false,
      nodeName,
      advertiseAddress: (v.get('cluster.advertise-address') as string) || server.listenAddr,
      joinAddresses,
      discoverPeers: v.get('cluster.discover-peers') as string,
      rejoinIntervalMs: v.get('cluster.rejoin-interval') as number,
      maxJoinPeers: v.get('cluster.max-join-peers') as number,
      name: v.get('cluster.name') as string,
    });
  }
  server.setCluster(cluster);
  const live = new LiveDebugging();
  server.setLiveDebugging(live);
  const services = new Map<ServiceName, unknown>([
    ['http', server],
    ['cluster', cluster],
    ['livedebugging', live],
  ]);
  const runtime = new Runtime({
    configPath: settings.configPath,
    storagePath: settings.storagePath,
    stabilityLevel: settings.stabilityLevel,
    logs,
    registry,
    services,
    components: defaultRegistry(),
    evaluator: syntaxEvaluator({ version: BUILD_INFO.version }),
    buildInfo: BUILD_INFO,
  });
  server.setRuntime(runtime);

  // Signals are handled from here on: SIGHUP reloads (after the initial load: the load in
  // progress already reads the latest files), SIGTERM/SIGINT stop gracefully within a bound.
  let initialDone = false;
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((r) => (resolveExit = r));
  let stoppingSince = 0;
  const onHup = (): void => {
    if (!initialDone || stoppingSince > 0) {
      log.info('received SIGHUP before the initial load finished or while stopping; ignoring');
      return;
    }
    log.info('received SIGHUP, reloading config');
    void runtime.reload().then((r) => {
      if (r.ok) log.info('config reloaded after SIGHUP');
    });
  };
  const onStop = (sig: NodeJS.Signals): void => {
    if (stoppingSince > 0) {
      // A terminal's Ctrl-C reaches the whole process group, and wrappers (npm start, timeout)
      // forward it too: a repeat within a second is the same request.
      if (Date.now() - stoppingSince < 1000) return;
      log.warn('second signal received, exiting immediately', { signal: sig });
      resolveExit(1);
      return;
    }
    stoppingSince = Date.now();
    log.info('shutting down', { signal: sig });
    // Unserved paths (receivers' routes as they stop) answer 503 + Retry-After from now on, not 404.
    server.beginShutdown();
    const hardStop = setTimeout(() => {
      log.error('graceful shutdown did not finish in 15s, exiting');
      resolveExit(1);
    }, 15_000);
    hardStop.unref();
    void (async () => {
      // Leave first: peers see this node terminating and take over its share of the work.
      await gossip?.stop();
      await runtime.stop();
      await server.close(2_000);
      clearTimeout(hardStop);
      log.info('shutdown complete');
      resolveExit(0);
    })();
  };
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);

  const first = await runtime.load();
  initialDone = true;
  if (stoppingSince > 0) return exited;
  if (!first.ok) {
    io.stderr.write(`Error: could not perform the initial load of ${settings.configPath}:\n${first.message}\n`);
    await runtime.stop();
    await gossip?.stop();
    await server.close();
    return 1;
  }
  log.info('now listening for http traffic', { service: 'http', addr: server.listenAddr });
  return exited;
}

/** `--cluster.*` flags → a started-later `GossipCluster` and the HTTP path its peers call. @throws Error naming the flag to fix. */
async function gossipCluster(
  v: ReadonlyMap<string, FlagValue>,
  nodeName: string,
  joinAddresses: string[],
  listenAddr: string,
  logger: Logger,
  registry: Registry,
): Promise<{ cluster: GossipCluster; gossipPath: string }> {
  if (v.get('cluster.enable-tls') === true) {
    throw new Error('--cluster.enable-tls is not supported by this build (the HTTP server does not serve TLS); run cluster traffic over a trusted network or a mesh without --cluster.enable-tls');
  }
  const discoverConfig = (v.get('cluster.discover-peers') as string).trim();
  if (discoverConfig && joinAddresses.length > 0) {
    throw new Error('at most one of --cluster.join-addresses and --cluster.discover-peers may be set');
  }
  const [{ GossipCluster }, { inferAdvertiseAddress }, { discoverPeers }, { GOSSIP_PATH }] = await Promise.all([
    import('../cluster/service.js'),
    import('../cluster/discovery.js'),
    import('../cluster/discover-peers.js'),
    import('../cluster/http-transport.js'),
  ]);
  const cluster = new GossipCluster({
    ...(discoverConfig ? { discover: discoverPeers(discoverConfig) } : {}),
    nodeName,
    advertiseAddress: inferAdvertiseAddress(v.get('cluster.advertise-address') as string, v.get('cluster.advertise-interfaces') as string[], listenAddr),
    joinAddresses,
    defaultPort: parseListenAddr(listenAddr).port,
    clusterName: v.get('cluster.name') as string,
    rejoinIntervalMs: v.get('cluster.rejoin-interval') as number,
    maxJoinPeers: v.get('cluster.max-join-peers') as number,
    waitForSize: v.get('cluster.wait-for-size') as number,
    waitTimeoutMs: v.get('cluster.wait-timeout') as number,
    logger,
    registry,
  });
  return { cluster, gossipPath: GOSSIP_PATH };
}
