/**
 * The metrics-pipeline benchmark: ours beside Prometheus 2.42 on the same workload, ours and the
 * peer alternating within one run (the order flips every run), each figure the median of `--runs`
 * runs with its spread (min–max), the ratio ours ÷ Prometheus printed last.
 *
 *   npm run build:bench && node dist-bench/bench/pipeline.js [--part=scrape|proxy|all]
 *     [--series=20000,100000,200000] [--targets=10] [--runs=3] [--warmup=10] [--seconds=15]
 *     [--concurrency=32] [--busy[=N]] [--cpu-prof=DIR] [--cores=1,2] [--decode-workers=N|auto]
 *     [--compress-workers=0|1|auto] [--node-args='--flag ...'] [--before=DIR]
 *
 * 1. Scrape (`--series`, total series over `--targets` exposition servers in this process, scraped
 *    every 1 s): our `prometheus.scrape` → `prometheus.remote_write` against a Prometheus 2.42 agent
 *    scraping the same targets, each alone on the machine in its turn, remote-writing to a counting
 *    receiver in its own process. Start-up is measured apart (spawn → the first full scrape
 *    delivered), then `--warmup` more seconds pass before `--seconds` are measured:
 *    CPU seconds per million samples delivered (/proc/<pid>/stat), peak RSS (VmHWM) per series.
 *    `--cpu-prof=DIR` runs our collector under `node --cpu-prof` and leaves the profiles in DIR.
 *    `--before=DIR` adds a third side, `before`: the launcher `DIR/bin/alloy` of another build
 *    (a copy of `bin/`, `dist/`, `package.json` and a `node_modules` link), run in the same
 *    rotation, so a change is measured against the code before it in one session.
 *    `--node-args='--flag ...'` passes node/V8 flags to `ours` only (also in the proxy part): with
 *    `--before` pointing at a copy of the same build, that measures a flag before shipping it.
 *    `--before` applies to the proxy part too (a third side in the same rotation).
 * 2. Proxy: our `prometheus.receive_http` → `prometheus.relabel` → `prometheus.remote_write`
 *    against a Prometheus 2.42 agent with `--web.enable-remote-write-receiver` and the same
 *    relabelling as a `write_relabel_configs` rule. Each is pinned to `--cores` (all threads); the load
 *    generator (this process) and the counting receiver share core 1. The generator is the same for
 *    both: `--concurrency` senders, each owning 2,000 series and posting snappy-compressed protobuf
 *    WriteRequests of those series with timestamps that advance by 1 ms per request (in order per
 *    series, as a remote-write shard sends). Prints samples acknowledged (204) per CPU-second of
 *    the receiver and p50/p99 ack latency. `--busy[=N]` runs N (default 2) unpinned CPU hogs
 *    beside both for the whole proxy part. `--cores=1,2` (the default) runs the receivers on core 0
 *    and then on cores 0–1 (each started under that affinity, so Go's GOMAXPROCS and our `auto`
 *    decode workers follow it; on 2 cores the receiver shares core 1 with the generator and the
 *    sink) and prints each side's scaling (samples acked per second at 2 cores ÷ at 1 core).
 *    `--decode-workers` and `--compress-workers` pass `--prometheus.receive-http.decode-workers`
 *    and `--prometheus.remote-write.compress-workers` to ours.
 *
 * Load averages are printed beside every figure: the machine is shared, so compare ratios from
 * one run only. All servers listen on 127.0.0.1; every wait is bounded.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { encodeLabels, WriteRequestEncoder } from '../collector/src/prom/remotewrite/proto.js';
import { compress } from '../collector/src/prom/snappy/snappy.js';
import {
  ExpositionServer,
  freePort,
  httpOk,
  type Proc,
  spawnProc,
  startAlloy,
  startSinkProcess,
  stopAll,
  until,
  type SinkProc,
} from '../e2e/metrics/harness.js';
import { median, spread } from './stats.js';

function flag(name: string): string | undefined {
  const a = process.argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return undefined;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : '';
}
function numFlag(name: string, dflt: number): number {
  const v = flag(name);
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}=${v}: expected a positive number`);
  return n;
}

const PART = flag('part') ?? 'all';
if (!['scrape', 'proxy', 'all'].includes(PART)) throw new Error(`--part=${PART}: expected scrape, proxy or all`);
const SIZES = (flag('series') || '20000,100000,200000').split(',').map(Number);
if (SIZES.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`--series=${flag('series')}: expected comma-separated positive integers`);
const TARGETS = numFlag('targets', 10);
const RUNS = numFlag('runs', 3);
const WARMUP = numFlag('warmup', 10);
const SECONDS = numFlag('seconds', 15);
const CONCURRENCY = numFlag('concurrency', 32);
const busyFlag = flag('busy');
const BUSY = busyFlag === undefined ? 0 : busyFlag === '' ? 2 : Number(busyFlag);
const CPU_PROF = flag('cpu-prof');
const CORES = (flag('cores') || '1,2').split(',').map(Number);
if (CORES.some((c) => !Number.isInteger(c) || c < 1 || c > os.cpus().length)) throw new Error(`--cores=${flag('cores')}: expected comma-separated core counts from 1 to ${os.cpus().length}`);
/** Our decode workers per run; unset: the collector's default (\`auto\`, from the CPUs it may use). */
const DECODE_WORKERS = flag('decode-workers');
/** Our compression worker (0, 1 or auto); unset: the collector's default. */
const COMPRESS_WORKERS = flag('compress-workers');
const NODE_ARGS = (flag('node-args') ?? '').split(' ').filter((a) => a !== '');
const BEFORE = flag('before');
if (BEFORE !== undefined && !existsSync(path.join(BEFORE, 'bin/alloy'))) throw new Error(`--before=${BEFORE}: no bin/alloy there (copy bin/, dist/ and package.json of the other build, and link node_modules)`);
const PROMETHEUS = process.env['PROMETHEUS'] ?? '/usr/bin/prometheus';
const TASKSET = existsSync('/usr/bin/taskset');

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function cpuSeconds(pid: number): number {
  const { user, sys } = cpuUserSys(pid);
  return user + sys;
}

