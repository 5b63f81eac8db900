/**
 * Syntax benchmark: parse + evaluate (and format) a generated Alloy config of N blocks
 * (default 1000): components with nested blocks, arrays of objects, references and stdlib calls.
 * Peers measured in the same run on the same data: the `yaml` package parsing an equivalent YAML
 * document (a pure-JS parser of a comparable language) and the native `JSON.parse` on its JSON
 * form. Prints median times and ratios (ours / peer).
 *
 *   npm run build:bench && node dist-bench/bench/syntax-parse.js [N]
 */
import { fileURLToPath } from 'node:url';
import { parse as parseYAML, stringify as toYAML } from 'yaml';
import { evaluate, format, parseFile, stdlibScope, type ast, type Value } from '../collector/src/syntax/index.js';

interface Generated {
  alloy: string;
  data: unknown[];
}

export function generateConfig(n: number): Generated {
  const parts: string[] = [];
  const data: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 3;
    if (kind === 0) {
      parts.push(`prometheus.scrape "job_${i}" {
  targets = [
    {"__address__" = "host-${i}:9100", "job" = "node"},
    {"__address__" = "host-${i}:9101", "job" = string.format("%s-%d", "svc", ${i})},
  ]
  forward_to      = [prometheus.remote_write.default.receiver]
  scrape_interval = "15s"
  scrape_timeout  = "10s"
  honor_labels    = ${i % 2 === 0}
  sample_limit    = ${i * 10} + 5
  // comment ${i}
  basic_auth {
    username = "user_${i}"
    password = sys.env("PASSWORD_${i}")
  }
}`);
      data.push({ kind: 'prometheus.scrape', label: `job_${i}`, targets: [{ __address__: `host-${i}:9100`, job: 'node' }, { __address__: `host-${i}:9101`, job: `svc-${i}` }], forward_to: ['receiver'], scrape_interval: '15s', scrape_timeout: '10s', honor_labels: i % 2 === 0, sample_limit: i * 10 + 5, basic_auth: { username: `user_${i}`, password: `PASSWORD_${i}` } });
    } else if (kind === 1) {
      parts.push(`discovery.relabel "r_${i}" {
  targets = concat(discovery.kubernetes.pods.targets, [{"a" = "b"}])
  rule {
    source_labels = ["__meta_kubernetes_pod_label_app", "__meta_kubernetes_namespace"]
    separator     = ";"
    regex         = "(.+);(.+)"
    target_label  = "app"
    replacement   = "$1"
    action        = "replace"
  }
  rule {
    action = "keep"
    regex  = "prod-${i}|staging"
  }
}`);
      data.push({ kind: 'discovery.relabel', label: `r_${i}`, targets: 'concat', rule: [{ source_labels: ['__meta_kubernetes_pod_label_app', '__meta_kubernetes_namespace'], separator: ';', regex: '(.+);(.+)', target_label: 'app', replacement: '$1', action: 'replace' }, { action: 'keep', regex: `prod-${i}|staging` }] });
    } else {
      parts.push(`prometheus.remote_write "rw_${i}" {
  endpoint {
    url     = "https://mimir-${i}.example.com/api/v1/push"
    headers = {
      "X-Scope-OrgID" = "tenant-${i}",
    }
    queue_config {
      capacity   = 10000
      max_shards = 50
    }
  }
  external_labels = {cluster = "c${i}", replica = coalesce(sys.env("REPLICA"), "r0")}
}`);
      data.push({ kind: 'prometheus.remote_write', label: `rw_${i}`, endpoint: [{ url: `https://mimir-${i}.example.com/api/v1/push`, headers: { 'X-Scope-OrgID': `tenant-${i}` }, queue_config: { capacity: 10000, max_shards: 50 } }], external_labels: { cluster: `c${i}`, replica: 'r0' } });
    }
  }
  return { alloy: parts.join('\n\n') + '\n', data };
}

function evalBody(body: ast.Body, scope: ReturnType<typeof stdlibScope>, out: Value[]): void {
  for (const s of body) {
    if (s.kind === 'Attribute') out.push(evaluate(s.value, scope));
    else evalBody(s.body, scope, out);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(iterations: number, fn: () => void): number {
  fn(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

export function run(n: number, iterations = 15): Record<string, number> {
  const { alloy, data } = generateConfig(n);
  const yamlText = toYAML(data);
  const jsonText = JSON.stringify(data);
  const scope = stdlibScope().child({
    prometheus: { remote_write: { default: { receiver: { kind: 'receiver' } } } },
    discovery: { kubernetes: { pods: { targets: [{ __address__: '10.0.0.1:80' }] } } },
  });

  let check = 0;
  const parseMs = time(iterations, () => {
    const r = parseFile('bench.alloy', alloy);
    if (r.diags.length > 0) throw new Error(`generated config does not parse: ${r.diags[0]!.message}`);
    check += r.file.body.length;
  });
  const parseEvalMs = time(iterations, () => {
    const r = parseFile('bench.alloy', alloy);
    const values: Value[] = [];
    evalBody(r.file.body, scope, values);
    check += values.length;
  });
  const formatMs = time(iterations, () => {
    const r = format(alloy);
    check += r.text?.length ?? 0;
  });
  const yamlMs = time(iterations, () => {
    check += (parseYAML(yamlText) as unknown[]).length;
  });
  const jsonMs = time(iterations, () => {
    check += (JSON.parse(jsonText) as unknown[]).length;
  });
  if (check === 0) throw new Error('benchmark did no work');
  return { blocks: n, bytes: alloy.length, parseMs, parseEvalMs, formatMs, yamlMs, jsonMs };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 1000);
  const r = run(n);
  const f = (x: number): string => x.toFixed(2);
  console.log(`config: ${r.blocks} blocks, ${(r.bytes! / 1024).toFixed(0)} KiB of Alloy`);
  console.log(`alloy parse:             ${f(r.parseMs!)} ms`);
  console.log(`alloy parse + evaluate:  ${f(r.parseEvalMs!)} ms`);
  console.log(`alloy format:            ${f(r.formatMs!)} ms  -> format / yaml.parse = ${(r.formatMs! / r.yamlMs!).toFixed(2)}x`);
  console.log(`peer yaml.parse (same data as YAML): ${f(r.yamlMs!)} ms  -> parse+eval / yaml = ${(r.parseEvalMs! / r.yamlMs!).toFixed(2)}x`);
  console.log(`peer JSON.parse (native, as JSON):   ${f(r.jsonMs!)} ms  -> parse+eval / JSON = ${(r.parseEvalMs! / r.jsonMs!).toFixed(2)}x`);
}
