/**
 * Scrape jobs from Prometheus Operator resources, as Alloy's `configgen` (after the Prometheus
 * Operator's `promcfg.go`) generates them: one job per ServiceMonitor endpoint
 * (`serviceMonitor/<ns>/<name>/<i>`), per PodMonitor endpoint (`podMonitor/<ns>/<name>/<i>`) and
 * per Probe (`probe/<ns>/<name>`), each with its Kubernetes discovery (role, namespaces, node
 * metadata) or static targets, the operator's relabelings (selector, port, `node`/`pod`/
 * `namespace`/`service`/`container`/`job`/`endpoint` labels, phase filter, target labels) after
 * the component's `rule` blocks and before the resource's own `relabelings`, its
 * `metricRelabelings`, interval/timeout/path/scheme/params/honor settings, limits, and the HTTP
 * client settings with credentials read from Secrets and ConfigMaps.
 *
 * Contracts:
 * - Pure apart from `SecretSource`; a bad resource (unparsable duration, invalid relabeling,
 *   missing secret, unknown scrape class, timeout above interval) throws an Error naming the
 *   resource, the endpoint and the field, and the caller skips that resource.
 * - Relabel rules are returned both as configs (for debug output) and compiled.
 */
import { compileRules, validateRelabelConfig, withDefaults, RELABEL_ACTIONS, type CompiledRule, type RelabelConfig } from '../../../prom/relabel/relabel.js';
import type { HttpClientSettings, TlsSettings } from '../../prometheus/scrape/http-client.js';
import { parsePromDuration, type SecretLike } from '../../prometheus/scrape/schema-helpers.js';
import { tlsSettings } from '../../common/http-client-config.js';
import type { KubeObject } from '../../common/kube/client.js';
import type { ScrapeClass, ScrapeOptions } from './arguments.js';

// ------------------------------------------------------------ resource shapes (monitoring.coreos.com/v1)

export interface SecretKeySelector {
  readonly name: string;
  readonly key: string;
  readonly optional?: boolean;
}

export interface SecretOrConfigMap {
  readonly secret?: SecretKeySelector;
  readonly configMap?: SecretKeySelector;
}

export interface SafeTlsConfig {
  readonly ca?: SecretOrConfigMap;
  readonly cert?: SecretOrConfigMap;
  readonly keySecret?: SecretKeySelector;
  readonly serverName?: string;
  readonly insecureSkipVerify?: boolean;
}

interface TlsConfig extends SafeTlsConfig {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** monitoringv1.RelabelConfig (camelCase fields). */
export interface OperatorRelabelConfig {
  readonly sourceLabels?: readonly string[];
  readonly separator?: string;
  readonly targetLabel?: string;
  readonly regex?: string;
  readonly modulus?: number;
  readonly replacement?: string;
  readonly action?: string;
}

interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: ReadonlyArray<{ readonly key: string; readonly operator: string; readonly values?: readonly string[] }>;
}

interface NamespaceSelector {
  readonly any?: boolean;
  readonly matchNames?: readonly string[];
}

export interface Auth {
  readonly bearerTokenSecret?: SecretKeySelector;
  readonly basicAuth?: { readonly username: SecretKeySelector; readonly password: SecretKeySelector };
  readonly authorization?: { readonly type?: string; readonly credentials?: SecretKeySelector };
  readonly oauth2?: {
    readonly clientId: SecretOrConfigMap;
    readonly clientSecret: SecretKeySelector;
    readonly tokenUrl: string;
    readonly scopes?: readonly string[];
    readonly endpointParams?: Readonly<Record<string, string>>;
  };
}

interface CommonEndpoint extends Auth {
  readonly path?: string;
  readonly scheme?: string;
  readonly params?: Readonly<Record<string, readonly string[]>>;
  readonly interval?: string;
  readonly scrapeTimeout?: string;
  readonly honorLabels?: boolean;
  readonly honorTimestamps?: boolean;
  readonly relabelings?: readonly OperatorRelabelConfig[];
  readonly metricRelabelings?: readonly OperatorRelabelConfig[];
  readonly proxyUrl?: string;
  readonly followRedirects?: boolean;
  readonly enableHttp2?: boolean;
  readonly filterRunning?: boolean;
  readonly targetPort?: number | string;
}

