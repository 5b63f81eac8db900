// Parity with a real Prometheus: the same exposition scraped by /usr/bin/prometheus and by our
// scrape loop (same job, target labels and honor_labels) must yield the same series label sets,
// including exported_ conflict handling, escapes, empty-value dropping and the report series.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import winston from 'winston';
import type { MetricsReceiver, SampleBatch } from '../../../prom/types.js';
import { labelsToRecord } from '../../../prom/labels/labels.js';
import { freePort } from '../../../prom/textparse/node-exporter.test-support.js';
import { ScrapeHttpClient } from './http-client.js';
import { ScrapeLoop } from './scrape-loop.js';
import { populateTarget } from './target.js';
import { acceptHeader, DEFAULT_SCRAPE_PROTOCOLS } from '../../../prom/textparse/textparse.js';

/** Values compared as text; the scrape duration differs between two scrapes by nature. */
function valueOf(name: string, v: string): string {
  return name === 'scrape_duration_seconds' ? '(duration)' : v;
}

/** Prometheus API sample value formatting (Go strconv.FormatFloat 'f', -1 and +Inf/-Inf/NaN). */
function formatPromValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isInteger(v) && Math.abs(v) < 1e21 ? v.toFixed(0) : String(v);
}
import { compileRules, processLabels, withDefaults, type RelabelConfig } from '../../../prom/relabel/relabel.js';

const PROMETHEUS = '/usr/bin/prometheus';

const EXPOSITION = [
  '# TYPE http_requests_total counter',
  'http_requests_total{code="200",job="exposed-job",instance="exposed-instance"} 10',
  'http_requests_total{code="500",exported_job="taken",job="x"} 1',
  'weird{path="C:\\\\dir\\\\f.txt",msg="say \\"hi\\"\\nbye",empty=""} 2',
  '# TYPE temp gauge',
  'temp{env="exposed-env"} 21.5',
  '# TYPE rpc summary',
  'rpc{quantile="0.5"} 1',
  'rpc_sum 3',
  'rpc_count 4',
].join('\n') + '\n';

// The same rules in Prometheus metric_relabel_configs YAML and as Alloy rule blocks.
const RULES: Partial<RelabelConfig>[] = [
  { source_labels: ['__name__'], regex: '(?i)HTTP_.*', target_label: 'kind', replacement: 'http' },
  { source_labels: ['code'], regex: '(5)(\\d\\d)', target_label: 'code_class', replacement: '${1}xx' },
  { source_labels: ['env', 'instance'], separator: '@', target_label: 'shard', modulus: 7, action: 'hashmod' },
  { regex: '(e.*)', replacement: 'copy_$1', action: 'labelmap' },
  { source_labels: ['msg'], target_label: 'msg_upper', action: 'uppercase' },
  { source_labels: ['__name__'], regex: 'rpc_(sum|count)', action: 'drop' },
  { regex: 'empty|exported_.*', action: 'labeldrop' },
  { source_labels: ['quantile'], regex: '0\\.[0-9]+', target_label: 'q', replacement: 'frac' },
];
const RELABEL_YAML = RULES.map((r) => '      - ' + JSON.stringify(r).replace(/"(\w+)":/g, '$1: ')).join('\n');

// OpenMetrics without explicit timestamps (Prometheus would reject old ones as out of bounds).
const OPENMETRICS = [
  '# TYPE om_requests counter',
  '# HELP om_requests Requests with "quotes" \\ and newline\\n.',
  'om_requests_total{path="/a\\"b"} 17.5 # {trace_id="abc"} 1.0',
  'om_requests_created{path="/a\\"b"} 1.6e9',
  '# TYPE om_latency_seconds histogram',
  '# UNIT om_latency_seconds seconds',
  'om_latency_seconds_bucket{le="0.1"} 3',
  'om_latency_seconds_bucket{le="+Inf"} 5 # {trace_id="x"} 0.5',
  'om_latency_seconds_sum 1.25',
  'om_latency_seconds_count 5',
  '# TYPE om_state stateset',
  'om_state{om_state="a"} 1',
  'om_state{om_state="b"} 0',
  '# TYPE om_build info',
  'om_build_info{version="1.2.3"} 1',
  '# TYPE om_temp gauge',
  'om_temp{job="exposed"} -Inf',
  '# EOF',
].join('\n') + '\n';

function key(rec: Record<string, string>): string {
  return JSON.stringify(Object.keys(rec).sort().map((k) => [k, rec[k]]));
}

