/**
 * Text exposition parse benchmark (no peer: absolute figures). Workload: a node_exporter-like
 * body of N series (default 20,000): counters and gauges with 1–4 labels, histograms with 12
 * buckets, summaries, HELP/TYPE lines. Measures samples per CPU-second for
 *   - cold parse: every series' labels parsed (first scrape of a target),
 *   - warm scrape path: raw series text looked up in a series cache, labels reused (steady state),
 *   - OpenMetrics body of the same series,
 *   - a full prometheus.scrape loop iteration over loopback HTTP with gzip (fetch, decompress,
 *     parse, series cache, target labels, report series, staleness tracking, batch building).
 *
 *   npm run build:bench && node dist-bench/bench/textparse.js [N]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import winston from 'winston';
import { ScrapeHttpClient } from '../collector/src/component/prometheus/scrape/http-client.js';
import { ScrapeLoop } from '../collector/src/component/prometheus/scrape/scrape-loop.js';
import { populateTarget } from '../collector/src/component/prometheus/scrape/target.js';
import type { Labels } from '../collector/src/prom/types.js';
import { TextParser, type ExpositionFormat } from '../collector/src/prom/textparse/textparse.js';

/**
 * CPU time (user + system) of this process in ms. Throughput is reported per CPU-second so the
 * figures stay comparable when the machine is busy with other work.
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export function generateExposition(n: number, format: ExpositionFormat = 'prometheus'): string {
  const lines: string[] = [];
  let count = 0;
  let fam = 0;
  while (count < n) {
    const kind = fam % 4;
    const name = `node_bench_family_${fam}`;
    if (kind === 0) {
      lines.push(`# HELP ${name}_total Counter family ${fam}.`, `# TYPE ${name}_total counter`);
      for (let cpu = 0; cpu < 16 && count < n; cpu++) {
        for (const mode of ['idle', 'user', 'system', 'iowait']) {
          lines.push(`${name}_total{cpu="${cpu}",mode="${mode}"} ${(cpu * 1000.5 + fam).toFixed(2)}`);
          count++;
        }
      }
    } else if (kind === 1) {
      lines.push(`# HELP ${name} Gauge family ${fam}.`, `# TYPE ${name} gauge`);
      for (let d = 0; d < 20 && count < n; d++) {
        lines.push(`${name}{device="sd${String.fromCharCode(97 + (d % 26))}${d}",fstype="ext4",mountpoint="/mnt/disk${d}"} ${1.5e9 + d * 12345}`);
        count++;
      }
    } else if (kind === 2) {
      lines.push(`# HELP ${name}_seconds Histogram family ${fam}.`, `# TYPE ${name}_seconds histogram`);
      for (let h = 0; h < 4 && count < n; h++) {
        let cum = 0;
        for (const le of ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']) {
          cum += h + 1;
          lines.push(`${name}_seconds_bucket{handler="/api/v${h}",le="${le}"} ${cum}`);
          count++;
        }
        lines.push(`${name}_seconds_sum{handler="/api/v${h}"} ${cum * 0.37}`, `${name}_seconds_count{handler="/api/v${h}"} ${cum}`);
        count += 2;
      }
    } else {
      lines.push(`# HELP ${name} Summary family ${fam}.`, `# TYPE ${name} summary`);
      for (const q of ['0', '0.25', '0.5', '0.75', '1']) {
        lines.push(`${name}{quantile="${q}"} ${Number(q) * 0.001}`);
        count++;
      }
      lines.push(`${name}_sum 12.5`, `${name}_count 1000`);
      count += 2;
    }
    fam++;
  }
  if (format === 'openmetrics') {
    return lines.map((l) => l.replace(/^# TYPE (\S+)_total counter$/, '# TYPE $1 counter')).join('\n') + '\n# EOF\n';
  }
  return lines.join('\n') + '\n';
}

function cold(body: string, format: ExpositionFormat): number {
  const p = new TextParser(body, format);
  let n = 0;
  for (let k = p.next(); k !== 'eof'; k = p.next()) {
    if (k !== 'series') continue;
    p.labels();
    n++;
  }
  return n;
}

function warm(body: string, cache: Map<string, Labels>): number {
  const p = new TextParser(body, 'prometheus');
  let n = 0;
  let sum = 0;
  for (let k = p.next(); k !== 'eof'; k = p.next()) {
    if (k !== 'series') continue;
    const key = p.seriesKey;
    let l = cache.get(key);
    if (l === undefined) {
      l = p.labels();
      cache.set(key, l);
    }
    sum += p.value;
    n++;
  }
  return sum === sum ? n : n;
}

export interface TextparseFigures {
  readonly series: number;
  readonly bodyBytes: number;
  readonly coldSamplesPerSec: number;
  readonly warmSamplesPerSec: number;
  readonly openMetricsColdSamplesPerSec: number;
  readonly scrapeLoopSamplesPerSec: number;
}

/** Samples/s of repeated `ScrapeLoop.scrapeOnce` against a loopback server serving `body` gzipped. */
export async function measureScrapeLoop(body: string, minMs: number): Promise<number> {
  const gz = gzipSync(body);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-encoding': 'gzip' });
    res.end(gz);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const t = populateTarget({ __address__: address }, { jobName: 'bench', scheme: 'http', metricsPath: '/metrics', intervalMs: 60_000, timeoutMs: 10_000, params: {} });
  if (!t.ok) throw new Error(t.error);
  const client = new ScrapeHttpClient({ follow_redirects: true });
  let appended = 0;
  const loop = new ScrapeLoop(
    t.target,
    {
      jobName: 'bench', honorLabels: false, honorTimestamps: true, trackTimestampsStaleness: false, sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0,
      labelValueLengthLimit: 0, bodySizeLimit: 0, enableCompression: true, extraMetrics: false, accept: 'text/plain;version=0.0.4', fallbackFormat: 'prometheus', userAgent: 'bench',
    },
    { client: () => client, receivers: () => [{ append: async (b) => void (appended += b.length) }], logger: winston.createLogger({ silent: true }) },
  );
  try {
    await loop.scrapeOnce();
    appended = 0;
    const start = cpuMs();
    let elapsed = 0;
    do {
      await loop.scrapeOnce();
      elapsed = cpuMs() - start;
    } while (elapsed < minMs);
    if (loop.status().health !== 'up') throw new Error(`bench scrape failed: ${loop.status().last_error}`);
    return appended / (elapsed / 1000);
  } finally {
    client.close();
    server.close();
  }
}