export interface ServiceMonitorEndpoint extends CommonEndpoint {
  readonly port?: string;
  readonly tlsConfig?: TlsConfig;
  readonly bearerTokenFile?: string;
}

export interface PodMetricsEndpoint extends CommonEndpoint {
  readonly port?: string;
  readonly portNumber?: number;
  readonly tlsConfig?: SafeTlsConfig;
}

export interface MonitorLimits {
  readonly sampleLimit?: number;
  readonly targetLimit?: number;
  readonly labelLimit?: number;
  readonly labelNameLengthLimit?: number;
  readonly labelValueLengthLimit?: number;
  readonly scrapeProtocols?: readonly string[];
  readonly scrapeClass?: string;
  readonly attachMetadata?: { readonly node?: boolean };
}

export interface ServiceMonitor extends KubeObject {
  readonly spec: MonitorLimits & {
    readonly jobLabel?: string;
    readonly targetLabels?: readonly string[];
    readonly podTargetLabels?: readonly string[];
    readonly endpoints?: readonly ServiceMonitorEndpoint[];
    readonly selector?: LabelSelector;
    readonly namespaceSelector?: NamespaceSelector;
  };
}

export interface PodMonitor extends KubeObject {
  readonly spec: MonitorLimits & {
    readonly jobLabel?: string;
    readonly podTargetLabels?: readonly string[];
    readonly podMetricsEndpoints?: readonly PodMetricsEndpoint[];
    readonly selector?: LabelSelector;
    readonly namespaceSelector?: NamespaceSelector;
  };
}

export interface Probe extends KubeObject {
  readonly spec: MonitorLimits &
    Auth & {
      readonly jobName?: string;
      readonly prober?: { readonly url: string; readonly scheme?: string; readonly path?: string; readonly proxyUrl?: string };
      readonly module?: string;
      readonly targets?: {
        readonly staticConfig?: { readonly static?: readonly string[]; readonly labels?: Readonly<Record<string, string>>; readonly relabelingConfigs?: readonly OperatorRelabelConfig[] };
        readonly ingress?: { readonly selector?: LabelSelector; readonly namespaceSelector?: NamespaceSelector; readonly relabelingConfigs?: readonly OperatorRelabelConfig[] };
      };
      readonly interval?: string;
      readonly scrapeTimeout?: string;
      readonly tlsConfig?: SafeTlsConfig;
      readonly metricRelabelings?: readonly OperatorRelabelConfig[];
    };
}

// ------------------------------------------------------------ the generated job

export type JobDiscovery =
  | {
      readonly kind: 'kubernetes';
      readonly role: 'endpoints' | 'endpointslice' | 'pod' | 'ingress' | 'service' | 'node';
      readonly namespaces: readonly string[];
      readonly attachNode: boolean;
      /** `discovery.kubernetes` selectors (ScrapeConfig `kubernetesSDConfigs[].selectors`). */
      readonly selectors?: ReadonlyArray<{ readonly role: string; readonly label: string; readonly field: string }>;
      /** Also watch the collector's own namespace (ScrapeConfig `namespaces.ownNamespace`). */
      readonly ownNamespace?: boolean;
    }
  | { readonly kind: 'static'; readonly targets: ReadonlyArray<Readonly<Record<string, string>>> }
  /** Prometheus's HTTP SD (`discovery/http/http-sd.ts`): the URL polled every `refreshIntervalMs` with its own HTTP client settings. */
  | { readonly kind: 'http'; readonly url: string; readonly refreshIntervalMs: number; readonly http: HttpClientSettings };

