// Issue 13 item 1: a real Prometheus 2.42 agent remote-writes through the collector (the docs'
// proxy layout: prometheus.receive_http on the collector's own port → prometheus.remote_write →
// backend) while the collector is restarted 20 times (SIGTERM, start again on the same port). While
// it starts or stops, the write path answers 503 + Retry-After (never 404, which Prometheus treats
// as permanent and drops the batch), so the agent's samples_failed_total stays 0 and the backend
// ends up with every scraped sample.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alloyBin, ensureBuilt, ExpositionServer, freePort, httpOk, metricValue, requireTool, Sink, spawnProc, startPrometheus, stopAll, until, type Proc } from '../metrics/harness.js';
import { reportFault } from './report.js';

const SERIES = 200;
const RESTARTS = 20;

function proxyConfig(port: number, backend: string): string {
  return `prometheus.receive_http "ingest" {
  http {
    listen_address = "0.0.0.0"
    listen_port    = ${port}
  }
  forward_to = [prometheus.remote_write.to_backend.receiver]
}

prometheus.remote_write "to_backend" {
  endpoint {
    url = "${backend}/api/v1/push"
    queue_config {
      batch_send_deadline = "100ms"
      min_backoff         = "20ms"
      max_backoff         = "500ms"
    }
  }
}
`;
}

describe('fault: collector restarts under a real Prometheus agent', () => {
  let dir: string;
  const servers: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await stopAll();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it(`loses no sample across ${RESTARTS} restarts of the proxy (503 + Retry-After while starting/stopping)`, async () => {
    if (!requireTool('/usr/bin/prometheus', 'the restart fault test')) return;
    ensureBuilt();
    dir = mkdtempSync(path.join(os.tmpdir(), 'fault-restart-'));
    const target = new ExpositionServer(SERIES, 'restart_fault_gauge');
    await target.start();
    const sink = new Sink();
    await sink.start();
    servers.push(target, sink);
    const port = await freePort();
    const cfg = path.join(dir, 'proxy.alloy');
    writeFileSync(cfg, proxyConfig(port, `http://127.0.0.1:${sink.port}`));
    const base = `http://127.0.0.1:${port}`;
    let outputs = '';
    const startProxy = async (n: number): Promise<Proc> => {
      const p = spawnProc(`proxy-${n}`, process.execPath, [alloyBin, 'run', `--server.http.listen-addr=127.0.0.1:${port}`, `--storage.path=${path.join(dir, 'data')}`, cfg]);
      await until(() => `proxy ${n} to be ready:\n${p.output()}`, async () => {
        if (p.proc.exitCode !== null) throw new Error(`proxy ${n} exited:\n${p.output()}`);
        return httpOk(`${base}/-/ready`);
      });
      return p;
    };

    let proxy = await startProxy(0);
    const agent = await startPrometheus(
      dir,
      'agent',
      [
        'global: { scrape_interval: 250ms, scrape_timeout: 200ms }',
        'scrape_configs:',
        '  - job_name: static',
        `    static_configs: [{ targets: ["127.0.0.1:${target.port}"] }]`,
        'remote_write:',
        `  - url: ${base}/api/v1/metrics/write`,
        '    queue_config: { batch_send_deadline: 100ms, min_backoff: 20ms, max_backoff: 500ms }',
        '',
      ].join('\n'),
      'agent',
    );
    await until('the first samples at the backend', () => sink.received > 0, 20_000);

    for (let i = 1; i <= RESTARTS; i++) {
      // Let writes flow, then stop while the agent keeps sending, and start again on the same port.
      const before = sink.requests;
      await until(`traffic before restart ${i}`, () => sink.requests >= before + 2, 10_000, 20);
      await proxy.stop();
      outputs += proxy.output();
      proxy = await startProxy(i);
    }
    await until('2 more scrapes after the last restart', () => target.scrapes > 0, 5_000);
    target.failing = true;
    const scrapes = target.scrapes;

    // The oracle is what the agent ingested, read from its own `up` series: a scrape the target
    // answered can still time out at the agent (200 ms under load) and then yields up=0 and no
    // samples. Every timestamp with up=1 must carry all series; every scrape the target answered
    // must have an `up` sample at the backend, so a lost request cannot hide behind a lost `up`.
    const series = (name: string, extra = ''): string => `__name__=${name}${extra},instance=127.0.0.1:${target.port},job=static`;
    const key = (i: number): string => series('restart_fault_gauge', `,idx=${i}`);
    const upAt = (): Map<number, number> => sink.samples.get(series('up')) ?? new Map<number, number>();
    const okTimes = (): number[] => [...upAt()].filter(([, v]) => v === 1).map(([t]) => t).sort((a, b) => a - b);
    const realTimes = (i: number): number[] => [...(sink.samples.get(key(i)) ?? new Map<number, number>())].filter(([, v]) => !Number.isNaN(v)).map(([t]) => t).sort((a, b) => a - b);
    let delivered = 0;
    let expected = 0;
    try {
      await until(`every up=1 scrape × ${SERIES} series at the backend, and an up sample for each of the ${scrapes} answered scrapes`, () => {
        const ok = new Set(okTimes());
        expected = ok.size * SERIES;
        delivered = 0;
        let all = 0;
        for (let i = 0; i < SERIES; i++) {
          const times = realTimes(i);
          all += times.length;
          for (const t of times) if (ok.has(t)) delivered++;
        }
        // all === delivered: no series sample waits for its scrape's `up` to arrive.
        return upAt().size >= scrapes && ok.size > 0 && delivered === expected && all === delivered;
      }, 30_000, 200);
    } finally {
      const agentMetrics = await (await fetch(`${agent.base}/metrics`)).text();
      const failed = metricValue(agentMetrics, /^prometheus_remote_storage_samples_failed_total\{/) ?? NaN;
      const retried = metricValue(agentMetrics, /^prometheus_remote_storage_samples_retried_total\{/) ?? NaN;
      const timedOut = [...upAt().values()].filter((v) => v === 0).length;
      reportFault({
        fault: 'restart-503',
        case: `${RESTARTS} SIGTERM restarts of the proxy on its main port, Prometheus 2.42 agent, ${SERIES} series @250ms (samples)`,
        tried: expected,
        survived: delivered,
        lost: expected - delivered,
        duplicated: sink.received - sink.distinct,
        note: `target answered ${scrapes} scrapes, the agent ingested ${okTimes().length} (up=0 ${timedOut}); agent samples_failed_total=${failed}, samples_retried_total=${retried}`,
      });
      expect(failed).toBe(0);
    }
    expect(upAt().size).toBeGreaterThanOrEqual(scrapes);
    expect(delivered).toBe(expected);
    const ok = okTimes();
    for (let i = 0; i < SERIES; i++) expect({ i, times: realTimes(i) }).toEqual({ i, times: ok });
    expect(agent.output()).not.toMatch(/non-recoverable error/);
    expect(outputs + proxy.output()).not.toMatch(/EADDRINUSE/);
  }, 240_000);
});
