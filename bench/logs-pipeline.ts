/**
 * Throughput and CPU of the docs' logs proxy (`loki.source.api` → `loki.write`) against a floor
 * doing the same work in one plain Node.js process (`bench/logs-floor.ts`: decode every pushed
 * entry with the collector's decoder, re-batch at 1 MiB / 100 ms, group by stream, encode,
 * compress, post). Promtail and Grafana Loki are not packaged by Debian (its `loki` package is an
 * unrelated genetics program), so there is no such peer to run here.
 *
 *   npm run build:bench && node dist-bench/bench/logs-pipeline.js [--runs=5] [--requests=200]
 *
 * The measured process (ours or the floor) is pinned to core 0 with all its threads; this process
 * (load generator and the Loki-compatible sink, which decodes every body) is pinned to core 1, so
 * the sink's work is off the measured core. Each run sends `--requests` snappy-protobuf pushes of
 * 1,000 unique lines (10 streams), 8 at a time, and times until the sink holds every entry. One
 * unrecorded warm-up round each, then `--runs` rounds alternating (order flipped every round).
 * Prints entries/s end to end and CPU seconds per million entries of the measured process, as
 * medians with min–max and the load average, then ours ÷ floor last.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compress } from '../collector/src/prom/snappy/snappy.js';
import { parseStreamLabels } from '../collector/src/loki/labels.js';
import { PushRequestEncoder } from '../collector/src/loki/push.js';
import { LokiSink } from '../collector/src/loki/loki.test-support.js';
import { freePort, type Proc, spawnProc, startAlloy, stopAll, until } from '../e2e/metrics/harness.js';
import { median, spread } from './stats.js';

function numFlag(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  if (a === undefined) return dflt;
  const n = Number(a.slice(a.indexOf('=') + 1));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${a}: expected a positive integer`);
  return n;
}

const RUNS = numFlag('runs', 5);
const REQUESTS = numFlag('requests', 200);
const ENTRIES_PER_REQUEST = 1000;
const CONCURRENCY = 8;
const TASKSET = existsSync('/usr/bin/taskset');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function pin(pid: number, cpu: number): void {
  if (TASKSET) execFileSync('taskset', ['-a', '-pc', String(cpu), String(pid)], { stdio: 'ignore' });
}

function bodies(): Buffer[] {
  const enc = new PushRequestEncoder();
  const out: Buffer[] = [];
  const now = Date.now();
  for (let r = 0; r < REQUESTS; r++) {
    const streams = Array.from({ length: 10 }, (_, s) => {
      const labelStr = `{filename="/var/log/app-${s}.log", job="varlogs"}`;
      const labels = parseStreamLabels(labelStr);
      const entries = Array.from({ length: ENTRIES_PER_REQUEST / 10 }, (_, i) => ({
        labels,
        line: `level=info req=${r} stream=${s} seq=${i} msg="request served" path=/api/v1/items/${i} status=200 duration_ms=${i % 97}`,
        timestampMs: now + r,
        timestampNanos: i,
      }));
      return { labels: labelStr, entries };
    });
    out.push(Buffer.from(compress(enc.encode(streams))));
  }
  return out;
}

interface Run {
  readonly rate: number;
  readonly cpuPerM: number;
  readonly load: number;
}

async function drive(url: string, pid: number, sink: LokiSink, payloads: readonly Buffer[]): Promise<Run> {
  sink.entries.length = 0;
  const want = REQUESTS * ENTRIES_PER_REQUEST;
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < payloads.length) {
      const body = payloads[next++]!;
      for (let attempt = 0; ; attempt++) {
        const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
        const text = await r.text();
        if (r.status === 204) break;
        if (attempt >= 20) throw new Error(`${url} keeps answering ${r.status}: ${text.slice(0, 300)}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await until(`${want} entries at the sink (have ${sink.entries.length})`, () => sink.entries.length >= want, 120_000, 5);
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - c0;
  sink.entries.length = 0;
  return { rate: want / secs, cpuPerM: cpu / (want / 1e6), load: os.loadavg()[0]! };
}

async function startFloor(sinkUrl: string): Promise<{ proc: Proc; port: number }> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'logs-floor.js');
  const proc = spawnProc('logs-floor', process.execPath, [script, sinkUrl, '100']);
  const port = Number(await until(() => `the floor to listen:\n${proc.output()}`, () => /listening on (\d+)/.exec(proc.output())?.[1], 20_000, 20));
  return { proc, port };
}

async function main(): Promise<void> {
  if (TASKSET) pin(process.pid, 1);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-logs-'));
  const sink = new LokiSink();
  await sink.start();
  try {
    const payloads = bodies();
    const proxyPort = await freePort();
    const ours = await startAlloy(
      dir,
      'proxy',
      `loki.source.api "ingest" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${proxyPort}
  }
  forward_to = [loki.write.to_backend.receiver]
}

loki.write "to_backend" {
  endpoint {
    url        = "${sink.url}"
    batch_wait = "100ms"
  }
}
`,
    );
    const floor = await startFloor(sink.url);
    pin(ours.proc.pid!, 0);
    pin(floor.proc.proc.pid!, 0);
    const mb = payloads.reduce((s, b) => s + b.length, 0) / 1e6;
    console.log(
      `${REQUESTS} requests × ${ENTRIES_PER_REQUEST} entries (${mb.toFixed(1)} MB snappy), concurrency ${CONCURRENCY}; measured process ${TASKSET ? 'pinned to core 0, generator and sink on core 1' : 'not pinned (taskset missing)'}; 1 warm-up round each, then ${RUNS} alternating; load ${os.loadavg()[0]!.toFixed(1)}`,
    );
    const oursUrl = `http://127.0.0.1:${proxyPort}/loki/api/v1/push`;
    const floorUrl = `http://127.0.0.1:${floor.port}/loki/api/v1/push`;
    await drive(oursUrl, ours.proc.pid!, sink, payloads);
    await drive(floorUrl, floor.proc.proc.pid!, sink, payloads);
    const o: Run[] = [];
    const f: Run[] = [];
    for (let round = 0; round < RUNS; round++) {
      if (round % 2 === 0) {
        o.push(await drive(oursUrl, ours.proc.pid!, sink, payloads));
        f.push(await drive(floorUrl, floor.proc.proc.pid!, sink, payloads));
      } else {
        f.push(await drive(floorUrl, floor.proc.proc.pid!, sink, payloads));
        o.push(await drive(oursUrl, ours.proc.pid!, sink, payloads));
      }
      console.log(
        `  round ${round + 1}: ours ${(o.at(-1)!.rate / 1e3).toFixed(0)}k entries/s, ${o.at(-1)!.cpuPerM.toFixed(2)} CPU s / M; floor ${(f.at(-1)!.rate / 1e3).toFixed(0)}k entries/s, ${f.at(-1)!.cpuPerM.toFixed(2)} CPU s / M; load ${os.loadavg()[0]!.toFixed(1)}`,
      );
    }
    const show = (label: string, xs: readonly Run[]): void =>
      console.log(
        `${label} median (min–max) of ${RUNS}: ${spread(xs.map((x) => x.rate / 1e3), 0)}k entries/s, ${spread(xs.map((x) => x.cpuPerM), 2)} CPU s / M entries; load ${spread(xs.map((x) => x.load), 1)}`,
      );
    show('ours  (loki.source.api → loki.write)', o);
    show('floor (decode → batch → encode, one process)', f);
    const rate = median(o.map((x) => x.rate)) / median(f.map((x) => x.rate));
    const cpu = median(o.map((x) => x.cpuPerM)) / median(f.map((x) => x.cpuPerM));
    console.log(`ratio ours ÷ floor: throughput ${rate.toFixed(2)}×, CPU per entry ${cpu.toFixed(2)}×`);
  } finally {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