export interface ScrapeJob {
  readonly jobName: string;
  readonly discovery: JobDiscovery;
  readonly relabelConfigs: readonly RelabelConfig[];
  readonly relabel: readonly CompiledRule[];
  readonly metricRelabelConfigs: readonly RelabelConfig[];
  readonly metricRelabel: readonly CompiledRule[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly metricsPath: string;
  readonly scheme: string;
  readonly params: Readonly<Record<string, readonly string[]>>;
  readonly honorLabels: boolean;
  readonly honorTimestamps: boolean;
  readonly http: HttpClientSettings;
  readonly sampleLimit: number;
  readonly targetLimit: number;
  readonly labelLimit: number;
  readonly labelNameLengthLimit: number;
  readonly labelValueLengthLimit: number;
  readonly scrapeProtocols: readonly string[] | undefined;
}

/** Reads a key of a Secret or ConfigMap in a namespace. @throws Error naming the object and key. */
export interface SecretSource {
  secret(namespace: string, sel: SecretKeySelector): Promise<string>;
  configMap(namespace: string, sel: SecretKeySelector): Promise<string>;
}

export interface GeneratorOptions {
  /** The component's `rule` blocks, applied before the operator's relabelings. */
  readonly rules: readonly RelabelConfig[];
  readonly scrape: ScrapeOptions;
  readonly scrapeClasses: readonly ScrapeClass[];
  readonly secrets: SecretSource;
}

const SCRAPE_PROTOCOLS = ['PrometheusProto', 'OpenMetricsText0.0.1', 'OpenMetricsText1.0.0', 'PrometheusText0.0.4', 'PrometheusText1.0.0'];

const secretValue = (v: string): SecretLike => ({ reveal: () => v });

/** Prometheus's `model.LabelName` sanitising: every character outside [a-zA-Z0-9_] becomes `_`. */
export function sanitizeLabelName(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** Accumulates relabel configs with the operator generator's defaults (action lowercased). */
export class Relabels {
  readonly configs: RelabelConfig[] = [];
  readonly #what: string;

  constructor(what: string) {
    this.#what = what;
  }

  add(c: Partial<Omit<RelabelConfig, 'action'>> & { readonly action?: string }): void {
    const action = (c.action === undefined || c.action === '' ? 'replace' : c.action.toLowerCase()) as RelabelConfig['action'];
    const cfg = withDefaults({
      ...(c.source_labels !== undefined ? { source_labels: c.source_labels } : {}),
      ...(c.separator ? { separator: c.separator } : {}),
      ...(c.regex ? { regex: c.regex } : {}),
      ...(c.modulus !== undefined ? { modulus: c.modulus } : {}),
      ...(c.target_label !== undefined ? { target_label: c.target_label } : {}),
      ...(c.replacement ? { replacement: c.replacement } : {}),
      action,
    });
    const err = (RELABEL_ACTIONS as readonly string[]).includes(action) ? validateRelabelConfig(cfg) : `unknown relabel action ${JSON.stringify(c.action)}`;
    if (err !== undefined) throw new Error(`${this.#what}: invalid relabeling ${JSON.stringify(c)}: ${err}`);
    this.configs.push(cfg);
  }

  /** monitoringv1.RelabelConfig entries (an empty regex or replacement means the default). */
  addOperator(list: readonly OperatorRelabelConfig[] | undefined): void {
    for (const r of list ?? []) {
      this.add({
        ...(r.sourceLabels ? { source_labels: r.sourceLabels } : {}),
        ...(r.separator !== undefined ? { separator: r.separator } : {}),
        ...(r.targetLabel !== undefined ? { target_label: r.targetLabel } : {}),
        ...(r.regex !== undefined ? { regex: r.regex } : {}),
        ...(r.modulus !== undefined ? { modulus: r.modulus } : {}),
        ...(r.replacement !== undefined ? { replacement: r.replacement } : {}),
        ...(r.action !== undefined ? { action: r.action } : {}),
      });
    }
  }

  /** Relabel configs that are already valid Alloy rules (the component's `rule` blocks, scrape classes). */
  addConfigs(list: readonly RelabelConfig[]): void {
    this.configs.push(...list);
  }

  /** Keep/drop rules for a label selector over `__meta_kubernetes_<kind>_label(present)_*`. */
  addSelector(kind: 'service' | 'pod' | 'ingress', sel: LabelSelector | undefined): void {
    const label = (k: string): string => `__meta_kubernetes_${kind}_label_${sanitizeLabelName(k)}`;
    const present = (k: string): string => `__meta_kubernetes_${kind}_labelpresent_${sanitizeLabelName(k)}`;
    const ml = sel?.matchLabels ?? {};
    for (const k of Object.keys(ml).sort()) this.add({ source_labels: [label(k), present(k)], action: 'keep', regex: `(${ml[k]});true` });
    for (const e of sel?.matchExpressions ?? []) {
      const values = (e.values ?? []).join('|');
      switch (e.operator) {
        case 'In':
          this.add({ source_labels: [label(e.key), present(e.key)], action: 'keep', regex: `(${values});true` });
          break;
        case 'NotIn':
          this.add({ source_labels: [label(e.key), present(e.key)], action: 'drop', regex: `(${values});true` });
          break;
        case 'Exists':
          this.add({ source_labels: [present(e.key)], action: 'keep', regex: 'true' });
          break;
        case 'DoesNotExist':
          this.add({ source_labels: [present(e.key)], action: 'drop', regex: 'true' });
          break;
      }
    }
  }
}

export function duration(v: string | undefined, fallback: number, what: string): number {
  if (v === undefined || v === '') return fallback;
  const ms = parsePromDuration(v);
  if (ms === undefined) throw new Error(`${what}: not a valid duration: ${JSON.stringify(v)}`);
  return ms;
}

function scrapeClassFor(name: string | undefined, classes: readonly ScrapeClass[], what: string): ScrapeClass | undefined {
  if (name) {
    const c = classes.find((x) => x.name === name);
    if (!c) throw new Error(`${what}: scrape class ${JSON.stringify(name)} is not defined; add a scrape_class block with that name`);
    return c;
  }
  return classes.find((x) => x.default);
}

function namespacesOf(sel: NamespaceSelector | undefined, own: string): string[] {
  if (sel?.any) return [];
  if (!sel?.matchNames || sel.matchNames.length === 0) return [own];
  return [...sel.matchNames];
}

async function safeTls(t: SafeTlsConfig, ns: string, s: SecretSource): Promise<TlsSettings> {
  const fromRef = async (r: SecretOrConfigMap | undefined): Promise<string | undefined> => {
    if (r?.secret) return s.secret(ns, r.secret);
    if (r?.configMap) return s.configMap(ns, r.configMap);
    return undefined;
  };
  const ca = await fromRef(t.ca);
  const cert = await fromRef(t.cert);
  const key = t.keySecret ? await s.secret(ns, t.keySecret) : undefined;
  return {
    insecure_skip_verify: t.insecureSkipVerify === true,
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key: secretValue(key) } : {}),
    ...(t.serverName ? { server_name: t.serverName } : {}),
  };
}

