/**
 * ScrapeConfig job generation: the cases of Alloy's config_gen_scrapeconfig_test.go (`default`,
 * `scrape protocols`, `lowercase schema`, `http service discovery`; component `rule`
 * `{target_label = "__meta_foo", replacement = "bar"}`, defaults 1h / 42s), plus our own cases
 * for relabeling order, credentials from Secrets, per-entry errors and unsupported discovery lists.
 */
import type { RelabelConfig } from '../../../prom/relabel/relabel.js';
import { generatorOptions, rc } from './configgen.test-support.js';
import type { GeneratorOptions } from './configgen.js';
import { httpScrapeConfigJob, kubernetesScrapeConfigJob, scrapeConfigJobs, staticScrapeConfigJob, unsupportedDiscoveries, type ScrapeConfig } from './configgen-scrapeconfig.js';

type R = Partial<RelabelConfig>;

const options = (extra: Partial<GeneratorOptions> = {}): GeneratorOptions => generatorOptions({ intervalMs: 3_600_000, timeoutMs: 42_000 }, extra);

const meta = { namespace: 'operator', name: 'scrapeconfig' };
const head: R[] = [
  { target_label: '__meta_foo', replacement: 'bar' },
  { source_labels: ['job'], target_label: '__tmp_prometheus_job_name' },
  { replacement: 'operator', target_label: '__meta_kubernetes_scrapeconfig_namespace' },
  { replacement: 'scrapeconfig', target_label: '__meta_kubernetes_scrapeconfig_name' },
];
const instance: R = { source_labels: ['__address__'], target_label: 'instance' };

