/**
 * Benchmark: delivery right after start. 200k new series are scraped every second and
 * remote-written with the default queue_config, first by our `prometheus.scrape` →
 * `prometheus.remote_write`, then, in the same run and against a fresh receiver, by the peer: a
 * Prometheus 2.42 agent with the same scrape and remote_write settings.
 *
 * "Scraped" is what the sender stored from its scrapes (ours: the WAL's
 * `prometheus_remote_write_wal_samples_appended_total`; the agent:
 * `prometheus_remote_storage_samples_in_total`). "Delivered" is what the receiver took. From second
 * 5 on, at every one-second check, delivered must be at least 95% of what had been scraped one
 * second earlier (the time a batch needs to be sent). The collector must not print
 * `MaxListenersExceededWarning`.
 *
 * Receivers (`--sink=`):
 * - `prometheus` (default): a real Prometheus 2.42 with its remote-write receiver; "delivered" is
 *   its `prometheus_tsdb_head_samples_appended_total`. Its CPU is printed: on a 2-core machine it
 *   is the receiver, not the sender, that runs out of CPU first (see bench/README.md).
 * - `counting`: a receiver in a child process that decodes every request and counts samples
 *   (about a tenth of Prometheus's CPU per sample), so the figures are about the sender.
 *
 * Options: `--series=N` (default 200000), `--seconds=N` (default 25), `--no-peer` (ours only).
 * `BENCH_NODE_ARGS` passes node flags to our collector (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
 *
 *   npm run build:bench && node dist-bench/bench/remote-write-start.js [--sink=counting]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ExpositionServer,
  metricValue,
  requireTool,
  scrapeToRemoteWriteConfig,
  startAlloy,
  startPrometheus,
  startSinkProcess,
  stopAll,
  until,
  type Proc,
} from '../e2e/metrics/harness.js';
import { reportFault, rssOf } from '../e2e/faults/report.js';

if (requireTool('/usr/bin/prometheus', 'the remote-write start benchmark') === undefined) process.exit(1);

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const SERIES = Number(arg('series') ?? 200_000);
const RUN_MS = Number(arg('seconds') ?? 25) * 1000;
const SINK = arg('sink') ?? 'prometheus';
const PEER = !process.argv.includes('--no-peer');
const FROM_MS = 5_000;
const AIM = 0.95;

if (SINK !== 'prometheus' && SINK !== 'counting') throw new Error(`--sink must be prometheus or counting, not ${SINK}`);

/** CPU seconds (user + system) a process used so far (Linux `/proc`), 0 when unreadable. */
function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** Connection resets seen while sampling, per base URL (reported in the row's note). */
const resets = new Map<string, number>();

/** GET with up to 3 attempts: a reset keep-alive connection is retried on a new one and counted. */
async function text(url: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await fetch(url);
      return await r.text();
    } catch (err: unknown) {
      const base = new URL(url).origin;
      resets.set(base, (resets.get(base) ?? 0) + 1);
      if (attempt >= 3) throw new Error(`GET ${url}: ${String(err)} (${String((err as { cause?: unknown }).cause)})`);
    }
  }
}

interface Receiver {
  readonly base: string;
  readonly proc: Proc;
  delivered(): Promise<number>;
}

async function startReceiver(dir: string, name: string): Promise<Receiver> {
  if (SINK === 'prometheus') {
    const p = await startPrometheus(dir, name, 'global:\n  scrape_interval: 1h\n', 'server');
    return {
      base: p.base,
      proc: p,
      delivered: async () => metricValue(await text(`${p.base}/metrics`), /^prometheus_tsdb_head_samples_appended_total\{type="float"\}/) ?? 0,
    };
  }
  const p = await startSinkProcess();
  return { base: p.base, proc: p, delivered: async () => (await p.counts()).samples };
}

interface Sender {
  readonly label: string;
  readonly base: string;
  readonly proc: Proc;
  /** Samples the sender stored from its scrapes. */
  readonly scrapedMetric: RegExp;
}

