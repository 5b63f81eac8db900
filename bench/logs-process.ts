/**
 * Cost of `loki.process` on the Kubernetes-style JSON path, with the bare `JSON.parse` of the
 * same lines as the floor. Run with:
 *   npm run build:bench && node dist-bench/bench/logs-process.js
 *
 * 1. In-process: `loki.process` (stage.json → stage.labels → stage.timestamp → stage.output) on
 *    LINES 200-byte JSON lines, against a loop that only `JSON.parse`s the same lines: lines/s
 *    on this one thread, and the ratio.
 * 2. End to end (ALLOY_NODE_ARGS passes node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"): a real `bin/alloy run` with loki.source.api → loki.process → loki.write pushing
 *    to a Loki sink in this process. Lines/s per core is lines / CPU seconds of the collector
 *    process (utime + stime from /proc, every thread), the median of RUNS (default 5) runs after a
 *    warm-up, with the CPU split between the main thread and V8's helper threads (GC, compiler);
 *    peak RSS is its VmHWM.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compress } from '../collector/src/prom/snappy/snappy.js';
import { parseStreamLabels } from '../collector/src/loki/labels.js';
import { PushRequestEncoder } from '../collector/src/loki/push.js';
import { LokiSink } from '../collector/src/loki/loki.test-support.js';
import type { LogEntry } from '../collector/src/loki/types.js';
import { processHarness } from '../collector/src/component/loki/process/process.test-support.js';
import { freePort, startAlloy, stopAll, until } from '../e2e/metrics/harness.js';

const LINES = Number(process.env['LINES'] ?? 200_000);
const REQUESTS = Number(process.env['REQUESTS'] ?? 200);
const ENTRIES_PER_REQUEST = 1000;
const CONCURRENCY = 4;
const RUNS = Number(process.env['RUNS'] ?? 5);

const STAGES = `stage.json {
    expressions = { level = "", ts = "time", msg = "message", status = "http.status" }
  }
  stage.labels {
    values = { level = "" }
  }
  stage.timestamp {
    source = "ts"
    format = "RFC3339Nano"
  }
  stage.output {
    source = "msg"
  }`;

const LEVELS = ['info', 'warn', 'error', 'debug'];

/** A ~200-byte JSON log line. */
function line(i: number): string {
  const base = {
    time: new Date(Date.UTC(2024, 0, 1, 0, 0, 0, i % 1000)).toISOString().replace('Z', '123456Z'),
    level: LEVELS[i % 4],
    message: `request served for user ${i % 1000}`,
    http: { method: 'GET', path: `/api/v1/items/${i % 10_000}`, status: 200 },
    trace_id: `${(i * 2654435761) % 1e12}`.padStart(16, '0'),
  };
  let s = JSON.stringify(base);
  if (s.length < 200) s = s.slice(0, -1) + `,"pad":"${'x'.repeat(Math.max(0, 200 - s.length - 10))}"}`;
  return s;
}

/** CPU seconds (user + system) of this process: rates stay comparable on a busy machine. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Lines per CPU second of a bare `JSON.parse` of `lines` (the floor). */
function parseRate(lines: readonly string[], rounds: number): number {
  const t0 = cpuSeconds();
  let k = 0;
  for (let r = 0; r < rounds; r++) for (const l of lines) k += (JSON.parse(l) as { level: string }).level.length;
  if (k === 0) throw new Error('unreachable');
  return (rounds * lines.length) / (cpuSeconds() - t0);
}

function inProcess(): void {
  const lines = Array.from({ length: LINES }, (_x, i) => line(i));
  const avg = lines.reduce((s, l) => s + l.length, 0) / lines.length;
  const labels = parseStreamLabels('{job="k8s", namespace="default", pod="web-1"}');
  const entries: LogEntry[] = lines.map((l, i) => ({ labels, line: l, timestampMs: i, timestampNanos: 0 }));
  const h = processHarness(STAGES, Date.now, false);
  const BATCH = 1000;
  const runProcess = (): number => {
    const t0 = cpuSeconds();
    let n = 0;
    for (let i = 0; i < entries.length; i += BATCH) n += h.c.processBatch(entries.slice(i, i + BATCH)).length;
    if (n !== entries.length) throw new Error(`processed ${n} of ${entries.length}`);
    return entries.length / (cpuSeconds() - t0);
  };
  const runParse = (): number => parseRate(lines, 1);
  const p: number[] = [];
  const f: number[] = [];
  for (let r = 0; r < 4; r++) {
    p.push(runProcess());
    f.push(runParse());
  }
  const best = (xs: number[]): number => Math.max(...xs.slice(1));
  console.log(`in-process, ${LINES} lines of ${avg.toFixed(0)} bytes (rates per CPU second of this thread):`);
  console.log(`  loki.process (json, labels, timestamp, output): ${(best(p) / 1e3).toFixed(0)}k lines/s`);
  console.log(`  bare JSON.parse of the same lines (floor):      ${(best(f) / 1e3).toFixed(0)}k lines/s`);
  console.log(`  ratio loki.process / JSON.parse: ${(best(p) / best(f)).toFixed(2)}x`);
}

