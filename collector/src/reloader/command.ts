/**
 * `alloy config-reloader`: the Kubernetes sidecar. Flags: `--volume-dir` (repeatable),
 * `--webhook-url`, `--web.listen-address` (own /metrics and /-/healthy), `--poll-interval`,
 * `--debounce`. Runs until SIGTERM/SIGINT; exit 2 on usage errors, 1 when it cannot start.
 *
 * Kept lean on purpose (it runs beside every collector pod under a small memory limit): imports
 * node built-ins and dependency-free modules only, never the runtime, components, winston or
 * prom-client. `reloader/main.ts` is its own process entry; a test guards the import graph.
 */
import http from 'node:http';
import { flagUsage, parseFlags, UsageError, type FlagSpec } from '../cli-kit/flags.js';
import type { CliIO } from '../cli-kit/io.js';
import { parseListenAddr } from '../cli-kit/listen-addr.js';
import { LOG_LEVELS, leanLogger, type LogLevel } from './lean-log.js';
import { ReloaderMetrics } from './lean-metrics.js';
import { ConfigReloader } from './reloader.js';

export const RELOADER_FLAGS: readonly FlagSpec[] = [
  // Aliases accept the flags of the upstream chart's reloaders (prometheus-config-reloader,
  // configmap-reload), so `configReloader.customArgs` written for them keep working.
  { name: 'volume-dir', kind: 'stringList', default: [], repeatable: true, aliases: ['watched-dir'], help: 'Directory of a mounted ConfigMap to watch (repeatable; alias --watched-dir)' },
  { name: 'webhook-url', kind: 'string', default: 'http://localhost:12345/-/reload', aliases: ['reload-url'], help: 'URL to POST when the config changes (alias --reload-url)' },
  { name: 'web.listen-address', kind: 'string', default: ':9533', aliases: ['listen-address'], help: 'Address for the reloader\'s own /metrics and /-/healthy (alias --listen-address)' },
  { name: 'poll-interval', kind: 'duration', default: 30_000, aliases: ['watch-interval'], help: 'Safety-net poll of the volume content (alias --watch-interval)' },
  { name: 'debounce', kind: 'duration', default: 1_000, help: 'Quiet period after a change before reloading' },
  { name: 'log.level', kind: 'string', default: 'info', aliases: ['log-level'], help: 'debug, info, warn or error' },
  { name: 'log-format', kind: 'string', default: 'logfmt', help: 'logfmt or json' },
  { name: 'webhook-retries', kind: 'int', default: 0, help: 'Accepted for configmap-reload compatibility; this reloader retries until the collector answers' },
  { name: 'help', kind: 'bool', default: false, help: 'Show help', aliases: ['h'] },
];

export async function configReloaderCommand(args: readonly string[], io: CliIO): Promise<number> {
  let values;
  try {
    ({ values } = parseFlags(args, RELOADER_FLAGS));
  } catch (err) {
    io.stderr.write(`Error: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
  if (values.get('help') === true) {
    io.stdout.write(`Usage:\n  alloy config-reloader --volume-dir=DIR [flags]\n\nFlags:\n${flagUsage(RELOADER_FLAGS)}\n`);
    return 0;
  }
  const level = values.get('log.level') as string;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    io.stderr.write(`Error: invalid value "${level}" for flag --log.level: use debug, info, warn or error\n`);
    return 2;
  }
  const format = values.get('log-format') as string;
  if (format !== 'logfmt' && format !== 'json') {
    io.stderr.write(`Error: invalid value "${format}" for flag --log-format: use logfmt or json\n`);
    return 2;
  }
  const log = leanLogger({ stream: io.stderr, level: level as LogLevel, format, base: { service: 'config-reloader' } });
  const metrics = new ReloaderMetrics();
  let reloader: ConfigReloader;
  let listen: { host: string; port: number };
  try {
    listen = parseListenAddr(values.get('web.listen-address') as string);
    reloader = new ConfigReloader({
      volumeDirs: values.get('volume-dir') as string[],
      webhookUrl: values.get('webhook-url') as string,
      pollIntervalMs: values.get('poll-interval') as number,
      debounceMs: values.get('debounce') as number,
      logger: log,
      metrics,
    });
    await reloader.start();
  } catch (err) {
    io.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    if (p === '/metrics') {
      res.writeHead(200, { 'content-type': ReloaderMetrics.CONTENT_TYPE });
      res.end(metrics.exposition());
    } else if (p === '/-/healthy' || p === '/-/ready') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('OK\n');
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `${p} not found` }));
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => resolve());
    });
  } catch (err) {
    await reloader.stop();
    io.stderr.write(`Error: listening on ${String(values.get('web.listen-address'))}: ${(err as Error).message}\n`);
    return 1;
  }
  const addr = server.address();
  log.info('serving metrics', { addr: typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : String(addr) });
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      void (async () => {
        await reloader.stop();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        resolve(0);
      })();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