/** Series per variant ('plain' = honor_labels false, 'honor' = true) from one Prometheus run. */
async function prometheusSeries(address: string): Promise<Record<string, string[]> | null> {
  if (!existsSync(PROMETHEUS)) {
    if (process.env['CI'] === 'true') throw new Error(`${PROMETHEUS} is required for the scrape parity test`);
    console.warn(`skipping parity test: ${PROMETHEUS} not found`);
    return null;
  }
  const dir = mkdtempSync('/tmp/scrape-parity-');
  const port = await freePort();
  writeFileSync(
    `${dir}/prometheus.yml`,
    `global: { scrape_interval: 1s, scrape_timeout: 500ms }
scrape_configs:
  - job_name: parity
    honor_labels: false
    static_configs:
      - targets: ['${address}']
        labels: { env: prod, variant: plain }
  - job_name: parity-honor
    honor_labels: true
    static_configs:
      - targets: ['${address}']
        labels: { env: prod, variant: honor }
  - job_name: parity-relabel
    static_configs:
      - targets: ['${address}']
        labels: { env: prod, variant: relabel }
    metric_relabel_configs:
${RELABEL_YAML}
  - job_name: parity-om
    metrics_path: /om
    static_configs:
      - targets: ['${address}']
        labels: { env: prod, variant: om }
`,
  );
  const child: ChildProcess = spawn(PROMETHEUS, [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'], { stdio: 'ignore' });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error('Prometheus did not ingest the parity target in time');
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('{variant=~"plain|honor|relabel|om"}')}`);
        const json = (await res.json()) as { data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> } };
        const result = json.data?.result ?? [];
        const has = (variant: string, name: string) => result.some((r) => r.metric['variant'] === variant && r.metric['__name__'] === name);
        if (has('plain', 'up') && has('plain', 'temp') && has('honor', 'up') && has('honor', 'temp') && has('relabel', 'up') && has('relabel', 'temp') && has('om', 'om_temp')) {
          // Values come from each series' first sample: our side scrapes once, and a second
          // Prometheus scrape changes scrape_series_added from the first scrape's count to 0.
          const first = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('{variant="om"}[1m]')}`);
          const firstJson = (await first.json()) as { data?: { result?: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
          const out: Record<string, string[]> = { plain: [], honor: [], relabel: [], om: [] };
          for (const r of result) if (r.metric['variant'] !== 'om') out[r.metric['variant']!]!.push(key(r.metric));
          for (const r of firstJson.data?.result ?? []) out['om']!.push(`${key(r.metric)} ${valueOf(r.metric['__name__']!, r.values[0]![1])}`);
          for (const v of Object.values(out)) v.sort();
          return out;
        }
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function ourSeries(address: string, honorLabels: boolean, variant = honorLabels ? 'honor' : 'plain'): Promise<string[]> {
  const jobName = variant === 'relabel' ? 'parity-relabel' : variant === 'om' ? 'parity-om' : honorLabels ? 'parity-honor' : 'parity';
  const rules = variant === 'relabel' ? compileRules(RULES.map(withDefaults)) : [];
  const t = populateTarget({ __address__: address, env: 'prod', variant }, { jobName, scheme: 'http', metricsPath: variant === 'om' ? '/om' : '/metrics', intervalMs: 1000, timeoutMs: 500, params: {} });
  if (!t.ok) throw new Error(t.error);
  const client = new ScrapeHttpClient({ follow_redirects: true });
  const batches: SampleBatch[] = [];
  const recv: MetricsReceiver = { append: async (b) => void batches.push(b) };
  const loop = new ScrapeLoop(
    t.target,
    {
      jobName, honorLabels, honorTimestamps: true, trackTimestampsStaleness: false, sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0,
      bodySizeLimit: 0, enableCompression: true, extraMetrics: false, accept: acceptHeader(DEFAULT_SCRAPE_PROTOCOLS), fallbackFormat: 'prometheus', userAgent: 'parity',
    },
    { client: () => client, receivers: () => [recv], logger: winston.createLogger({ silent: true }) },
  );
  await loop.scrapeOnce();
  client.close();
  const b = batches[0]!;
  const out: string[] = [];
  for (let i = 0; i < b.length; i++) {
    const ls = b.series[i]!;
    const name = ls.find((l) => l.name === '__name__')!.value;
    // Prometheus applies metric_relabel_configs to scraped series, not to the report series.
    const res = rules.length > 0 && name !== 'up' && !name.startsWith('scrape_') ? processLabels(ls, rules) : ls;
    if (res) out.push(variant === 'om' ? `${key(labelsToRecord(res))} ${valueOf(name, formatPromValue(b.values[i]!))}` : key(labelsToRecord(res)));
  }
  return out.sort();
}

describe('scrape parity with real Prometheus', () => {
  let server: http.Server;
  let address = '';
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      if (_req.url?.startsWith('/om')) {
        res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
        res.end(OPENMETRICS);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(EXPOSITION);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('honor_labels false/true, metric relabeling and OpenMetrics give the same series as Prometheus', async () => {
    const theirs = await prometheusSeries(address);
    if (!theirs) return;
    expect(theirs['plain']!.length).toBe(12); // 7 exposed + 5 report series
    expect(await ourSeries(address, false)).toEqual(theirs['plain']);
    expect(await ourSeries(address, true)).toEqual(theirs['honor']);
    const relabelled = await ourSeries(address, false, 'relabel');
    expect(relabelled.some((k) => k.includes('"shard"'))).toBe(true);
    expect(relabelled).toEqual(theirs['relabel']);
    const om = await ourSeries(address, false, 'om');
    expect(om.some((k) => k.includes('om_requests_created'))).toBe(true);
    expect(om).toEqual(theirs['om']);
  }, 30_000);
});