export interface HttpParts extends Auth {
  readonly tlsConfig?: TlsConfig;
  readonly bearerTokenFile?: string;
  readonly proxyUrl?: string;
  readonly followRedirects?: boolean;
}

export async function httpSettings(ep: HttpParts, ns: string, s: SecretSource, sc: ScrapeClass | undefined, what: string): Promise<HttpClientSettings> {
  let tls: TlsSettings | undefined;
  if (ep.tlsConfig) {
    tls = await safeTls(ep.tlsConfig, ns, s);
    const t = ep.tlsConfig;
    if (t.caFile) tls = { ...tls, ca_file: t.caFile };
    if (t.certFile) tls = { ...tls, cert_file: t.certFile };
    if (t.keyFile) tls = { ...tls, key_file: t.keyFile };
  }
  const out: { -readonly [K in keyof HttpClientSettings]: HttpClientSettings[K] } = { follow_redirects: ep.followRedirects ?? true };
  if (ep.proxyUrl) {
    try {
      new URL(ep.proxyUrl);
    } catch {
      throw new Error(`${what}: parsing proxyUrl: ${JSON.stringify(ep.proxyUrl)} is not a URL`);
    }
    out.proxy_url = ep.proxyUrl;
  }
  if (ep.bearerTokenFile) out.bearer_token_file = ep.bearerTokenFile;
  else if (ep.bearerTokenSecret?.name) out.bearer_token = secretValue(await s.secret(ns, ep.bearerTokenSecret));
  if (ep.basicAuth) {
    out.basic_auth = { username: await s.secret(ns, ep.basicAuth.username), password: secretValue(await s.secret(ns, ep.basicAuth.password)) };
  }
  if (ep.oauth2) {
    const o = ep.oauth2;
    const clientId = o.clientId.secret ? await s.secret(ns, o.clientId.secret) : o.clientId.configMap ? await s.configMap(ns, o.clientId.configMap) : '';
    out.oauth2 = { client_id: clientId, client_secret: secretValue(await s.secret(ns, o.clientSecret)), token_url: o.tokenUrl, scopes: o.scopes, endpoint_params: o.endpointParams };
  }
  if (ep.authorization) {
    const creds = ep.authorization.credentials ? await s.secret(ns, ep.authorization.credentials) : undefined;
    out.authorization = { type: ep.authorization.type || 'Bearer', ...(creds !== undefined ? { credentials: secretValue(creds) } : {}) };
  }
  const hasAuth = Boolean(ep.bearerTokenFile || ep.bearerTokenSecret?.name || ep.basicAuth || ep.oauth2 || ep.authorization);
  // The scrape class fills in TLS and authorization the endpoint does not set itself.
  if (!tls && sc?.tls_config) tls = tlsSettings(sc.tls_config);
  if (!hasAuth && sc?.authorization) out.authorization = sc.authorization;
  if (tls) out.tls_config = tls;
  return out;
}

