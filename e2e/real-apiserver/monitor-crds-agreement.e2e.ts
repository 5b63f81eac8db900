/**
 * The Prometheus Operator's published CRDs (`crds/monitoring.coreos.com/`) installed on both the
 * real kube-apiserver and the test API server, and the same ServiceMonitor / PodMonitor / Probe /
 * ScrapeConfig objects sent to each: the test server must store what the real one stores
 * (structural-schema defaulting such as `action: replace`, `name: ""` and `path: /probe`; pruning
 * of unknown fields; int-or-string values) and refuse what the real one refuses with the same
 * status, reason and causes (required fields, enums, patterns, bounds, list-type map/set
 * duplicates). Both also refuse the 714 KB ScrapeConfig CRD carrying a client-side-apply
 * `last-applied-configuration` copy of itself (the 256 KiB annotation limit), which is why it is
 * installed with `kubectl apply --server-side`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startApiServer, type RunningApiServer } from '../cluster/apiserver/index.js';
import { repoRoot } from '../cluster/harness/paths.js';
import { waitFor } from '../cluster/harness/wait.js';
import { realControlPlaneUnavailable, startRealControlPlane, type RealControlPlane } from '../cluster/real/control-plane.js';
import { send, sendRaw, type Answer, type Target } from './agreement.js';

const skip = realControlPlaneUnavailable() !== undefined;
const NS = 'mon';
const CRDS = ['servicemonitors', 'podmonitors', 'probes', 'scrapeconfigs'] as const;
const VERSION: Record<(typeof CRDS)[number], string> = { servicemonitors: 'v1', podmonitors: 'v1', probes: 'v1', scrapeconfigs: 'v1alpha1' };

function readCrd(file: string): Record<string, unknown> {
  return parseYaml(fs.readFileSync(path.join(repoRoot(), 'crds/monitoring.coreos.com', `${file}.yaml`), 'utf8')) as Record<string, unknown>;
}

/** What a refusal is compared on: code, reason, and the causes as a sorted set (servers may order them differently). */
function refusal(a: Answer): object {
  return { code: a.code, reason: a.reason, causes: [...(a.causes ?? [])].map((c) => `${c.field ?? ''}|${c.reason ?? ''}|${c.message ?? ''}`).sort() };
}