function measure(fn: () => number, minMs: number): number {
  fn(); // warm-up (JIT)
  let samples = 0;
  const start = cpuMs();
  let elapsed = 0;
  do {
    samples += fn();
    elapsed = cpuMs() - start;
  } while (elapsed < minMs);
  return samples / (elapsed / 1000);
}

export async function runTextparseBench(n = 20_000, minMs = 1500): Promise<TextparseFigures> {
  const body = generateExposition(n);
  const om = generateExposition(n, 'openmetrics');
  const cache = new Map<string, Labels>();
  return {
    series: cold(body, 'prometheus'),
    bodyBytes: Buffer.byteLength(body),
    coldSamplesPerSec: measure(() => cold(body, 'prometheus'), minMs),
    warmSamplesPerSec: measure(() => warm(body, cache), minMs),
    openMetricsColdSamplesPerSec: measure(() => cold(om, 'openmetrics'), minMs),
    scrapeLoopSamplesPerSec: await measureScrapeLoop(body, minMs),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 20_000);
  const f = await runTextparseBench(n);
  const fmt = (x: number) => `${(x / 1e6).toFixed(2)} M samples/CPU-s`;
  console.log(`textparse: ${f.series} series, ${(f.bodyBytes / 1024).toFixed(0)} KiB body`);
  console.log(`  cold parse (labels for every series):     ${fmt(f.coldSamplesPerSec)}`);
  console.log(`  warm scrape path (series cache hits):     ${fmt(f.warmSamplesPerSec)}  (${(f.warmSamplesPerSec / f.coldSamplesPerSec).toFixed(2)}x cold)`);
  console.log(`  OpenMetrics cold parse:                   ${fmt(f.openMetricsColdSamplesPerSec)}`);
  console.log(`  full scrape loop (HTTP+gzip, warm cache): ${fmt(f.scrapeLoopSamplesPerSec)}  (${((f.series / f.scrapeLoopSamplesPerSec) * 1000).toFixed(1)} CPU-ms per ${f.series}-series scrape)`);
}
