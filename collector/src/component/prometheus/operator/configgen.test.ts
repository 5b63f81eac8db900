/**
 * Job generation: the relabel lists and settings Alloy's configgen tests expect
 * (config_gen_servicemonitor_test.go, config_gen_podmonitor_test.go, config_gen_probe_test.go:
 * the `default`, `targetport_*`, `role_endpointslice` and `everything` cases, with the component
 * `rule` `{target_label = "__meta_foo", replacement = "bar"}` first), plus our own cases for
 * secrets, scrape classes and bad resources.
 */
import type { RelabelConfig } from '../../../prom/relabel/relabel.js';
import { generatorOptions, rc } from './configgen.test-support.js';
import { argumentsSchema } from './arguments.js';
import { podMonitorJob, probeJob, serviceMonitorJob, type GeneratorOptions, type PodMonitor, type Probe, type ServiceMonitor } from './configgen.js';

type R = Partial<RelabelConfig>;

const options = (extra: Partial<GeneratorOptions> = {}): GeneratorOptions => generatorOptions({ intervalMs: 60_000, timeoutMs: 10_000 }, extra);

const meta = { namespace: 'operator', name: 'svcmonitor' };
const K = '__meta_kubernetes_';

const smCommon = (role: 'endpoints' | 'endpointslice'): R[] => {
  const t = role === 'endpointslice' ? [`${K}endpointslice_address_target_kind`, `${K}endpointslice_address_target_name`] : [`${K}endpoint_address_target_kind`, `${K}endpoint_address_target_name`];
  return [
    { source_labels: t, regex: 'Node;(.*)', target_label: 'node', replacement: '${1}' },
    { source_labels: t, regex: 'Pod;(.*)', target_label: 'pod', replacement: '${1}' },
    { source_labels: [`${K}namespace`], target_label: 'namespace' },
    { source_labels: [`${K}service_name`], target_label: 'service' },
    { source_labels: [`${K}pod_container_name`], target_label: 'container' },
    { source_labels: [`${K}pod_name`], target_label: 'pod' },
  ];
};
const head: R[] = [{ target_label: '__meta_foo', replacement: 'bar' }, { source_labels: ['job'], target_label: '__tmp_prometheus_job_name' }];
const phase: R = { source_labels: [`${K}pod_phase`], regex: '(Failed|Succeeded)', action: 'drop' };
const svcJob: R = { source_labels: [`${K}service_name`], target_label: 'job', replacement: '${1}' };