export interface Base {
  readonly jobName: string;
  readonly interval: string | undefined;
  readonly timeout: string | undefined;
  readonly what: string;
  readonly o: GeneratorOptions;
  readonly limits: MonitorLimits;
}

export function finish(b: Base, rest: Omit<ScrapeJob, 'jobName' | 'relabel' | 'metricRelabel' | 'intervalMs' | 'timeoutMs' | 'sampleLimit' | 'targetLimit' | 'labelLimit' | 'labelNameLengthLimit' | 'labelValueLengthLimit' | 'scrapeProtocols'>): ScrapeJob {
  const intervalMs = duration(b.interval, b.o.scrape.default_scrape_interval, `${b.what}: interval`);
  const timeoutMs = duration(b.timeout, b.o.scrape.default_scrape_timeout, `${b.what}: scrapeTimeout`);
  if (timeoutMs > intervalMs) throw new Error(`${b.what}: scrape timeout greater than scrape interval for scrape config with job name ${JSON.stringify(b.jobName)}; set scrapeTimeout at most the interval`);
  const l = b.limits;
  const protocols = l.scrapeProtocols;
  for (const p of protocols ?? []) if (!SCRAPE_PROTOCOLS.includes(p)) throw new Error(`${b.what}: unknown scrape protocol ${JSON.stringify(p)}; use one of ${SCRAPE_PROTOCOLS.join(', ')}`);
  const compile = (configs: readonly RelabelConfig[], what: string): CompiledRule[] => {
    try {
      return compileRules(configs);
    } catch (err) {
      throw new Error(`${b.what}: ${what}: ${(err as Error).message}`);
    }
  };
  return {
    jobName: b.jobName,
    ...rest,
    relabel: compile(rest.relabelConfigs, 'relabelings'),
    metricRelabel: compile(rest.metricRelabelConfigs, 'metricRelabelings'),
    intervalMs,
    timeoutMs,
    sampleLimit: l.sampleLimit ?? b.o.scrape.default_sample_limit,
    targetLimit: l.targetLimit ?? 0,
    labelLimit: l.labelLimit ?? 0,
    labelNameLengthLimit: l.labelNameLengthLimit ?? 0,
    labelValueLengthLimit: l.labelValueLengthLimit ?? 0,
    scrapeProtocols: protocols && protocols.length > 0 ? [...protocols] : undefined,
  };
}