/** User and system CPU seconds of all threads of `pid`. */
function cpuUserSys(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLK_TCK, sys: Number(fields[12]) / CLK_TCK };
}

/** CPU seconds of the main thread (tid = pid) of `pid`, apart from all its other threads. */
function threadSplit(pid: number): { main: number; rest: number } {
  let main = 0;
  let all = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const s = (Number(f[11]) + Number(f[12])) / CLK_TCK;
    all += s;
    if (tid === String(pid)) main += s;
  }
  return { main, rest: all - main };
}

function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Pins every thread of `pid` (and the threads it starts later) to the cores `cpus` (e.g. `0` or `0,1`). */
function pin(pid: number, cpus: number | string): void {
  if (TASKSET) execFileSync('taskset', ['-a', '-pc', String(cpus), String(pid)], { stdio: 'ignore' });
}

/** `0`, `0,1`, …: the first `n` cores. */
const coreList = (n: number): string => Array.from({ length: n }, (_, i) => i).join(',');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load = (): string => os.loadavg()[0]!.toFixed(1);

type Side = 'ours' | 'before' | 'prometheus';

/** Starts a Prometheus 2.42 agent (with extra flags) and waits for `/-/ready`. */
async function startAgent(dir: string, name: string, yaml: string, extra: readonly string[] = []): Promise<{ proc: Proc; port: number }> {
  if (!existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} is required (apt-get install prometheus)`);
  const port = await freePort();
  const cfg = path.join(dir, `${name}.yml`);
  writeFileSync(cfg, yaml);
  mkdirSync(path.join(dir, name), { recursive: true });
  const p = spawnProc(name, PROMETHEUS, [
    '--enable-feature=agent',
    `--storage.agent.path=${path.join(dir, name)}`,
    `--config.file=${cfg}`,
    `--web.listen-address=127.0.0.1:${port}`,
    ...extra,
  ]);
  await until(
    `${name} to be ready`,
    async () => {
      if (p.proc.exitCode !== null) throw new Error(`${name} exited:\n${p.output()}`);
      return httpOk(`http://127.0.0.1:${port}/-/ready`);
    },
    60_000,
    20,
  );
  return { proc: p, port };
}