describe('ServiceMonitor jobs (upstream configgen expectations)', () => {
  it('default endpoint', async () => {
    const m: ServiceMonitor = { metadata: meta, spec: {} };
    const job = await serviceMonitorJob(m, {}, 1, 'endpoints', options());
    expect(job.jobName).toBe('serviceMonitor/operator/svcmonitor/1');
    expect(job.relabelConfigs).toEqual([...head, ...smCommon('endpoints'), phase, svcJob].map(rc));
    expect(job.metricRelabelConfigs).toEqual([]);
    expect(job).toMatchObject({ intervalMs: 60_000, timeoutMs: 10_000, metricsPath: '/metrics', scheme: 'http', honorLabels: false, honorTimestamps: true, discovery: { kind: 'kubernetes', role: 'endpoints', namespaces: ['operator'], attachNode: false } });
    expect(job.http.follow_redirects).toBe(true);
  });

  it.each([
    ['targetport_string', 'http_metrics', `${K}pod_container_port_name`, 'endpoints'],
    ['targetport_int', 4242, `${K}pod_container_port_number`, 'endpoints'],
    ['role_endpointslice', 4242, `${K}pod_container_port_number`, 'endpointslice'],
  ] as const)('%s', async (_name, targetPort, label, role) => {
    const job = await serviceMonitorJob({ metadata: meta, spec: {} }, { targetPort }, 1, role, options());
    expect(job.relabelConfigs).toEqual(
      [...head, { source_labels: [label], regex: String(targetPort), action: 'keep' as const }, ...smCommon(role), phase, svcJob, { target_label: 'endpoint', replacement: String(targetPort) }].map(rc),
    );
    expect(job.discovery).toMatchObject({ role });
  });

  it('everything', async () => {
    const m: ServiceMonitor = {
      metadata: meta,
      spec: {
        jobLabel: 'joblabelispecify',
        targetLabels: ['a', 'b'],
        podTargetLabels: ['c', 'd'],
        selector: {
          matchLabels: { foo: 'bar' },
          matchExpressions: [
            { key: 'key', operator: 'In', values: ['val0', 'val1'] },
            { key: 'key', operator: 'NotIn', values: ['val2', 'val3'] },
            { key: 'key', operator: 'Exists' },
            { key: 'key2', operator: 'DoesNotExist' },
          ],
        },
        namespaceSelector: { any: false, matchNames: ['ns_a', 'ns_b'] },
        sampleLimit: 101,
        targetLimit: 102,
        labelLimit: 103,
        labelNameLengthLimit: 104,
        labelValueLengthLimit: 105,
        attachMetadata: { node: true },
      },
    };
    const job = await serviceMonitorJob(
      m,
      {
        port: 'metrics',
        path: '/foo',
        params: { a: ['b'] },
        scheme: 'https',
        scrapeTimeout: '17s',
        interval: '12m',
        honorLabels: true,
        honorTimestamps: false,
        filterRunning: false,
        followRedirects: false,
        tlsConfig: { serverName: 'foo.com', insecureSkipVerify: true },
        proxyUrl: 'https://proxy:8080',
        relabelings: [{ sourceLabels: ['foo'], targetLabel: 'bar' }],
        metricRelabelings: [{ sourceLabels: ['__name__'], regex: 'go_.*', action: 'Drop' }],
      },
      1,
      'endpoints',
      options(),
    );
    expect(job.relabelConfigs).toEqual(
      [
        ...head,
        { source_labels: [`${K}service_label_foo`, `${K}service_labelpresent_foo`], action: 'keep', regex: '(bar);true' },
        { source_labels: [`${K}service_label_key`, `${K}service_labelpresent_key`], action: 'keep', regex: '(val0|val1);true' },
        { source_labels: [`${K}service_label_key`, `${K}service_labelpresent_key`], action: 'drop', regex: '(val2|val3);true' },
        { source_labels: [`${K}service_labelpresent_key`], action: 'keep', regex: 'true' },
        { source_labels: [`${K}service_labelpresent_key2`], action: 'drop', regex: 'true' },
        { source_labels: [`${K}endpoint_port_name`], action: 'keep', regex: 'metrics' },
        ...smCommon('endpoints'),
        { source_labels: [`${K}service_label_a`], target_label: 'a', regex: '(.+)', replacement: '${1}' },
        { source_labels: [`${K}service_label_b`], target_label: 'b', regex: '(.+)', replacement: '${1}' },
        { source_labels: [`${K}pod_label_c`], target_label: 'c', regex: '(.+)', replacement: '${1}' },
        { source_labels: [`${K}pod_label_d`], target_label: 'd', regex: '(.+)', replacement: '${1}' },
        svcJob,
        { source_labels: [`${K}service_label_joblabelispecify`], target_label: 'job', regex: '(.+)', replacement: '${1}' },
        { target_label: 'endpoint', replacement: 'metrics' },
        { source_labels: ['foo'], target_label: 'bar' },
      ].map((r) => rc(r as R)),
    );
    expect(job.metricRelabelConfigs).toEqual([rc({ source_labels: ['__name__'], regex: 'go_.*', action: 'drop' })]);
    expect(job).toMatchObject({
      intervalMs: 720_000,
      timeoutMs: 17_000,
      metricsPath: '/foo',
      scheme: 'https',
      params: { a: ['b'] },
      honorLabels: true,
      honorTimestamps: false,
      sampleLimit: 101,
      targetLimit: 102,
      labelLimit: 103,
      labelNameLengthLimit: 104,
      labelValueLengthLimit: 105,
      discovery: { kind: 'kubernetes', role: 'endpoints', namespaces: ['ns_a', 'ns_b'], attachNode: true },
    });
    expect(job.http).toMatchObject({ follow_redirects: false, proxy_url: 'https://proxy:8080', tls_config: { server_name: 'foo.com', insecure_skip_verify: true } });
  });

  it('reads basic auth, bearer token and authorization credentials from Secrets', async () => {
    const creds = (key: string): { name: string; key: string } => ({ name: 'creds', key });
    const basic = await serviceMonitorJob({ metadata: meta, spec: {} }, { basicAuth: { username: creds('user'), password: creds('pass') } }, 0, 'endpoints', options());
    expect(basic.http.basic_auth?.username).toBe('alice');
    expect(basic.http.basic_auth?.password?.reveal()).toBe('s3cret');
    const bearer = await serviceMonitorJob({ metadata: meta, spec: {} }, { bearerTokenSecret: creds('token') }, 0, 'endpoints', options());
    expect(bearer.http.bearer_token?.reveal()).toBe('tok');
    const authz = await serviceMonitorJob({ metadata: meta, spec: {} }, { authorization: { credentials: creds('token') } }, 0, 'endpoints', options());
    expect(authz.http.authorization?.type).toBe('Bearer');
    expect(authz.http.authorization?.credentials?.reveal()).toBe('tok');
    await expect(serviceMonitorJob({ metadata: meta, spec: {} }, { bearerTokenSecret: creds('missing') }, 0, 'endpoints', options())).rejects.toThrow('key "missing" not found in secret operator/creds');
    const tls = await podMonitorJob({ metadata: meta, spec: {} }, { tlsConfig: { ca: { configMap: { name: 'ca', key: 'ca.crt' } }, cert: { secret: creds('user') }, keySecret: creds('pass'), serverName: 'web.local' } }, 0, options());
    expect(tls.http.tls_config).toMatchObject({ ca: 'CA PEM', cert: 'alice', server_name: 'web.local', insecure_skip_verify: false });
    expect(tls.http.tls_config?.key?.reveal()).toBe('s3cret');
  });

  it('rejects an invalid relabeling, a bad duration and a timeout above the interval, naming the resource', async () => {
    const m: ServiceMonitor = { metadata: meta, spec: {} };
    await expect(serviceMonitorJob(m, { relabelings: [{ action: 'replace', sourceLabels: ['a'], regex: '(' }] }, 0, 'endpoints', options())).rejects.toThrow(/ServiceMonitor operator\/svcmonitor endpoint 0: invalid relabeling .*regex/);
    await expect(serviceMonitorJob(m, { relabelings: [{ action: 'explode' }] }, 0, 'endpoints', options())).rejects.toThrow('unknown relabel action "explode"');
    await expect(serviceMonitorJob(m, { interval: 'soon' }, 0, 'endpoints', options())).rejects.toThrow('interval: not a valid duration: "soon"');
    await expect(serviceMonitorJob(m, { interval: '5s' }, 0, 'endpoints', options())).rejects.toThrow('scrape timeout greater than scrape interval');
  });

  it('applies the default scrape class and a named one; an unknown class is an error', async () => {
    const args = argumentsSchema.parse({
      forward_to: [],
      scrape_class: [
        { name: 'std', default: true, relabel_rule: [{ target_label: 'cls', replacement: 'std' }], metric_relabel_rule: [{ source_labels: ['__name__'], regex: 'x', action: 'drop' }], attach_metadata: { node: true } },
        { name: 'other', authorization: { type: 'Bearer', credentials: 'abc' } },
      ],
    });
    const o = options({ scrapeClasses: args.scrape_class });
    const d = await serviceMonitorJob({ metadata: meta, spec: {} }, { relabelings: [{ targetLabel: 'own', replacement: 'x' }] }, 0, 'endpoints', o);
    const tail = d.relabelConfigs.slice(-2).map((r) => r.target_label);
    expect(tail).toEqual(['cls', 'own']); // class rules come before the endpoint's own
    expect(d.metricRelabelConfigs.map((r) => r.action)).toEqual(['drop']);
    expect(d.discovery).toMatchObject({ attachNode: true });
    const other = await serviceMonitorJob({ metadata: meta, spec: { scrapeClass: 'other' } }, {}, 0, 'endpoints', o);
    expect(other.http.authorization?.credentials?.reveal()).toBe('abc');
    await expect(serviceMonitorJob({ metadata: meta, spec: { scrapeClass: 'nope' } }, {}, 0, 'endpoints', o)).rejects.toThrow('scrape class "nope" is not defined');
  });
});