(skip ? describe.skip : describe)('published monitoring.coreos.com CRDs: the test API server agrees with kube-apiserver', () => {
  let cp!: RealControlPlane;
  let fake!: RunningApiServer;
  let real!: Target;
  let test!: Target;
  const both = async (method: string, p: string, body?: unknown): Promise<[Answer, Answer]> => [await send(real, method, p, body), await send(test, method, p, body)];

  beforeAll(async () => {
    cp = await startRealControlPlane();
    fake = await startApiServer();
    real = { url: cp.url, caPem: cp.caPem, token: cp.adminToken };
    test = { url: fake.url };
    for (const t of [real, test]) {
      for (const f of CRDS) {
        const r = await send(t, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', readCrd(f));
        expect([t.url, f, r.code, r.message]).toEqual([t.url, f, 201, undefined]);
      }
      await send(t, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    }
    // Established: the resources are served on both.
    for (const t of [real, test]) {
      for (const f of CRDS) {
        await waitFor(async () => ((await sendRaw(t, 'GET', `/apis/monitoring.coreos.com/${VERSION[f]}/namespaces/${NS}/${f}`)).code === 200 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100, what: `${f} served by ${t.url}` });
      }
    }
  }, 120_000);

  afterAll(async () => {
    await fake?.close();
    await cp?.stop();
  }, 60_000);

  const stored = async (t: Target, plural: (typeof CRDS)[number], body: Record<string, unknown>): Promise<unknown> => {
    const r = await sendRaw(t, 'POST', `/apis/monitoring.coreos.com/${VERSION[plural]}/namespaces/${NS}/${plural}`, body);
    expect([t.url, r.code]).toEqual([t.url, 201]);
    return r.parsed['spec'];
  };

  it('stores the same spec: defaults applied, unknown fields pruned, int-or-string kept', async () => {
    const cases: Array<[(typeof CRDS)[number], Record<string, unknown>]> = [
      [
        'servicemonitors',
        {
          apiVersion: 'monitoring.coreos.com/v1',
          kind: 'ServiceMonitor',
          metadata: { name: 'defaults' },
          spec: {
            selector: { matchLabels: { app: 'web' } },
            bogus: 1,
            endpoints: [
              {
                port: 'metrics',
                targetPort: 8080,
                extra: { nested: true },
                basicAuth: { username: { key: 'u' }, password: { name: 's', key: 'p' } },
                metricRelabelings: [{ sourceLabels: ['__name__'], regex: 'go_.*' }],
                relabelings: [{ targetLabel: 'x', replacement: 'y', unknown: 'z' }],
                params: { module: ['a', 'b'] },
              },
              { targetPort: 'web', tlsConfig: { ca: { configMap: { key: 'ca.crt' } }, insecureSkipVerify: true } },
            ],
            namespaceSelector: { any: true },
          },
        },
      ],
      [
        'podmonitors',
        {
          apiVersion: 'monitoring.coreos.com/v1',
          kind: 'PodMonitor',
          metadata: { name: 'defaults' },
          spec: { selector: {}, podMetricsEndpoints: [{ portNumber: 9100, bearerTokenSecret: { key: 't' }, relabelings: [{ action: 'labelmap', regex: 'a_(.+)' }] }], nativeHistogramMinBucketFactor: '1.1', scrapeProtocols: ['PrometheusText0.0.4'] },
        },
      ],
      [
        'probes',
        {
          apiVersion: 'monitoring.coreos.com/v1',
          kind: 'Probe',
          metadata: { name: 'defaults' },
          spec: { prober: { url: 'blackbox:9115' }, params: [{ name: 'target', values: ['a'] }], targets: { staticConfig: { static: ['https://example.com'], relabelingConfigs: [{ targetLabel: 'env', replacement: 'prod' }] } } },
        },
      ],
      [
        'scrapeconfigs',
        {
          apiVersion: 'monitoring.coreos.com/v1alpha1',
          kind: 'ScrapeConfig',
          metadata: { name: 'defaults' },
          spec: {
            bogus: true,
            jobName: 'sd',
            scheme: 'HTTPS',
            scrapeInterval: '30s',
            params: { module: ['http_2xx'] },
            nativeHistogramMinBucketFactor: 1,
            staticConfigs: [{ targets: ['a:1', 'b:2'], labels: { env: 'prod' }, extra: 1 }],
            httpSDConfigs: [{ url: 'http://sd:8080/targets', refreshInterval: '1m', basicAuth: { username: { key: 'u' }, password: { name: 'c', key: 'p' } }, tlsConfig: { ca: { configMap: { key: 'ca.crt' } }, unknown: 'x' } }],
            kubernetesSDConfigs: [{ role: 'Pod', selectors: [{ role: 'Pod', label: 'app=web' }, { role: 'Node', field: 'metadata.name=n1' }], namespaces: { names: ['a', 'b'] }, attachMetadata: { node: true } }],
            consulSDConfigs: [{ server: 'consul:8500', services: ['web', 'db'], tokenRef: { key: 't' }, oauth2: { clientId: { secret: { key: 'id' } }, clientSecret: { key: 's' }, tokenUrl: 'http://t/' } }],
            dnsSDConfigs: [{ names: ['_web._tcp.example.com'], type: 'SRV' }],
            fileSDConfigs: [{ files: ['/etc/sd/*.json'] }],
            dockerSDConfigs: [{ host: 'unix:///var/run/docker.sock', filters: [{ name: 'label', values: ['a=b'] }] }],
            ec2SDConfigs: [{ region: 'eu-west-1', port: 9100, filters: [{ name: 'tag:env', values: ['prod'] }] }],
            relabelings: [{ sourceLabels: ['__meta_x'], targetLabel: 'x' }],
            metricRelabelings: [{ action: 'drop', regex: 'go_.*', sourceLabels: ['__name__'] }],
            scrapeProtocols: ['PrometheusProto', 'OpenMetricsText1.0.0'],
          },
        },
      ],
    ];
    for (const [plural, body] of cases) {
      const r = await stored(real, plural, body);
      const t = await stored(test, plural, body);
      expect({ plural, spec: t }).toEqual({ plural, spec: r });
    }
  }, 60_000);

  it('refuses the same objects with the same status, reason and causes', async () => {
    const sm = (name: string, spec: Record<string, unknown>): Record<string, unknown> => ({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name }, spec });
    const pm = (name: string, spec: Record<string, unknown>): Record<string, unknown> => ({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name }, spec });
    const prb = (name: string, spec: Record<string, unknown>): Record<string, unknown> => ({ apiVersion: 'monitoring.coreos.com/v1', kind: 'Probe', metadata: { name }, spec });
    const scfg = (name: string, spec: Record<string, unknown>): Record<string, unknown> => ({ apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'ScrapeConfig', metadata: { name }, spec });
    const cases: Array<[(typeof CRDS)[number], Record<string, unknown>]> = [
      ['servicemonitors', sm('no-endpoints', { selector: {} })],
      ['servicemonitors', sm('no-spec', {})],
      ['servicemonitors', sm('bad-interval', { selector: {}, endpoints: [{ port: 'm', interval: '5x' }] })],
      ['servicemonitors', sm('bad-action', { selector: {}, endpoints: [{ port: 'm', relabelings: [{ action: 'bogus' }] }] })],
      ['servicemonitors', sm('bad-scheme', { selector: {}, endpoints: [{ port: 'm', scheme: 'gopher' }] })],
      ['servicemonitors', sm('bad-types', { selector: {}, endpoints: [{ port: 8080 }], sampleLimit: 'lots' })],
      ['servicemonitors', sm('dup-protocols', { selector: {}, endpoints: [{ port: 'm' }], scrapeProtocols: ['PrometheusProto', 'PrometheusProto'] })],
      ['servicemonitors', sm('bad-oauth2', { selector: {}, endpoints: [{ port: 'm', oauth2: { clientId: {}, clientSecret: { key: 'k' }, tokenUrl: '' } }] })],
      ['servicemonitors', sm('bad-selector', { selector: { matchExpressions: [{ key: 'a' }] }, endpoints: [{ port: 'm' }] })],
      ['servicemonitors', sm('bad-body-limit', { selector: {}, endpoints: [{ port: 'm' }], bodySizeLimit: '10Q', scrapeClass: '' })],
      ['podmonitors', pm('bad-port-number', { selector: {}, podMetricsEndpoints: [{ portNumber: 70000 }] })],
      ['podmonitors', pm('bad-secret-ref', { selector: {}, podMetricsEndpoints: [{ port: 'm', basicAuth: { username: { name: 'x' } } }] })],
      ['podmonitors', pm('bad-factor', { selector: {}, nativeHistogramMinBucketFactor: 'abc' })],
      ['probes', prb('no-url', { prober: {} })],
      ['probes', prb('empty-url', { prober: { url: '' } })],
      ['probes', prb('dup-params', { prober: { url: 'b:1' }, params: [{ name: 'a', values: ['1'] }, { name: 'a', values: ['2'] }] })],
      ['probes', prb('empty-params', { prober: { url: 'b:1' }, params: [] })],
      ['probes', prb('param-no-values', { prober: { url: 'b:1' }, params: [{ name: 'a', values: [] }] })],
      ['scrapeconfigs', scfg('bad-scheme', { scheme: 'gopher' })],
      ['scrapeconfigs', scfg('bad-http-sd-url', { httpSDConfigs: [{ url: 'sd:8080' }, {}] })],
      ['scrapeconfigs', scfg('bad-job-name', { jobName: '', scrapeInterval: '5x', sampleLimit: 'lots' })],
      ['scrapeconfigs', scfg('bad-relabel', { relabelings: [], metricRelabelings: [{ action: 'bogus' }] })],
      ['scrapeconfigs', scfg('bad-k8s-role', { kubernetesSDConfigs: [{ role: 'Pods' }, { role: 'Pod', selectors: [{ role: 'Pod' }, { role: 'Pod', label: 'a' }] }] })],
      ['scrapeconfigs', scfg('bad-consul', { consulSDConfigs: [{ services: ['a', 'a'], port: 1 }, { server: '' }] })],
      ['scrapeconfigs', scfg('bad-dns', { dnsSDConfigs: [{ names: [] }, { names: ['x'], type: 'TXT', port: 70000 }] })],
      ['scrapeconfigs', scfg('bad-file-sd', { fileSDConfigs: [{ files: ['targets.txt'] }, {}] })],
      ['scrapeconfigs', scfg('bad-static', { staticConfigs: [{ targets: [] }, { labels: { a: 1 } }] })],
      ['scrapeconfigs', scfg('bad-openstack', { openstackSDConfigs: [{ role: 'Instance', region: 'r', identityEndpoint: 'keystone:5000' }, { role: 'Server' }] })],
      ['scrapeconfigs', scfg('bad-eureka-docker', { eurekaSDConfigs: [{ server: 'eureka' }], dockerSDConfigs: [{ host: 'h', filters: [{ name: 'a', values: ['1'] }, { name: 'a', values: ['2'] }] }] })],
      ['scrapeconfigs', scfg('bad-factor-protocols', { nativeHistogramMinBucketFactor: 'abc', scrapeProtocols: ['PrometheusProto', 'PrometheusProto'], fallbackScrapeProtocol: 'Text' })],
      ['scrapeconfigs', scfg('bad-oauth2-tls', { oauth2: { clientId: {}, tokenUrl: '' }, tlsConfig: { minVersion: 'TLS9', keySecret: {} } })],
      ['scrapeconfigs', scfg('bad-azure-ec2', { azureSDConfigs: [{ authenticationMethod: 'Password' }], ec2SDConfigs: [{ region: '', filters: [{ name: 'x' }] }] })],
    ];
    const disagreements: string[] = [];
    for (const [plural, body] of cases) {
      const [r, t] = await both('POST', `/apis/monitoring.coreos.com/${VERSION[plural]}/namespaces/${NS}/${plural}`, body);
      const name = (body['metadata'] as { name: string }).name;
      expect({ name, refused: r.code >= 400 }).toEqual({ name, refused: true });
      if (JSON.stringify(refusal(t)) !== JSON.stringify(refusal(r))) disagreements.push(`${plural}/${name}:\n  real: ${JSON.stringify(refusal(r))}\n  test: ${JSON.stringify(refusal(t))}`);
    }
    expect(disagreements).toEqual([]);
  }, 60_000);

  it('both refuse the ScrapeConfig CRD with a client-side-apply copy of itself in its annotations', async () => {
    // What `kubectl apply` (client-side) sends: the object plus its own JSON in
    // kubectl.kubernetes.io/last-applied-configuration. A copy under another group, so the
    // installed CRD is not in the way.
    const crd = readCrd('scrapeconfigs') as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    const copy = { ...crd, metadata: { name: 'scrapeconfigs.copy.example.com' }, spec: { ...crd.spec, group: 'copy.example.com' } };
    const withLastApplied = { ...copy, metadata: { ...copy.metadata, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(copy) } } };
    const [r, t] = await both('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', withLastApplied);
    expect(r.code).toBe(422);
    expect(refusal(t)).toEqual(refusal(r));
    expect(t.message).toBe(r.message);
  }, 60_000);
});