async function startOurs(dir: string, targetPort: number, rx: Receiver): Promise<Sender> {
  const alloy = await startAlloy(
    dir,
    'edge',
    scrapeToRemoteWriteConfig(targetPort, `${rx.base}/api/v1/write`),
    undefined,
    (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
  );
  return { label: 'ours', base: alloy.base, proc: alloy, scrapedMetric: /^prometheus_remote_write_wal_samples_appended_total/ };
}

async function startAgent(dir: string, targetPort: number, rx: Receiver): Promise<Sender> {
  const p = await startPrometheus(
    dir,
    'agent',
    `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: big
    static_configs:
      - targets: ['127.0.0.1:${targetPort}']
remote_write:
  - url: ${rx.base}/api/v1/write
`,
    'agent',
  );
  return { label: 'Prometheus agent', base: p.base, proc: p, scrapedMetric: /^prometheus_remote_storage_samples_in_total/ };
}

interface PhaseResult {
  readonly worst: number;
  readonly worstAt: number;
  readonly scraped: number;
  readonly delivered: number;
  readonly due: number;
  readonly shards: number;
  readonly rssGrowth: number;
  readonly cpuSender: number;
  readonly cpuReceiver: number;
  readonly wall: number;
  readonly output: string;
}

async function phase(dir: string, target: ExpositionServer, start: (dir: string, port: number, rx: Receiver) => Promise<Sender>): Promise<PhaseResult> {
  const rx = await startReceiver(dir, `receiver-${path.basename(dir)}`);
  const base0 = await rx.delivered();
  const scrapes0 = target.scrapes;
  const tx = await start(dir, target.port, rx);
  const pid = tx.proc.proc.pid;
  const rss0 = rssOf(pid) ?? 0;
  let rssPeak = rss0;
  await until('the first scrape', () => target.scrapes > scrapes0, 20_000, 20);
  const t0 = Date.now();
  const cpu0 = { tx: cpuSecondsOf(pid), rx: cpuSecondsOf(rx.proc.proc.pid) };
  const rows: { t: number; scraped: number; delivered: number; shards: number }[] = [];
  const scrapedAt: number[] = [];
  let worst = Infinity;
  let worstAt = 0;
  while (Date.now() - t0 < RUN_MS) {
    await new Promise((r) => setTimeout(r, 1000 - ((Date.now() - t0) % 1000)));
    const t = Date.now() - t0;
    const m = await text(`${tx.base}/metrics`);
    const scraped = metricValue(m, tx.scrapedMetric) ?? 0;
    scrapedAt.push(scraped);
    const delivered = (await rx.delivered()) - base0;
    const shards = metricValue(m, /^prometheus_remote_storage_shards\{/) ?? 0;
    rssPeak = Math.max(rssPeak, rssOf(pid) ?? 0);
    rows.push({ t, scraped, delivered, shards });
    // Scrapes stored one second ago must be delivered by now.
    const due = scrapedAt.length >= 2 ? scrapedAt[scrapedAt.length - 2]! : 0;
    if (t >= FROM_MS && due > 0) {
      const ratio = delivered / due;
      if (ratio < worst) {
        worst = ratio;
        worstAt = t;
      }
    }
  }
  const wall = (Date.now() - t0) / 1000;
  const cpuSender = cpuSecondsOf(pid) - cpu0.tx;
  const cpuReceiver = cpuSecondsOf(rx.proc.proc.pid) - cpu0.rx;
  const last = rows[rows.length - 1]!;
  process.stdout.write(
    `${tx.label} → ${SINK}, per second (t ms, scraped, delivered, shards):\n${rows.map((r) => `  ${r.t}\t${r.scraped}\t${r.delivered}\t${r.shards}`).join('\n')}\n`,
  );
  const output = tx.proc.output();
  await tx.proc.stop();
  await rx.proc.stop();
  return {
    worst,
    worstAt,
    scraped: last.scraped,
    delivered: last.delivered,
    due: scrapedAt[scrapedAt.length - 2]!,
    shards: last.shards,
    rssGrowth: rssPeak - rss0,
    cpuSender,
    cpuReceiver,
    wall,
    output,
  };
}

function describe(label: string, r: PhaseResult): string {
  const worst = Number.isFinite(r.worst) ? `${r.worst.toFixed(3)} at ${r.worstAt} ms` : 'n/a (nothing scraped by then)';
  const perSample = (cpu: number, n: number): string => `${((cpu / Math.max(1, n)) * 1e6).toFixed(2)} µs`;
  return (
    `${label}: worst delivered/scraped from second 5 on ${worst} (aim >= ${AIM}); scraped ${r.scraped} of ${(RUN_MS / 1000) * SERIES} offered; ` +
    `CPU over ${r.wall.toFixed(1)} s: sender ${r.cpuSender.toFixed(1)} s (${perSample(r.cpuSender, r.scraped)}/scraped sample), ` +
    `receiver ${r.cpuReceiver.toFixed(1)} s (${perSample(r.cpuReceiver, r.delivered)}/delivered sample)\n`
  );
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-rw-start-'));
  const load0 = os.loadavg()[0]!;
  try {
    const target = new ExpositionServer(SERIES, 'stall_gauge');
    await target.start();
    const oursDir = path.join(root, 'ours');
    const peerDir = path.join(root, 'peer');
    for (const d of [oursDir, peerDir]) mkdirSync(d);
    const ours = await phase(oursDir, target, startOurs);
    const peer = PEER ? await phase(peerDir, target, startAgent) : undefined;
    await target.stop();
    reportFault({
      fault: 'rw-start-stall',
      case: `${SERIES} new series, 1 s scrape, ${RUN_MS / 1000} s, receiver ${SINK === 'prometheus' ? 'Prometheus 2.42' : 'counting sink'} (samples)`,
      tried: ours.due,
      survived: Math.min(ours.delivered, ours.due),
      lost: Math.max(0, ours.due - ours.delivered),
      duplicated: 0,
      rssGrowthBytes: ours.rssGrowth,
      note:
        `worst delivered/scraped from 5 s on: ${Number.isFinite(ours.worst) ? `${(ours.worst * 100).toFixed(1)}% at ${ours.worstAt} ms` : 'n/a'}` +
        (peer ? `, Prometheus agent ${Number.isFinite(peer.worst) ? `${(peer.worst * 100).toFixed(1)}%` : 'n/a'}` : '') +
        `; shards at end ${ours.shards}; sampling GETs reset: ${[...resets.values()].reduce((a, b) => a + b, 0)}`,
    });
    const warned = /MaxListenersExceededWarning/.test(ours.output);
    process.stdout.write(`MaxListenersExceededWarning printed: ${warned ? 'yes (defect)' : 'no'}\n`);
    process.stdout.write(`load average at start ${load0.toFixed(1)}, at end ${os.loadavg()[0]!.toFixed(1)} (2 cores: figures above ~2 are contended)\n`);
    process.stdout.write(describe('ours', ours));
    if (peer) {
      process.stdout.write(describe('Prometheus agent', peer));
      const ratio = Number.isFinite(ours.worst) && Number.isFinite(peer.worst) && peer.worst > 0 ? (ours.worst / peer.worst).toFixed(2) : 'n/a';
      process.stdout.write(`worst delivered/scraped, ours ÷ Prometheus agent: ${ratio}; scraped samples, ours ÷ agent: ${(ours.scraped / Math.max(1, peer.scraped)).toFixed(2)}\n`);
    }
  } finally {
    await stopAll();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