describe('PodMonitor jobs', () => {
  it('default and everything (upstream expectations)', async () => {
    const pm: PodMonitor = { metadata: { namespace: 'operator', name: 'podmonitor' }, spec: {} };
    const d = await podMonitorJob(pm, {}, 1, options());
    expect(d.jobName).toBe('podMonitor/operator/podmonitor/1');
    expect(d.relabelConfigs).toEqual(
      [
        ...head,
        phase,
        { source_labels: [`${K}namespace`], target_label: 'namespace' },
        { source_labels: [`${K}pod_container_name`], target_label: 'container' },
        { source_labels: [`${K}pod_name`], target_label: 'pod' },
        { target_label: 'job', replacement: 'operator/podmonitor' },
      ].map((r) => rc(r as R)),
    );
    const e = await podMonitorJob(
      { metadata: pm.metadata, spec: { jobLabel: 'abc', podTargetLabels: ['label_a', 'label_b'], selector: { matchLabels: { 'app.kubernetes.io/name': 'x' } }, namespaceSelector: { any: true } } },
      { port: 'metrics', relabelings: [{ sourceLabels: ['foo'], targetLabel: 'bar' }] },
      1,
      options(),
    );
    expect(e.relabelConfigs).toEqual(
      [
        ...head,
        phase,
        { source_labels: [`${K}pod_label_app_kubernetes_io_name`, `${K}pod_labelpresent_app_kubernetes_io_name`], action: 'keep', regex: '(x);true' },
        { source_labels: [`${K}pod_container_port_name`], action: 'keep', regex: 'metrics' },
        { source_labels: [`${K}namespace`], target_label: 'namespace' },
        { source_labels: [`${K}pod_container_name`], target_label: 'container' },
        { source_labels: [`${K}pod_name`], target_label: 'pod' },
        { source_labels: [`${K}pod_label_label_a`], target_label: 'label_a', regex: '(.+)', replacement: '${1}' },
        { source_labels: [`${K}pod_label_label_b`], target_label: 'label_b', regex: '(.+)', replacement: '${1}' },
        { target_label: 'job', replacement: 'operator/podmonitor' },
        { source_labels: [`${K}pod_label_abc`], target_label: 'job', regex: '(.+)', replacement: '${1}' },
        { target_label: 'endpoint', replacement: 'metrics' },
        { source_labels: ['foo'], target_label: 'bar' },
      ].map((r) => rc(r as R)),
    );
    expect(e.discovery).toEqual({ kind: 'kubernetes', role: 'pod', namespaces: [], attachNode: false });
  });
});