// ---------------------------------------------------------------------------------------------
// Scrape part

interface ScrapeRun {
  readonly startupS: number;
  readonly cpuPerM: number;
  readonly rssPerSeries: number;
  readonly rssMiB: number;
  readonly samples: number;
  readonly load: number;
}

async function scrapeOnce(dir: string, side: Side, run: number, addrs: readonly string[], active: number): Promise<ScrapeRun> {
  const sink = await startSinkProcess();
  const name = `scrape-${side}-${active}-${run}`;
  const t0 = performance.now();
  let proc: Proc;
  if (side !== 'prometheus') {
    const nodeArgs = [...(side === 'ours' ? NODE_ARGS : []), ...(CPU_PROF !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(CPU_PROF || 'cpu-prof')}`] : [])];
    proc = await startAlloy(
      dir,
      name,
      `prometheus.scrape "bench" {
  targets         = [${addrs.map((a) => `{ __address__ = "${a}" }`).join(', ')}]
  forward_to      = [prometheus.remote_write.sink.receiver]
  scrape_interval = "1s"
  scrape_timeout  = "900ms"
}

prometheus.remote_write "sink" {
  endpoint {
    url = "${sink.base}/api/v1/push"
  }
}
`,
      undefined,
      nodeArgs,
      [],
      side === 'before' ? path.join(BEFORE!, 'bin/alloy') : undefined,
    );
  } else {
    ({ proc } = await startAgent(
      dir,
      name,
      [
        'global: { scrape_interval: 1s, scrape_timeout: 900ms }',
        'scrape_configs:',
        '  - job_name: bench',
        `    static_configs: [{ targets: [${addrs.map((a) => `"${a}"`).join(', ')}] }]`,
        'remote_write:',
        `  - url: ${sink.base}/api/v1/push`,
        '',
      ].join('\n'),
    ));
  }
  const pid = proc.proc.pid!;
  try {
    // Start-up: until one full scrape of every series has been delivered.
    await until(`${side} to deliver its first full scrape of ${active} series`, async () => (await sink.counts()).samples >= active || undefined, 180_000, 50);
    const startupS = (performance.now() - t0) / 1000;
    await sleep(WARMUP * 1000);
    const u0 = cpuUserSys(pid);
    const c0 = u0.user + u0.sys;
    const t0s = side !== 'prometheus' ? threadSplit(pid) : { main: 0, rest: 0 };
    const s0 = (await sink.counts()).samples;
    const w0 = performance.now();
    await sleep(SECONDS * 1000);
    const u1 = cpuUserSys(pid);
    const c1 = u1.user + u1.sys;
    const t1s = side !== 'prometheus' ? threadSplit(pid) : { main: 0, rest: 0 };
    const s1 = (await sink.counts()).samples;
    const elapsed = (performance.now() - w0) / 1000;
    const rss = peakRssBytes(pid);
    const samples = s1 - s0;
    const r: ScrapeRun = { startupS, cpuPerM: (c1 - c0) / (samples / 1e6), rssPerSeries: rss / active, rssMiB: rss / 2 ** 20, samples, load: os.loadavg()[0]! };
    const perM = (x: number): string => (x / (samples / 1e6)).toFixed(2);
    const split = ` (user ${perM(u1.user - u0.user)}, system ${perM(u1.sys - u0.sys)})` + (side === 'prometheus' ? '' : ` (main thread ${((t1s.main - t0s.main) / (samples / 1e6)).toFixed(2)}, other threads ${((t1s.rest - t0s.rest) / (samples / 1e6)).toFixed(2)})`);
    console.log(
      `    run ${run + 1} ${side.padEnd(10)} start-up ${startupS.toFixed(1)} s; ${(samples / elapsed / 1000).toFixed(1)}k samples/s delivered (offered ${(active / 1000).toFixed(1)}k/s), ${r.cpuPerM.toFixed(2)} CPU s / M samples${split}, peak RSS ${r.rssMiB.toFixed(0)} MiB = ${r.rssPerSeries.toFixed(0)} B / series; load ${load()}`,
    );
    return r;
  } finally {
    await proc.stop();
    await sink.stop();
  }
}

interface Ratio {
  readonly what: string;
  readonly value: number;
}

async function scrapeBench(dir: string): Promise<Ratio[]> {
  const ratios: Ratio[] = [];
  for (const total of SIZES) {
    const per = Math.ceil(total / TARGETS);
    const servers: ExpositionServer[] = [];
    for (let i = 0; i < TARGETS; i++) {
      const s = new ExpositionServer(per, 'bench_gauge');
      await s.start();
      servers.push(s);
    }
    const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
    // Each target also yields the 5 synthetic series (up, scrape_duration_seconds, ...).
    const active = TARGETS * (per + 5);
    console.log(`scrape → remote_write: ${TARGETS} targets × ${per} series every 1 s (${active} series), start-up apart, then ${WARMUP} s warm-up, ${SECONDS} s measured; load ${load()}`);
    const res: Record<Side, ScrapeRun[]> = { ours: [], before: [], prometheus: [] };
    const sides: Side[] = BEFORE !== undefined ? ['ours', 'before', 'prometheus'] : ['ours', 'prometheus'];
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) res[side].push(await scrapeOnce(dir, side, run, addrs, active));
    }
    for (const side of sides) {
      const xs = res[side];
      console.log(
        `  ${side.padEnd(10)} median (min–max) of ${RUNS}: CPU ${spread(xs.map((x) => x.cpuPerM), 2)} s / M samples; peak RSS ${spread(xs.map((x) => x.rssPerSeries), 0)} B / series = ${spread(xs.map((x) => x.rssMiB), 0)} MiB; start-up ${spread(xs.map((x) => x.startupS), 1)} s; load ${spread(xs.map((x) => x.load), 1)}`,
      );
    }
    const m = (side: Side, f: (r: ScrapeRun) => number): number => median(res[side].map(f));
    ratios.push({ what: `scrape ${total} series: CPU per sample`, value: m('ours', (r) => r.cpuPerM) / m('prometheus', (r) => r.cpuPerM) });
    ratios.push({ what: `scrape ${total} series: peak RSS per series`, value: m('ours', (r) => r.rssPerSeries) / m('prometheus', (r) => r.rssPerSeries) });
    ratios.push({ what: `scrape ${total} series: start-up to first full delivery`, value: m('ours', (r) => r.startupS) / m('prometheus', (r) => r.startupS) });
    if (BEFORE !== undefined) {
      ratios.push({ what: `scrape ${total} series: before's CPU per sample (÷ Prometheus)`, value: m('before', (r) => r.cpuPerM) / m('prometheus', (r) => r.cpuPerM) });
      ratios.push({ what: `scrape ${total} series: before's peak RSS per series (÷ Prometheus)`, value: m('before', (r) => r.rssPerSeries) / m('prometheus', (r) => r.rssPerSeries) });
    }
    for (const s of servers) await s.stop();
  }
  return ratios;
}