describe('ScrapeConfig static jobs (upstream configgen expectations)', () => {
  it('default', async () => {
    const job = await staticScrapeConfigJob({ metadata: meta }, { targets: ['foo', 'bar'], labels: { foo: 'bar' } }, 1, options());
    expect(job.jobName).toBe('scrapeConfig/operator/scrapeconfig/static/1');
    expect(job.relabelConfigs).toEqual([...head, instance].map(rc));
    expect(job.metricRelabelConfigs).toEqual([]);
    expect(job.discovery).toEqual({ kind: 'static', targets: [{ foo: 'bar', __address__: 'foo' }, { foo: 'bar', __address__: 'bar' }] });
    expect(job).toMatchObject({ intervalMs: 3_600_000, timeoutMs: 42_000, metricsPath: '/metrics', scheme: 'http', honorLabels: false, honorTimestamps: true, scrapeProtocols: undefined, sampleLimit: 0, targetLimit: 0 });
    expect(job.http).toEqual({ follow_redirects: true });
  });

  it('scrape protocols', async () => {
    const job = await staticScrapeConfigJob({ metadata: meta, spec: { scrapeProtocols: ['PrometheusProto', 'OpenMetricsText1.0.0'] } }, { targets: ['foo', 'bar'], labels: { foo: 'bar' } }, 1, options());
    expect(job.scrapeProtocols).toEqual(['PrometheusProto', 'OpenMetricsText1.0.0']);
    expect(job.relabelConfigs).toEqual([...head, instance].map(rc));
  });

  it('lowercase schema', async () => {
    const job = await staticScrapeConfigJob({ metadata: meta, spec: { scheme: 'HTTPS' } }, { targets: ['foo', 'bar'] }, 1, options());
    expect(job.scheme).toBe('https');
    expect(job.discovery).toEqual({ kind: 'static', targets: [{ __address__: 'foo' }, { __address__: 'bar' }] });
  });

  it('puts the resource relabelings after the scrapeconfig labels and before instance; metricRelabelings and settings from the spec', async () => {
    const m: ScrapeConfig = {
      metadata: meta,
      spec: {
        relabelings: [{ sourceLabels: ['__address__'], regex: '(.*):.*', targetLabel: 'host' }, { action: 'LabelDrop', regex: 'tmp_.*' }],
        metricRelabelings: [{ sourceLabels: ['__name__'], regex: 'go_.*', action: 'drop' }],
        metricsPath: '/m',
        scrapeInterval: '30s',
        scrapeTimeout: '5s',
        honorLabels: true,
        honorTimestamps: false,
        params: { module: ['x'] },
        sampleLimit: 10,
        targetLimit: 2,
        labelLimit: 3,
        labelNameLengthLimit: 4,
        labelValueLengthLimit: 5,
      },
    };
    const job = await staticScrapeConfigJob(m, { targets: ['a:1'] }, 0, options({ rules: [] }));
    expect(job.relabelConfigs).toEqual([...head.slice(1), { source_labels: ['__address__'], regex: '(.*):.*', target_label: 'host' }, { action: 'labeldrop' as const, regex: 'tmp_.*' }, instance].map(rc));
    expect(job.metricRelabelConfigs).toEqual([rc({ source_labels: ['__name__'], regex: 'go_.*', action: 'drop' })]);
    expect(job).toMatchObject({ metricsPath: '/m', intervalMs: 30_000, timeoutMs: 5_000, honorLabels: true, honorTimestamps: false, params: { module: ['x'] }, sampleLimit: 10, targetLimit: 2, labelLimit: 3, labelNameLengthLimit: 4, labelValueLengthLimit: 5 });
  });

  it('reads basic auth, authorization and TLS material from Secrets and ConfigMaps in the resource namespace', async () => {
    const job = await staticScrapeConfigJob(
      { metadata: meta, spec: { basicAuth: { username: { name: 'creds', key: 'user' }, password: { name: 'creds', key: 'pass' } }, tlsConfig: { ca: { configMap: { name: 'ca', key: 'ca.crt' } }, serverName: 'svc' } } },
      { targets: ['a:1'] },
      0,
      options(),
    );
    expect(job.http.basic_auth?.username).toBe('alice');
    expect(job.http.basic_auth?.password?.reveal()).toBe('s3cret');
    expect(job.http.tls_config).toMatchObject({ ca: 'CA PEM', server_name: 'svc', insecure_skip_verify: false });
    const authz = await staticScrapeConfigJob({ metadata: meta, spec: { authorization: { credentials: { name: 'creds', key: 'token' } } } }, { targets: ['a:1'] }, 0, options());
    expect(authz.http.authorization?.type).toBe('Bearer');
    expect(authz.http.authorization?.credentials?.reveal()).toBe('tok');
  });
});

describe('ScrapeConfig HTTP SD jobs (upstream configgen expectations)', () => {
  it('http service discovery', async () => {
    const m: ScrapeConfig = { metadata: { namespace: 'test-namespace', name: 'test-scrapeconfig' }, spec: { metricsPath: '/metrics', scrapeInterval: '60s' } };
    const job = await httpScrapeConfigJob(m, { url: 'http://example-service.test-namespace:8080/sd', refreshInterval: '15s' }, 0, options());
    expect(job.jobName).toBe('scrapeConfig/test-namespace/test-scrapeconfig/http/0');
    expect(job.metricsPath).toBe('/metrics');
    expect(job.intervalMs).toBe(60_000);
    expect(job.timeoutMs).toBe(42_000);
    expect(job.discovery).toEqual({ kind: 'http', url: 'http://example-service.test-namespace:8080/sd', refreshIntervalMs: 15_000, http: { follow_redirects: true } });
    // No instance rule for HTTP SD jobs: Prometheus fills `instance` from `__address__`.
    expect(job.relabelConfigs).toEqual([
      rc({ target_label: '__meta_foo', replacement: 'bar' }),
      rc({ source_labels: ['job'], target_label: '__tmp_prometheus_job_name' }),
      rc({ replacement: 'test-namespace', target_label: '__meta_kubernetes_scrapeconfig_namespace' }),
      rc({ replacement: 'test-scrapeconfig', target_label: '__meta_kubernetes_scrapeconfig_name' }),
    ]);
  });

  it('defaults the refresh interval to 30s and takes the entry own credentials', async () => {
    const job = await httpScrapeConfigJob({ metadata: meta }, { url: 'https://sd.example/targets', basicAuth: { username: { name: 'creds', key: 'user' }, password: { name: 'creds', key: 'pass' } } }, 2, options());
    expect(job.discovery.kind === 'http' && job.discovery.refreshIntervalMs).toBe(30_000);
    expect(job.discovery.kind === 'http' && job.discovery.http.basic_auth?.username).toBe('alice');
    expect(job.http.basic_auth).toBeUndefined(); // the scrape itself uses the spec's credentials, none here
  });
});