describe('Probe jobs', () => {
  it('static targets through the prober, with module and job name', async () => {
    const p: Probe = { metadata: { namespace: 'operator', name: 'probe' }, spec: { jobName: 'blackbox', module: 'http_2xx', prober: { url: 'blackbox:9115' }, targets: { staticConfig: { static: ['https://example.com'], labels: { env: 'prod' } } } } };
    const job = await probeJob(p, options());
    expect(job.jobName).toBe('probe/operator/probe');
    expect(job).toMatchObject({ metricsPath: '/probe', params: { module: ['http_2xx'] }, discovery: { kind: 'static', targets: [{ env: 'prod', namespace: 'operator', __address__: 'https://example.com' }] } });
    expect(job.relabelConfigs).toEqual(
      [
        ...head,
        { target_label: 'job', replacement: 'blackbox' },
        { source_labels: ['__address__'], target_label: '__param_target' },
        { source_labels: ['__param_target'], target_label: 'instance' },
        { target_label: '__address__', replacement: 'blackbox:9115' },
      ].map((r) => rc(r as R)),
    );
  });

  it('ingress targets', async () => {
    const p: Probe = { metadata: { namespace: 'operator', name: 'probe' }, spec: { prober: { url: 'blackbox:9115', path: '/probe' }, targets: { ingress: { selector: { matchLabels: { probe: 'yes' } }, namespaceSelector: { matchNames: ['web'] } } } } };
    const job = await probeJob(p, options());
    expect(job.discovery).toEqual({ kind: 'kubernetes', role: 'ingress', namespaces: ['web'], attachNode: false });
    expect(job.relabelConfigs.map((r) => r.target_label)).toEqual(['__meta_foo', '__tmp_prometheus_job_name', '', '__param_target', 'namespace', 'ingress', '__tmp_ingress_address', 'instance', '__address__']);
    expect(job.relabelConfigs[3]).toEqual(rc({ source_labels: [`${K}ingress_scheme`, '__address__', `${K}ingress_path`], target_label: '__param_target', regex: '(.+);(.+);(.+)', replacement: '${1}://${2}${3}' }));
  });
});