// ---------------------------------------------------------------------------------------------
// Proxy part

const PER_REQUEST = 2000;

/** The proxy part's sides: ours, Prometheus, and with `--before` the other build. */
type ProxySide = Side;

function post(agent: http.Agent, port: number, urlPath: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-protobuf',
          'content-encoding': 'snappy',
          'x-prometheus-remote-write-version': '0.1.0',
          'content-length': body.length,
        },
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

interface ProxyRun {
  readonly perCpuSecond: number;
  readonly rate: number;
  readonly cores: number;
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
  readonly generatorCores: number;
  /** µs of CPU per acked sample on the process's main thread and on all its other threads (ended threads are not counted). */
  readonly mainUsPerSample: number;
  readonly restUsPerSample: number;
  /** Peak RSS (VmHWM) of the receiver over the whole run, warm-up included. */
  readonly rssMiB: number;
  readonly load: number;
}

/** Label bytes of the series each sender owns (sender w: series w·2000 … w·2000+1999). */
const seriesLabels: Buffer[][] = Array.from({ length: CONCURRENCY }, (_, w) =>
  Array.from({ length: PER_REQUEST }, (_, i) =>
    Buffer.from(
      encodeLabels([
        { name: '__name__', value: 'recv_bench_total' },
        { name: 'instance', value: `edge-${(w * PER_REQUEST + i) % 100}:9100` },
        { name: 'job', value: 'node' },
        { name: 'series', value: String(w * PER_REQUEST + i) },
      ]),
    ),
  ),
);