describe('ScrapeConfig resources', () => {
  it('makes one job per static and HTTP entry, in upstream order', async () => {
    const r = await scrapeConfigJobs({ metadata: meta, spec: { staticConfigs: [{ targets: ['a:1'] }, { targets: ['b:1'] }], httpSDConfigs: [{ url: 'http://sd:80/' }] } }, options());
    expect(r.errors).toEqual([]);
    expect(r.jobs.map((j) => j.jobName)).toEqual(['scrapeConfig/operator/scrapeconfig/static/0', 'scrapeConfig/operator/scrapeconfig/static/1', 'scrapeConfig/operator/scrapeconfig/http/0']);
  });

  it('reports a bad entry by list and index and keeps the good ones', async () => {
    const r = await scrapeConfigJobs({ metadata: meta, spec: { staticConfigs: [{ targets: ['a:1'] }], httpSDConfigs: [{ url: 'http://sd:80/', refreshInterval: 'soon' }, { url: 'ftp://sd/' }, { url: 'not a url' }] } }, options());
    expect(r.jobs.map((j) => j.jobName)).toEqual(['scrapeConfig/operator/scrapeconfig/static/0']);
    expect(r.errors).toEqual([
      'ScrapeConfig operator/scrapeconfig httpSDConfigs[0]: refreshInterval: not a valid duration: "soon"',
      `ScrapeConfig operator/scrapeconfig httpSDConfigs[1]: url scheme must be 'http' or 'https', got "ftp://sd/"`,
      'ScrapeConfig operator/scrapeconfig httpSDConfigs[2]: url "not a url" is not a URL; use http(s)://host[:port]/path',
    ]);
  });

  it('reports discovery lists that are not converted, naming them, while the other targets are still scraped', async () => {
    const m: ScrapeConfig = { metadata: meta, spec: { staticConfigs: [{ targets: ['a:1'] }], kubernetesSDConfigs: [{ role: 'Pod' }], consulSDConfigs: [{ server: 'c:8500' }], dnsSDConfigs: [], fileSDConfigs: [{ files: ['/x.json'] }] } };
    expect(unsupportedDiscoveries(m.spec!)).toEqual(['consulSDConfigs', 'fileSDConfigs']);
    const r = await scrapeConfigJobs(m, options());
    expect(r.jobs.map((j) => j.jobName)).toEqual(['scrapeConfig/operator/scrapeconfig/static/0', 'scrapeConfig/operator/scrapeconfig/kubernetes/0']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain('ScrapeConfig operator/scrapeconfig: consulSDConfigs, fileSDConfigs are not supported');
  });

  it.each([
    ['an invalid relabeling', { relabelings: [{ sourceLabels: ['a'], regex: '(unclosed', targetLabel: 'b' }] }, 'invalid relabeling'],
    ['a missing Secret key', { basicAuth: { username: { name: 'creds', key: 'nope' }, password: { name: 'creds', key: 'pass' } } }, 'key "nope" not found in secret operator/creds'],
    ['a timeout above the interval', { scrapeInterval: '5s', scrapeTimeout: '10s' }, 'scrape timeout greater than scrape interval'],
    ['an unknown scheme', { scheme: 'gopher' }, 'scheme "gopher" is not supported; use HTTP or HTTPS'],
    ['an unknown scrape protocol', { scrapeProtocols: ['Carrier pigeon'] }, 'unknown scrape protocol "Carrier pigeon"'],
  ])('fails every entry on %s, naming the resource and the field', async (_what, spec, message) => {
    const r = await scrapeConfigJobs({ metadata: meta, spec: { ...spec, staticConfigs: [{ targets: ['a:1'] }], httpSDConfigs: [{ url: 'http://sd/' }] } as ScrapeConfig['spec'] }, options());
    expect(r.jobs).toEqual([]);
    expect(r.errors).toHaveLength(2);
    expect(r.errors[0]).toContain('ScrapeConfig operator/scrapeconfig staticConfigs[0]');
    expect(r.errors[1]).toContain('ScrapeConfig operator/scrapeconfig httpSDConfigs[0]');
    for (const e of r.errors) expect(e).toContain(message);
  });

  it('does not apply scrape classes (upstream does not for ScrapeConfigs)', async () => {
    const job = await staticScrapeConfigJob({ metadata: meta }, { targets: ['a:1'] }, 0, options({ scrapeClasses: [{ name: 'std', default: true, relabel_rule: [rc({ target_label: 'c', replacement: 'x' })], metric_relabel_rule: [] }] }));
    expect(job.relabelConfigs).toEqual([...head, instance].map(rc));
  });
});

describe('ScrapeConfig Kubernetes SD jobs (beyond upstream)', () => {
  it('runs the discovery.kubernetes engine with the entry role, namespaces, selectors and node metadata, and the common relabelings', async () => {
    const job = await kubernetesScrapeConfigJob(
      { metadata: meta, spec: { relabelings: [{ sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'pod' }] } },
      { role: 'EndpointSlice', namespaces: { names: ['a', 'b'] }, selectors: [{ role: 'Pod', label: 'app=web' }, { role: 'Service', field: 'metadata.name=web' }], attachMetadata: { node: true } },
      3,
      options(),
    );
    expect(job.jobName).toBe('scrapeConfig/operator/scrapeconfig/kubernetes/3');
    expect(job.discovery).toEqual({
      kind: 'kubernetes',
      role: 'endpointslice',
      namespaces: ['a', 'b'],
      attachNode: true,
      ownNamespace: false,
      selectors: [
        { role: 'pod', label: 'app=web', field: '' },
        { role: 'service', label: '', field: 'metadata.name=web' },
      ],
    });
    expect(job.relabelConfigs).toEqual([...head, { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' }].map(rc));
  });

  it.each([
    ['an unknown role', { role: 'Deployment' }, 'role: unknown Kubernetes SD role "deployment"'],
    ['a selector role the role does not allow', { role: 'Service', selectors: [{ role: 'Pod', label: 'a=b' }] }, 'service role supports only service selectors'],
    ['a bad label selector', { role: 'Pod', selectors: [{ role: 'Pod', label: 'a in (' }] }, 'selectors.0.label'],
    ['its own API server', { role: 'Pod', apiServer: 'https://elsewhere:6443', tlsConfig: { insecureSkipVerify: true } }, "apiServer, tlsConfig are not supported: the discovery uses the component's client block"],
  ])('refuses %s, naming the entry', async (_what, sd, message) => {
    const r = await scrapeConfigJobs({ metadata: meta, spec: { staticConfigs: [{ targets: ['a:1'] }], kubernetesSDConfigs: [sd] } }, options());
    expect(r.jobs.map((j) => j.jobName)).toEqual(['scrapeConfig/operator/scrapeconfig/static/0']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain('ScrapeConfig operator/scrapeconfig kubernetesSDConfigs[0]: ');
    expect(r.errors[0]).toContain(message);
  });
});
