/**
 * The config-reloader's `/metrics`: its three series plus the standard process metrics, in the
 * Prometheus text format, without prom-client (the sidecar must stay small).
 */
import fs from 'node:fs';

export class ReloaderMetrics {
  /** Reloads the collector accepted. */
  reloads = 0;
  /** Reload attempts that failed (collector unreachable, rejected config, server error). */
  failures = 0;
  /** Unix seconds of the last accepted reload; 0 before the first. */
  lastSuccessSeconds = 0;
  readonly #start = Date.now() / 1000 - process.uptime();

  static readonly CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

  exposition(): string {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const series: Array<[name: string, type: 'counter' | 'gauge', help: string, value: number]> = [
      ['alloy_config_reloader_reloads_total', 'counter', 'Reloads the collector accepted.', this.reloads],
      ['alloy_config_reloader_reload_failures_total', 'counter', 'Reload attempts that failed (collector unreachable, rejected config, server error).', this.failures],
      ['alloy_config_reloader_last_reload_success_timestamp_seconds', 'gauge', 'Time of the last reload the collector accepted.', this.lastSuccessSeconds],
      ['process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6],
      ['process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', mem.rss],
      ['process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', Math.round(this.#start)],
      ['nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.', mem.heapUsed],
    ];
    const fds = openFds();
    if (fds !== undefined) series.push(['process_open_fds', 'gauge', 'Number of open file descriptors.', fds]);
    return series.map(([n, t, h, v]) => `# HELP ${n} ${h}\n# TYPE ${n} ${t}\n${n} ${v}\n`).join('');
  }
}

function openFds(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}