async function proxyOnce(dir: string, side: ProxySide, run: number, cores: number): Promise<ProxyRun> {
  const sink: SinkProc = await startSinkProcess();
  pin(sink.proc.pid!, 1);
  const name = `proxy-${side}-${cores}c-${run}`;
  // The receiver starts with the affinity it will run under, so what it sizes from its CPUs at
  // start (Go's GOMAXPROCS, our `auto` decode workers) matches; then this process returns to core 1.
  pin(process.pid, coreList(cores));
  let proc: Proc;
  let port: number;
  let urlPath: string;
  if (side !== 'prometheus') {
    port = await freePort();
    urlPath = '/api/v1/metrics/write';
    proc = await startAlloy(
      dir,
      name,
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
    url = "${sink.base}/api/v1/push"
  }
}
`,
      undefined,
      [...(side === 'ours' ? NODE_ARGS : []), ...(CPU_PROF !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(CPU_PROF || 'cpu-prof')}`] : [])],
      [
        ...(DECODE_WORKERS !== undefined ? [`--prometheus.receive-http.decode-workers=${DECODE_WORKERS}`] : []),
        ...(COMPRESS_WORKERS !== undefined ? [`--prometheus.remote-write.compress-workers=${COMPRESS_WORKERS}`] : []),
      ],
      side === 'before' ? path.join(BEFORE!, 'bin/alloy') : undefined,
    );
  } else {
    urlPath = '/api/v1/write';
    ({ proc, port } = await startAgent(
      dir,
      name,
      [
        'remote_write:',
        `  - url: ${sink.base}/api/v1/push`,
        '    write_relabel_configs:',
        '      - target_label: via',
        '        replacement: proxy',
        '',
      ].join('\n'),
      ['--web.enable-remote-write-receiver', '--log.level=warn'],
    ));
  }
  const pid = proc.proc.pid!;
  pin(pid, coreList(cores));
  pin(process.pid, 1);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const enc = new WriteRequestEncoder();
  const tsBase = Date.now();
  let measuring = false;
  let acked = 0;
  let failed = 0;
  const latencies: number[] = [];
  let stopped = false;
  const firstStatus: number[] = [];
  const sender = async (w: number): Promise<void> => {
    const labels = seriesLabels[w]!;
    for (let k = 0; !stopped; k++) {
      enc.reset();
      for (let i = 0; i < PER_REQUEST; i++) enc.addSample(labels[i]!, tsBase + k, k + i);
      const body = Buffer.from(compress(enc.finish()));
      const t0 = performance.now();
      const status = await post(agent, port, urlPath, body);
      const ms = performance.now() - t0;
      if (firstStatus.length < 3 && status !== 204) firstStatus.push(status);
      if (!measuring) continue;
      if (status === 204) {
        acked += PER_REQUEST;
        latencies.push(ms);
      } else failed++;
    }
  };
  const senders = Array.from({ length: CONCURRENCY }, (_, w) => sender(w));
  try {
    await sleep(WARMUP * 1000);
    measuring = true;
    const c0 = cpuSeconds(pid);
    const t0 = threadSplit(pid);
    const g0 = process.cpuUsage();
    const w0 = performance.now();
    await sleep(SECONDS * 1000);
    measuring = false;
    const cpu = cpuSeconds(pid) - c0;
    const t1 = threadSplit(pid);
    const g = process.cpuUsage(g0);
    const elapsed = (performance.now() - w0) / 1000;
    const rss = peakRssBytes(pid);
    stopped = true;
    await Promise.all(senders);
    if (acked === 0) throw new Error(`${side}: no request was acknowledged (statuses ${firstStatus.join(', ')}):\n${proc.output().slice(-2000)}`);
    latencies.sort((a, b) => a - b);
    const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    const r: ProxyRun = {
      perCpuSecond: acked / cpu,
      mainUsPerSample: ((t1.main - t0.main) / acked) * 1e6,
      restUsPerSample: ((t1.rest - t0.rest) / acked) * 1e6,
      rate: acked / elapsed,
      cores: cpu / elapsed,
      p50: q(0.5),
      p99: q(0.99),
      failed,
      generatorCores: (g.user + g.system) / 1e6 / elapsed,
      rssMiB: rss / 2 ** 20,
      load: os.loadavg()[0]!,
    };
    console.log(
      `    run ${run + 1} ${side.padEnd(10)} ${(r.rate / 1000).toFixed(1)}k samples/s acked using ${r.cores.toFixed(2)} cores = ${(r.perCpuSecond / 1000).toFixed(1)}k / CPU-second; ack latency p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms; CPU per sample ${r.mainUsPerSample.toFixed(2)} µs main thread + ${r.restUsPerSample.toFixed(2)} µs other threads; peak RSS ${r.rssMiB.toFixed(0)} MiB; ${failed} failed; generator ${r.generatorCores.toFixed(2)} cores; load ${load()}`,
    );
    return r;
  } finally {
    stopped = true;
    await Promise.all(senders);
    agent.destroy();
    await proc.stop();
    await sink.stop();
  }
}

