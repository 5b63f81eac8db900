/**
 * The published ScrapeConfig CRD (714 KB of OpenAPI schema) on the test API server beside the real
 * kube-apiserver, in one run: server-side apply of the CRD (a new CRD each round, then a no-op
 * re-apply), and per ScrapeConfig object a create that passes the schema (defaulting, pruning,
 * validation of nine SD blocks) and a create that the schema refuses (14 causes). Medians of
 * `--rounds` (default 5) CRD applies and `--objects` (default 40) object creates, wall time per
 * request as the client sees it; the ratio is test ÷ real.
 *
 * The test API server runs in this process (as in the journeys); kube-apiserver is its own process
 * with etcd (`e2e/cluster/real/control-plane.ts`).
 *
 * Run: `npm run build:bench && node dist-bench/bench/crd-scrapeconfig.js [--rounds=5] [--objects=40]`
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startApiServer } from '../e2e/cluster/apiserver/index.js';
import { repoRoot } from '../e2e/cluster/harness/paths.js';
import { waitFor } from '../e2e/cluster/harness/wait.js';
import { realControlPlaneUnavailable, startRealControlPlane } from '../e2e/cluster/real/control-plane.js';
import { sendRaw, type Target } from '../e2e/real-apiserver/agreement.js';
import { median, spread } from './stats.js';

function flag(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
}

const ROUNDS = flag('rounds', 5);
const OBJECTS = flag('objects', 40);
const NS = 'bench';
const crd = parseYaml(fs.readFileSync(path.join(repoRoot(), 'crds/monitoring.coreos.com/scrapeconfigs.yaml'), 'utf8')) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };

/** The CRD under group `g` (a fresh CRD per round; `monitoring.coreos.com` for the one objects use). */
function crdIn(g: string): object {
  return { ...crd, metadata: { name: `scrapeconfigs.${g}` }, spec: { ...crd.spec, group: g } };
}

function valid(name: string): object {
  return {
    apiVersion: 'monitoring.coreos.com/v1alpha1',
    kind: 'ScrapeConfig',
    metadata: { name },
    spec: {
      bogus: true,
      scheme: 'HTTPS',
      scrapeInterval: '30s',
      staticConfigs: [{ targets: ['a:1', 'b:2'], labels: { env: 'prod' } }],
      httpSDConfigs: [{ url: 'http://sd:8080/targets', basicAuth: { username: { key: 'u' }, password: { name: 'c', key: 'p' } }, tlsConfig: { ca: { configMap: { key: 'ca.crt' } } } }],
      kubernetesSDConfigs: [{ role: 'Pod', selectors: [{ role: 'Pod', label: 'app=web' }], namespaces: { names: ['a', 'b'] } }],
      consulSDConfigs: [{ server: 'consul:8500', services: ['web', 'db'], tokenRef: { key: 't' } }],
      dnsSDConfigs: [{ names: ['_web._tcp.example.com'], type: 'SRV' }],
      fileSDConfigs: [{ files: ['/etc/sd/*.json'] }],
      dockerSDConfigs: [{ host: 'unix:///var/run/docker.sock', filters: [{ name: 'label', values: ['a=b'] }] }],
      ec2SDConfigs: [{ region: 'eu-west-1', port: 9100 }],
      eurekaSDConfigs: [{ server: 'http://eureka:8761/eureka' }],
      relabelings: [{ sourceLabels: ['__meta_x'], targetLabel: 'x' }],
      metricRelabelings: [{ action: 'drop', regex: 'go_.*', sourceLabels: ['__name__'] }],
    },
  };
}

function invalid(name: string): object {
  return {
    apiVersion: 'monitoring.coreos.com/v1alpha1',
    kind: 'ScrapeConfig',
    metadata: { name },
    spec: {
      scheme: 'gopher',
      jobName: '',
      scrapeInterval: '5x',
      httpSDConfigs: [{ url: 'sd:8080' }],
      kubernetesSDConfigs: [{ role: 'Pods' }],
      consulSDConfigs: [{ services: ['a', 'a'] }],
      dnsSDConfigs: [{ names: [], port: 70000 }],
      fileSDConfigs: [{ files: ['targets.txt'] }],
      staticConfigs: [{ targets: [] }],
      relabelings: [],
      metricRelabelings: [{ action: 'bogus' }],
      scrapeProtocols: ['PrometheusProto', 'PrometheusProto'],
    },
  };
}

async function timed(t: Target, method: string, p: string, body: unknown, contentType?: string): Promise<{ ms: number; code: number }> {
  const start = performance.now();
  const r = await sendRaw(t, method, p, body, contentType);
  return { ms: performance.now() - start, code: r.code };
}

interface Figures {
  readonly install: number[];
  readonly reapply: number[];
  readonly create: number[];
  readonly refuse: number[];
}

async function measure(label: string, t: Target): Promise<Figures> {
  const f: Figures = { install: [], reapply: [], create: [], refuse: [] };
  const apply = (g: string): Promise<{ ms: number; code: number }> => timed(t, 'PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scrapeconfigs.${g}?fieldManager=bench`, crdIn(g), 'application/apply-patch+yaml');
  for (let i = 0; i < ROUNDS; i++) {
    const g = `r${i}.bench.example.com`;
    const first = await apply(g);
    const again = await apply(g);
    if (first.code !== 201 || again.code !== 200) throw new Error(`${label}: apply of the CRD answered ${first.code} then ${again.code}`);
    f.install.push(first.ms);
    f.reapply.push(again.ms);
  }
  const main = await apply('monitoring.coreos.com');
  if (main.code !== 201) throw new Error(`${label}: apply of the ScrapeConfig CRD answered ${main.code}`);
  await sendRaw(t, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const base = `/apis/monitoring.coreos.com/v1alpha1/namespaces/${NS}/scrapeconfigs`;
  await waitFor(async () => ((await sendRaw(t, 'GET', base)).code === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 100, what: `${label} serves scrapeconfigs` });
  for (let i = 0; i < OBJECTS; i++) {
    const ok = await timed(t, 'POST', base, valid(`ok-${i}`));
    const bad = await timed(t, 'POST', base, invalid(`bad-${i}`));
    if (ok.code !== 201 || bad.code !== 422) throw new Error(`${label}: object creates answered ${ok.code} / ${bad.code}`);
    f.create.push(ok.ms);
    f.refuse.push(bad.ms);
  }
  return f;
}

async function main(): Promise<void> {
  const why = realControlPlaneUnavailable();
  if (why !== undefined) throw new Error(`the real control plane is needed as the peer: ${why}`);
  const cp = await startRealControlPlane();
  const fake = await startApiServer();
  try {
    const real = await measure('kube-apiserver', { url: cp.url, caPem: cp.caPem, token: cp.adminToken });
    const test = await measure('test API server', { url: fake.url });
    console.log(`ScrapeConfig CRD ${crd.spec['group'] as string}, ${ROUNDS} CRD rounds, ${OBJECTS} objects each way; ms per request, median (min–max)`);
    const rows: Array<[string, keyof Figures]> = [
      ['CRD server-side apply (create)', 'install'],
      ['CRD server-side apply (no-op)', 'reapply'],
      ['ScrapeConfig create (valid)', 'create'],
      ['ScrapeConfig create (refused)', 'refuse'],
    ];
    for (const [what, k] of rows) {
      console.log(`${what.padEnd(32)} test ${spread(test[k], 1).padEnd(24)} real ${spread(real[k], 1).padEnd(24)} ratio ${(median(test[k]) / median(real[k])).toFixed(2)}`);
    }
  } finally {
    await fake.close();
    await cp.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
