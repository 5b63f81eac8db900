/**
 * The metrics-pipeline benchmark (same machine, same workload, measured in one run):
 *
 *   npm run build:bench && node dist-bench/bench/pipeline.js [targets=10] [series=2000] [seconds=20]
 *
 * 1. Scrape: our `alloy run` and Prometheus 2.42 in agent mode, side by side, scrape the same N
 *    local exposition servers × M series every second and remote-write to two in-process sinks.
 *    Prints CPU seconds per million samples delivered (from /proc/<pid>/stat) and peak RSS
 *    (VmHWM) per active series for both, and ours ÷ Prometheus.
 * 2. Receive: our receive_http → prometheus.relabel → remote_write pinned to one core (taskset),
 *    driven at saturation by a load generator on the other core; prints samples/s acknowledged
 *    (WAL-durable) and delivered. Prometheus agent has no receiver, so this one is absolute; see
 *    `bench/remote-write-codec.ts` for the codec microbench.
 *
 * All servers listen on 127.0.0.1; every loop is bounded by the run time.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { encodeLabels, WriteRequestEncoder } from '../collector/src/prom/remotewrite/proto.js';
import { compress } from '../collector/src/prom/snappy/snappy.js';
import { ExpositionServer, freePort, Sink, startAlloy, startPrometheus, stopAll } from '../e2e/metrics/harness.js';

const [targets = 10, seriesPerTarget = 2000, seconds = 20] = process.argv.slice(2).map(Number);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function scrapeBench(dir: string): Promise<void> {
  const servers: ExpositionServer[] = [];
  for (let i = 0; i < targets; i++) {
    const s = new ExpositionServer(seriesPerTarget, 'bench_gauge');
    await s.start();
    servers.push(s);
  }
  const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
  const oursSink = new Sink();
  const promSink = new Sink();
  await oursSink.start();
  await promSink.start();
  const ours = await startAlloy(
    dir,
    'bench-ours',
    `prometheus.scrape "bench" {
  targets         = [${addrs.map((a) => `{ __address__ = "${a}" }`).join(', ')}]
  forward_to      = [prometheus.remote_write.sink.receiver]
  scrape_interval = "1s"
  scrape_timeout  = "900ms"
}

prometheus.remote_write "sink" {
  endpoint {
    url = "http://127.0.0.1:${oursSink.port}/api/v1/push"
  }
}
`,
  );
  const prom = await startPrometheus(
    dir,
    'bench-prom',
    [
      'global: { scrape_interval: 1s, scrape_timeout: 900ms }',
      'scrape_configs:',
      '  - job_name: bench',
      `    static_configs: [{ targets: [${addrs.map((a) => `"${a}"`).join(', ')}] }]`,
      'remote_write:',
      `  - url: http://127.0.0.1:${promSink.port}/api/v1/push`,
      '',
    ].join('\n'),
    'agent',
  );
  // Idle twins (same binaries, nothing to scrape) give each side's fixed baseline memory.
  const oursIdle = await startAlloy(dir, 'bench-ours-idle', '');
  const promIdle = await startPrometheus(dir, 'bench-prom-idle', 'global: {}\n', 'agent');
  const active = targets * (seriesPerTarget + 5);
  console.log(`scrape: ${targets} targets × ${seriesPerTarget} series every 1s (${active} active series each), ${seconds}s measured after 5s warm-up`);
  await sleep(5000);
  const c0 = { ours: cpuSeconds(ours.proc.pid!), prom: cpuSeconds(prom.proc.pid!) };
  const s0 = { ours: oursSink.received, prom: promSink.received };
  await sleep(seconds * 1000);
  const c1 = { ours: cpuSeconds(ours.proc.pid!), prom: cpuSeconds(prom.proc.pid!) };
  const s1 = { ours: oursSink.received, prom: promSink.received };
  const rss = { ours: peakRssBytes(ours.proc.pid!), prom: peakRssBytes(prom.proc.pid!) };
  const idle = { ours: peakRssBytes(oursIdle.proc.pid!), prom: peakRssBytes(promIdle.proc.pid!) };
  const row = (name: 'ours' | 'prom'): { cpuPerM: number; rssPerSeries: number; overIdle: number; samples: number } => {
    const samples = s1[name] - s0[name];
    return {
      cpuPerM: (c1[name] - c0[name]) / (samples / 1e6),
      rssPerSeries: rss[name] / active,
      overIdle: (rss[name] - idle[name]) / active,
      samples,
    };
  };
  const o = row('ours');
  const p = row('prom');
  console.log(`  ours:       ${o.samples} samples delivered, ${o.cpuPerM.toFixed(2)} CPU s / million samples, peak RSS ${(rss.ours / 2 ** 20).toFixed(0)} MiB = ${o.rssPerSeries.toFixed(0)} B / active series`);
  console.log(`  prometheus: ${p.samples} samples delivered, ${p.cpuPerM.toFixed(2)} CPU s / million samples, peak RSS ${(rss.prom / 2 ** 20).toFixed(0)} MiB = ${p.rssPerSeries.toFixed(0)} B / active series`);
  console.log(`  idle baseline peak RSS: ours ${(idle.ours / 2 ** 20).toFixed(0)} MiB, prometheus ${(idle.prom / 2 ** 20).toFixed(0)} MiB; above it: ours ${o.overIdle.toFixed(0)} B, prometheus ${p.overIdle.toFixed(0)} B / active series`);
  console.log(
    `  ours ÷ prometheus: CPU per sample ${(o.cpuPerM / p.cpuPerM).toFixed(2)}x, peak RSS per series ${(o.rssPerSeries / p.rssPerSeries).toFixed(2)}x (above idle baseline ${(o.overIdle / p.overIdle).toFixed(2)}x)`,
  );
  await oursIdle.stop();
  await promIdle.stop();
  await ours.stop();
  await prom.stop();
  for (const s of servers) await s.stop();
  await oursSink.stop();
  await promSink.stop();
}

function post(agent: http.Agent, port: number, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/metrics/write',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

async function receiveBench(dir: string): Promise<void> {
  const pin = existsSync('/usr/bin/taskset');
  if (pin) execFileSync('taskset', ['-pc', '1', String(process.pid)]);
  const sink = new Sink();
  await sink.start();
  const port = await freePort();
  const proxy = await startAlloy(
    dir,
    'bench-proxy',
    `prometheus.receive_http "ingest" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${port}
  }
  forward_to = [prometheus.relabel.tag.receiver]
}

prometheus.relabel "tag" {
  rule {
    target_label = "via"
    replacement  = "proxy"
  }
  forward_to = [prometheus.remote_write.out.receiver]
}

prometheus.remote_write "out" {
  endpoint {
    url = "http://127.0.0.1:${sink.port}/api/v1/push"
  }
}
`,
  );
  if (pin) execFileSync('taskset', ['-pc', '0', String(proxy.proc.pid!)]);
  // 20k series in 10 bodies of 2000 samples; timestamps advance per round.
  const SERIES = 20_000;
  const PER = 2000;
  const labelBytes = Array.from({ length: SERIES }, (_, i) =>
    encodeLabels([
      { name: '__name__', value: 'recv_bench_total' },
      { name: 'instance', value: `edge-${i % 100}:9100` },
      { name: 'job', value: 'node' },
      { name: 'series', value: String(i) },
    ]),
  );
  const enc = new WriteRequestEncoder();
  const bodies = (round: number): Buffer[] => {
    const out: Buffer[] = [];
    for (let b = 0; b < SERIES / PER; b++) {
      enc.reset();
      for (let i = b * PER; i < (b + 1) * PER; i++) enc.addSample(labelBytes[i]!, 1_700_000_000_000 + round * 1000, round + i);
      out.push(compress(enc.finish()));
    }
    return out;
  };
  const precomputed = Array.from({ length: 30 }, (_, r) => bodies(r));
  const CONCURRENCY = 32; // like a sender with 32 shards
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let acked = 0;
  let failed = 0;
  const end = Date.now() + 5000 + seconds * 1000;
  let measureFrom = 0;
  let ackedAtStart = 0;
  let cpu0 = 0;
  let delivered0 = 0;
  setTimeout(() => {
    measureFrom = performance.now();
    ackedAtStart = acked;
    cpu0 = cpuSeconds(proxy.proc.pid!);
    delivered0 = sink.received;
  }, 5000);
  let round = 0;
  const workers = Array.from({ length: CONCURRENCY }, async (_, w) => {
    while (Date.now() < end) {
      const set = precomputed[Math.floor(round / CONCURRENCY) % precomputed.length]!;
      round++;
      const status = await post(agent, port, set[(w + round) % set.length]!);
      if (status === 204) acked += PER;
      else failed++;
    }
  });
  await Promise.all(workers);
  const elapsed = (performance.now() - measureFrom) / 1000;
  const cpu = cpuSeconds(proxy.proc.pid!) - cpu0;
  const rate = (acked - ackedAtStart) / elapsed;
  console.log(`receive_http → relabel → remote_write${pin ? ' (pinned to one core)' : ' (taskset missing: not pinned)'}, ${seconds}s:`);
  console.log(`  ${(rate / 1000).toFixed(1)}k samples/s acknowledged (WAL-durable), ${(((sink.received - delivered0) / elapsed) / 1000).toFixed(1)}k samples/s delivered, ${(cpu / elapsed).toFixed(2)} cores busy, ${failed} failed requests`);
  const cpuPerM = cpu / ((acked - ackedAtStart) / 1e6);
  console.log(`  CPU ${cpuPerM.toFixed(2)} s / million samples acknowledged → ${(1000 / cpuPerM).toFixed(0)}k samples/s on one fully available core`);
  console.log('  (Prometheus agent has no receive path to compare against; see bench/remote-write-codec.ts)');
  agent.destroy();
  await proxy.stop();
  await sink.stop();
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-pipeline-'));
try {
  console.log(`host: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on the machine skews both sides alike)`);
  await scrapeBench(dir);
  await receiveBench(dir);
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