async function proxyBench(dir: string): Promise<Ratio[]> {
  // The hogs start before this process pins itself, so they inherit no pinning and spread over
  // every core; everything started after the pin inherits core 1 until it is moved.
  const hogs: Proc[] = [];
  for (let i = 0; i < BUSY; i++) hogs.push(spawnProc(`hog-${i}`, process.execPath, ['-e', 'for (;;) {}']));
  if (TASKSET) execFileSync('taskset', ['-a', '-pc', '1', String(process.pid)], { stdio: 'ignore' });
  try {
    console.log(
      `proxy: receive → relabel → remote_write, ${CONCURRENCY} senders × ${PER_REQUEST} series per request (${CONCURRENCY * PER_REQUEST} series), receiver ${TASKSET ? 'pinned to core 0, generator and sink on core 1' : 'not pinned (taskset missing)'}, ${BUSY ? `${BUSY} CPU hogs running` : 'no CPU hog'}; ${WARMUP} s warm-up, ${SECONDS} s measured; load ${load()}`,
    );
    const ratios: Ratio[] = [];
    const rates = new Map<string, number>();
    for (const cores of CORES) {
      console.log(`  receiver on ${cores} core${cores === 1 ? '' : 's'} (${coreList(cores)})${DECODE_WORKERS !== undefined ? `, ours with --prometheus.receive-http.decode-workers=${DECODE_WORKERS}` : ''}${COMPRESS_WORKERS !== undefined ? `, --prometheus.remote-write.compress-workers=${COMPRESS_WORKERS}` : ''}; load ${load()}`);
      const res: Record<ProxySide, ProxyRun[]> = { ours: [], before: [], prometheus: [] };
      const sides: ProxySide[] = BEFORE !== undefined ? ['ours', 'before', 'prometheus'] : ['ours', 'prometheus'];
      for (let run = 0; run < RUNS; run++) {
        const order = run % 2 === 0 ? sides : [...sides].reverse();
        for (const side of order) res[side].push(await proxyOnce(dir, side, run, cores));
      }
      for (const side of sides) {
        const xs = res[side];
        console.log(
          `  ${side.padEnd(10)} ${cores}c median (min–max) of ${RUNS}: ${spread(xs.map((x) => x.perCpuSecond / 1000), 1)}k samples / CPU-second; ${spread(xs.map((x) => x.rate / 1000), 1)}k samples/s acked at ${spread(xs.map((x) => x.cores), 2)} cores; p50 ${spread(xs.map((x) => x.p50), 1)} ms; p99 ${spread(xs.map((x) => x.p99), 1)} ms; CPU µs per sample: main thread ${spread(xs.map((x) => x.mainUsPerSample), 2)}, other threads ${spread(xs.map((x) => x.restUsPerSample), 2)}; peak RSS ${spread(xs.map((x) => x.rssMiB), 0)} MiB; load ${spread(xs.map((x) => x.load), 1)}`,
        );
      }
      const m = (side: ProxySide, f: (r: ProxyRun) => number): number => median(res[side].map(f));
      rates.set(`ours/${cores}`, m('ours', (r) => r.rate));
      rates.set(`ours-main-us/${cores}`, m('ours', (r) => r.mainUsPerSample));
      rates.set(`ours-total-us/${cores}`, m('ours', (r) => r.mainUsPerSample + r.restUsPerSample));
      rates.set(`prometheus/${cores}`, m('prometheus', (r) => r.rate));
      if (BEFORE !== undefined) {
        rates.set(`before/${cores}`, m('before', (r) => r.rate));
        rates.set(`before-main-us/${cores}`, m('before', (r) => r.mainUsPerSample));
        rates.set(`before-total-us/${cores}`, m('before', (r) => r.mainUsPerSample + r.restUsPerSample));
      }
      const tag = `${BUSY ? ` (${BUSY} CPU hogs)` : ''}, ${cores} core${cores === 1 ? '' : 's'}`;
      if (BEFORE !== undefined) ratios.push({ what: `proxy${tag}: before's samples acked per CPU-second (÷ Prometheus)`, value: m('before', (r) => r.perCpuSecond) / m('prometheus', (r) => r.perCpuSecond) });
      ratios.push(
        { what: `proxy${tag}: samples acked per CPU-second`, value: m('ours', (r) => r.perCpuSecond) / m('prometheus', (r) => r.perCpuSecond) },
        { what: `proxy${tag}: samples acked per second`, value: m('ours', (r) => r.rate) / m('prometheus', (r) => r.rate) },
        { what: `proxy${tag}: p50 ack latency`, value: m('ours', (r) => r.p50) / m('prometheus', (r) => r.p50) },
        { what: `proxy${tag}: p99 ack latency`, value: m('ours', (r) => r.p99) / m('prometheus', (r) => r.p99) },
      );
    }
    if (CORES.length > 1) {
      const lo = Math.min(...CORES);
      const hi = Math.max(...CORES);
      for (const side of BEFORE !== undefined ? (['ours', 'before', 'prometheus'] as const) : (['ours', 'prometheus'] as const)) {
        const scale = rates.get(`${side}/${hi}`)! / rates.get(`${side}/${lo}`)!;
        console.log(`  scaling ${side.padEnd(10)} ${lo} → ${hi} cores: ${(rates.get(`${side}/${lo}`)! / 1000).toFixed(1)}k → ${(rates.get(`${side}/${hi}`)! / 1000).toFixed(1)}k samples/s acked = ${scale.toFixed(2)}×`);
      }
      // Load-independent ceiling: on more cores ours is bound by its main thread's CPU per sample.
      for (const side of BEFORE !== undefined ? ['ours', 'before'] : ['ours']) {
        const ceiling = rates.get(`${side}-total-us/${lo}`)! / rates.get(`${side}-main-us/${hi}`)!;
        console.log(
          `  ${side}: all threads ${rates.get(`${side}-total-us/${lo}`)!.toFixed(2)} µs CPU per sample on ${lo} core, main thread ${rates.get(`${side}-main-us/${hi}`)!.toFixed(2)} µs on ${hi} cores: at most ${ceiling.toFixed(2)}× from ${lo} → ${hi} cores while the main thread is the bottleneck`,
        );
      }
      // Not a ratio against the peer: printed with them so it sits beside the figures it comes from.
      ratios.push({ what: `proxy: ours ${lo} → ${hi} cores scaling ÷ Prometheus's`, value: rates.get(`ours/${hi}`)! / rates.get(`ours/${lo}`)! / (rates.get(`prometheus/${hi}`)! / rates.get(`prometheus/${lo}`)!) });
    }
    return ratios;
  } finally {
    for (const h of hogs) await h.kill9();
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-pipeline-'));
try {
  console.log(`host: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${RUNS} runs, ours and Prometheus 2.42 alternating`);
  const ratios: Ratio[] = [];
  if (PART !== 'proxy') ratios.push(...(await scrapeBench(dir)));
  if (PART !== 'scrape') ratios.push(...(await proxyBench(dir)));
  console.log(`ratios ours ÷ Prometheus 2.42 (medians; load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}):`);
  for (const r of ratios) console.log(`  ${r.what}: ${r.value.toFixed(2)}×`);
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