/** The relabelings every job starts with: the component's `rule` blocks, then `job` → `__tmp_prometheus_job_name`. */
export function initRelabels(what: string, o: GeneratorOptions): Relabels {
  const r = new Relabels(what);
  r.addConfigs(o.rules);
  r.add({ source_labels: ['job'], target_label: '__tmp_prometheus_job_name' });
  return r;
}

function portFilters(r: Relabels, ep: { port?: string | undefined; portNumber?: number | undefined; targetPort?: number | string | undefined }, portNameLabel: string): void {
  if (ep.port) r.add({ source_labels: [portNameLabel], action: 'keep', regex: ep.port });
  else if (ep.portNumber) r.add({ source_labels: ['__meta_kubernetes_pod_container_port_number'], action: 'keep', regex: String(ep.portNumber) });
  else if (typeof ep.targetPort === 'string' && ep.targetPort !== '') r.add({ source_labels: ['__meta_kubernetes_pod_container_port_name'], action: 'keep', regex: ep.targetPort });
  else if (typeof ep.targetPort === 'number' && ep.targetPort !== 0) r.add({ source_labels: ['__meta_kubernetes_pod_container_port_number'], action: 'keep', regex: String(ep.targetPort) });
}

function endpointLabel(r: Relabels, ep: { port?: string | undefined; targetPort?: number | string | undefined }): void {
  if (ep.port) r.add({ replacement: ep.port, target_label: 'endpoint' });
  else if (ep.targetPort !== undefined && String(ep.targetPort) !== '' && ep.targetPort !== 0) r.add({ target_label: 'endpoint', replacement: String(ep.targetPort) });
}