function procStat(pid: number): { cpuSec: number; hwmMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return { cpuSec: ticks / 100, hwmMB: hwm / 1024 };
}

async function endToEnd(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-process-'));
  const sink = new LokiSink();
  await sink.start();
  try {
    const enc = new PushRequestEncoder();
    const payloads: Buffer[] = [];
    const plain: string[] = [];
    for (let r = 0; r < REQUESTS; r++) {
      const streams = Array.from({ length: 10 }, (_x, s) => {
        const labelStr = `{job="k8s", namespace="default", pod="web-${s}"}`;
        const labels = parseStreamLabels(labelStr);
        const entries = Array.from({ length: ENTRIES_PER_REQUEST / 10 }, (_y, i) => {
          const l = line(r * ENTRIES_PER_REQUEST + s * 100 + i);
          if (r === 0) plain.push(l);
          return { labels, line: l, timestampMs: Date.now(), timestampNanos: i };
        });
        return { labels: labelStr, entries };
      });
      payloads.push(Buffer.from(compress(enc.encode(streams))));
    }
    const port = await freePort();
    const alloy = await startAlloy(
      dir,
      'process',
      `loki.source.api "in" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${port}
  }
  forward_to = [loki.process.k8s.receiver]
}

loki.process "k8s" {
  forward_to = [loki.write.out.receiver]
  ${STAGES}
}

loki.write "out" {
  endpoint {
    url        = "${sink.url}"
    batch_wait = "100ms"
    batch_size = "4MiB"
  }
}
`,
      undefined,
      process.env['ALLOY_NODE_ARGS'] ? process.env['ALLOY_NODE_ARGS'].split(' ') : [],
    );
    const pid = alloy.proc.pid!;
    const drive = async (): Promise<{ lps: number; perCore: number }> => {
      const want = sink.entries.length + REQUESTS * ENTRIES_PER_REQUEST;
      const c0 = procStat(pid).cpuSec;
      const t0 = performance.now();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < payloads.length) {
          const body = payloads[next++]!;
          const res = await fetch(`http://127.0.0.1:${port}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
          await res.text();
          if (res.status !== 204) throw new Error(`push answered ${res.status}`);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      await until(`all entries at the sink (have ${sink.entries.length})`, () => sink.entries.length >= want, 120_000, 5);
      const secs = (performance.now() - t0) / 1000;
      const cpu = procStat(pid).cpuSec - c0;
      sink.entries.length = 0;
      const n = REQUESTS * ENTRIES_PER_REQUEST;
      return { lps: n / secs, perCore: n / cpu };
    };
    /** CPU seconds per thread: the main thread, and V8/libuv helper threads (GC, compiler) by name. */
    const threads = (): Map<string, number> => {
      const m = new Map<string, number>();
      for (const t of readdirSync(`/proc/${pid}/task`)) {
        const st = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
        const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        const key = t === String(pid) ? 'main' : name;
        m.set(key, (m.get(key) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
      }
      return m;
    };
    await drive(); // warm-up: JIT, buffers, sockets
    const th0 = threads();
    const runs: Array<{ lps: number; perCore: number }> = [];
    for (let r = 0; r < RUNS; r++) runs.push(await drive());
    const th1 = threads();
    const cpuBy = [...th1].map(([k, v]) => `${k} ${(v - (th0.get(k) ?? 0)).toFixed(2)} s`).join(', ');
    const sorted = [...runs].sort((a, b) => a.perCore - b.perCore);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const floor = parseRate(plain, 20);
    console.log(`end to end, ${REQUESTS} pushes x ${ENTRIES_PER_REQUEST} lines, concurrency ${CONCURRENCY}, median of ${RUNS} runs after a warm-up:`);
    console.log(`  loki.source.api → loki.process → loki.write: ${(median.lps / 1e3).toFixed(0)}k lines/s wall, ${(median.perCore / 1e3).toFixed(0)}k lines/s per core (collector CPU time; runs ${sorted.map((r) => (r.perCore / 1e3).toFixed(0)).join('/')}k)`);
    console.log(`  collector CPU by thread over the measured runs: ${cpuBy}`);
    console.log(`  bare JSON.parse of the same lines (floor):   ${(floor / 1e3).toFixed(0)}k lines/s per CPU second`);
    console.log(`  ratio per-core / JSON.parse: ${(median.perCore / floor).toFixed(2)}x; collector peak RSS ${procStat(pid).hwmMB.toFixed(0)} MB`);
  } finally {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

inProcess();
await endToEnd();