export async function serviceMonitorJob(m: ServiceMonitor, ep: ServiceMonitorEndpoint, i: number, role: 'endpoints' | 'endpointslice', o: GeneratorOptions): Promise<ScrapeJob> {
  const ns = m.metadata.namespace ?? 'default';
  const jobName = `serviceMonitor/${ns}/${m.metadata.name}/${i}`;
  const what = `ServiceMonitor ${ns}/${m.metadata.name} endpoint ${i}`;
  const sc = scrapeClassFor(m.spec.scrapeClass, o.scrapeClasses, what);
  const r = initRelabels(what, o);
  r.addSelector('service', m.spec.selector);
  portFilters(r, { port: ep.port, targetPort: ep.targetPort }, role === 'endpointslice' ? '__meta_kubernetes_endpointslice_port_name' : '__meta_kubernetes_endpoint_port_name');
  const target = role === 'endpointslice' ? ['__meta_kubernetes_endpointslice_address_target_kind', '__meta_kubernetes_endpointslice_address_target_name'] : ['__meta_kubernetes_endpoint_address_target_kind', '__meta_kubernetes_endpoint_address_target_name'];
  r.add({ source_labels: target, separator: ';', regex: 'Node;(.*)', replacement: '${1}', target_label: 'node' });
  r.add({ source_labels: target, separator: ';', regex: 'Pod;(.*)', replacement: '${1}', target_label: 'pod' });
  r.add({ source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' });
  r.add({ source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' });
  r.add({ source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' });
  r.add({ source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' });
  if (ep.filterRunning !== false) r.add({ source_labels: ['__meta_kubernetes_pod_phase'], action: 'drop', regex: '(Failed|Succeeded)' });
  for (const l of m.spec.targetLabels ?? []) r.add({ source_labels: [`__meta_kubernetes_service_label_${sanitizeLabelName(l)}`], replacement: '${1}', regex: '(.+)', target_label: sanitizeLabelName(l) });
  for (const l of m.spec.podTargetLabels ?? []) r.add({ source_labels: [`__meta_kubernetes_pod_label_${sanitizeLabelName(l)}`], replacement: '${1}', regex: '(.+)', target_label: sanitizeLabelName(l) });
  r.add({ source_labels: ['__meta_kubernetes_service_name'], replacement: '${1}', target_label: 'job' });
  if (m.spec.jobLabel) r.add({ replacement: '${1}', target_label: 'job', regex: '(.+)', source_labels: [`__meta_kubernetes_service_label_${sanitizeLabelName(m.spec.jobLabel)}`] });
  endpointLabel(r, { port: ep.port, targetPort: ep.targetPort });
  if (sc) r.addConfigs(sc.relabel_rule);
  r.addOperator(ep.relabelings);
  const mr = new Relabels(`${what} metricRelabelings`);
  mr.addOperator(ep.metricRelabelings);
  if (sc) mr.addConfigs(sc.metric_relabel_rule);
  const attachNode = m.spec.attachMetadata?.node ?? sc?.attach_metadata?.node ?? false;
  return finish(
    { jobName, interval: ep.interval, timeout: ep.scrapeTimeout, what, o, limits: m.spec },
    {
      discovery: { kind: 'kubernetes', role, namespaces: namespacesOf(m.spec.namespaceSelector, ns), attachNode },
      relabelConfigs: r.configs,
      metricRelabelConfigs: mr.configs,
      metricsPath: ep.path || '/metrics',
      scheme: ep.scheme || 'http',
      params: ep.params ?? {},
      honorLabels: ep.honorLabels ?? false,
      honorTimestamps: ep.honorTimestamps ?? true,
      http: await httpSettings(ep, ns, o.secrets, sc, what),
    },
  );
}

export async function podMonitorJob(m: PodMonitor, ep: PodMetricsEndpoint, i: number, o: GeneratorOptions): Promise<ScrapeJob> {
  const ns = m.metadata.namespace ?? 'default';
  const jobName = `podMonitor/${ns}/${m.metadata.name}/${i}`;
  const what = `PodMonitor ${ns}/${m.metadata.name} endpoint ${i}`;
  const sc = scrapeClassFor(m.spec.scrapeClass, o.scrapeClasses, what);
  const r = initRelabels(what, o);
  if (ep.filterRunning !== false) r.add({ source_labels: ['__meta_kubernetes_pod_phase'], action: 'drop', regex: '(Failed|Succeeded)' });
  r.addSelector('pod', m.spec.selector);
  portFilters(r, { port: ep.port, portNumber: ep.portNumber, targetPort: ep.targetPort }, '__meta_kubernetes_pod_container_port_name');
  r.add({ source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' });
  r.add({ source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' });
  r.add({ source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' });
  for (const l of m.spec.podTargetLabels ?? []) r.add({ source_labels: [`__meta_kubernetes_pod_label_${sanitizeLabelName(l)}`], replacement: '${1}', regex: '(.+)', target_label: sanitizeLabelName(l) });
  r.add({ replacement: `${ns}/${m.metadata.name}`, target_label: 'job' });
  if (m.spec.jobLabel) r.add({ replacement: '${1}', target_label: 'job', regex: '(.+)', source_labels: [`__meta_kubernetes_pod_label_${sanitizeLabelName(m.spec.jobLabel)}`] });
  endpointLabel(r, { port: ep.port, targetPort: ep.targetPort });
  if (sc) r.addConfigs(sc.relabel_rule);
  r.addOperator(ep.relabelings);
  const mr = new Relabels(`${what} metricRelabelings`);
  mr.addOperator(ep.metricRelabelings);
  if (sc) mr.addConfigs(sc.metric_relabel_rule);
  const attachNode = m.spec.attachMetadata?.node ?? sc?.attach_metadata?.node ?? false;
  return finish(
    { jobName, interval: ep.interval, timeout: ep.scrapeTimeout, what, o, limits: m.spec },
    {
      discovery: { kind: 'kubernetes', role: 'pod', namespaces: namespacesOf(m.spec.namespaceSelector, ns), attachNode },
      relabelConfigs: r.configs,
      metricRelabelConfigs: mr.configs,
      metricsPath: ep.path || '/metrics',
      scheme: ep.scheme || 'http',
      params: ep.params ?? {},
      honorLabels: ep.honorLabels ?? false,
      honorTimestamps: ep.honorTimestamps ?? true,
      http: await httpSettings(ep, ns, o.secrets, sc, what),
    },
  );
}

export async function probeJob(m: Probe, o: GeneratorOptions): Promise<ScrapeJob> {
  const ns = m.metadata.namespace ?? 'default';
  const jobName = `probe/${ns}/${m.metadata.name}`;
  const what = `Probe ${ns}/${m.metadata.name}`;
  const s = m.spec;
  const sc = scrapeClassFor(s.scrapeClass, o.scrapeClasses, what);
  const proberUrl = s.prober?.url ?? '';
  const r = initRelabels(what, o);
  if (s.jobName) r.add({ replacement: s.jobName, target_label: 'job' });
  let discovery: JobDiscovery = { kind: 'static', targets: [] };
  const st = s.targets?.staticConfig;
  const ing = s.targets?.ingress;
  if (st) {
    const labels: Record<string, string> = { ...(st.labels ?? {}) };
    labels['namespace'] ??= ns;
    discovery = { kind: 'static', targets: (st.static ?? []).map((t) => ({ ...labels, __address__: t })) };
    r.add({ source_labels: ['__address__'], target_label: '__param_target' });
    r.add({ source_labels: ['__param_target'], target_label: 'instance' });
    r.add({ replacement: proberUrl, target_label: '__address__' });
    if (sc) r.addConfigs(sc.relabel_rule);
    r.addOperator(st.relabelingConfigs);
  } else if (ing) {
    r.addSelector('ingress', ing.selector);
    discovery = { kind: 'kubernetes', role: 'ingress', namespaces: namespacesOf(ing.namespaceSelector, ns), attachNode: sc?.attach_metadata?.node ?? false };
    r.add({ source_labels: ['__meta_kubernetes_ingress_scheme', '__address__', '__meta_kubernetes_ingress_path'], target_label: '__param_target', separator: ';', regex: '(.+);(.+);(.+)', replacement: '${1}://${2}${3}' });
    r.add({ source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' });
    r.add({ source_labels: ['__meta_kubernetes_ingress_name'], target_label: 'ingress' });
    r.add({ source_labels: ['__address__'], target_label: '__tmp_ingress_address', separator: ';', regex: '(.+)', replacement: '$1' });
    r.add({ source_labels: ['__param_target'], target_label: 'instance' });
    r.add({ replacement: proberUrl, target_label: '__address__' });
    if (sc) r.addConfigs(sc.relabel_rule);
    r.addOperator(ing.relabelingConfigs);
  }
  const mr = new Relabels(`${what} metricRelabelings`);
  mr.addOperator(s.metricRelabelings);
  if (sc) mr.addConfigs(sc.metric_relabel_rule);
  return finish(
    { jobName, interval: s.interval, timeout: s.scrapeTimeout, what, o, limits: s },
    {
      discovery,
      relabelConfigs: r.configs,
      metricRelabelConfigs: mr.configs,
      metricsPath: s.prober?.path || '/probe',
      scheme: s.prober?.scheme || 'http',
      params: s.module ? { module: [s.module] } : {},
      honorLabels: false,
      honorTimestamps: true,
      http: await httpSettings({ ...s, ...(s.prober?.proxyUrl ? { proxyUrl: s.prober.proxyUrl } : {}) }, ns, o.secrets, sc, what),
    },
  );
}
