/**
 * Scrape jobs from ScrapeConfig resources (monitoring.coreos.com/v1alpha1), as upstream Alloy's
 * `configgen` (`config_gen_scrapeconfig.go`) generates them: one job per `staticConfigs` entry
 * (`scrapeConfig/<ns>/<name>/static/<i>`) and one per `httpSDConfigs` entry
 * (`scrapeConfig/<ns>/<name>/http/<i>`). Relabelings, in order: the component's `rule` blocks,
 * `job` → `__tmp_prometheus_job_name`, `__meta_kubernetes_scrapeconfig_namespace` and
 * `__meta_kubernetes_scrapeconfig_name`, the resource's `relabelings`, and for static configs
 * `__address__` → `instance` last. `metricRelabelings` apply to scraped series.
 *
 * Beyond upstream (which converts static and HTTP SD only): `kubernetesSDConfigs[i]` becomes
 * `scrapeConfig/<ns>/<name>/kubernetes/<i>` with the same relabelings, its targets from the
 * `discovery.kubernetes` engine (role, namespaces, selectors, attachMetadata) through the
 * component's `client` connection; an entry with its own `apiServer` or API credentials is an
 * error (only the component's connection is used). Scrape settings
 * (interval, timeout, protocols, path, params, scheme lowercased, honor*, limits) and the HTTP
 * client (TLS, basic auth, authorization, OAuth2, proxy URL; credentials from Secrets and
 * ConfigMaps) come from the spec; scrape classes are not applied, as upstream.
 *
 * Contracts:
 * - Each entry is generated on its own: a bad entry (unparsable refresh interval, invalid URL)
 *   is an error naming the resource, the list and the index, and the other entries still make
 *   jobs; errors shared by every entry (bad duration, invalid relabeling, missing Secret) fail
 *   all of them.
 * - Every other service discovery list of the spec (`consulSDConfigs`, `fileSDConfigs`, ...) is
 *   not converted (upstream converts even fewer); a non-empty one is an error naming the field, so
 *   the resource is reported instead of silently scraping less than it says.
 */
import type { HttpClientSettings } from '../../prometheus/scrape/http-client.js';
import type { KubeObject } from '../../common/kube/client.js';
import { argumentsSchema as kubernetesDiscoveryArgs } from '../../discovery/kubernetes/kubernetes.js';
import { duration, finish, httpSettings, initRelabels, Relabels, type Auth, type GeneratorOptions, type MonitorLimits, type OperatorRelabelConfig, type SafeTlsConfig, type ScrapeJob } from './configgen.js';

export interface StaticConfig {
  readonly targets?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

export interface HttpSdConfig extends Auth {
  readonly url: string;
  readonly refreshInterval?: string;
  readonly tlsConfig?: SafeTlsConfig;
  readonly proxyUrl?: string;
  readonly followRedirects?: boolean;
}

export interface KubernetesSdConfig {
  readonly role: string;
  readonly namespaces?: { readonly ownNamespace?: boolean; readonly names?: readonly string[] };
  readonly selectors?: ReadonlyArray<{ readonly role: string; readonly label?: string; readonly field?: string }>;
  readonly attachMetadata?: { readonly node?: boolean };
  readonly apiServer?: string;
  readonly [field: string]: unknown;
}

export interface ScrapeConfigSpec extends MonitorLimits, Auth {
  readonly jobName?: string;
  readonly staticConfigs?: readonly StaticConfig[];
  readonly httpSDConfigs?: readonly HttpSdConfig[];
  readonly kubernetesSDConfigs?: readonly KubernetesSdConfig[];
  readonly relabelings?: readonly OperatorRelabelConfig[];
  readonly metricRelabelings?: readonly OperatorRelabelConfig[];
  readonly metricsPath?: string;
  readonly scrapeInterval?: string;
  readonly scrapeTimeout?: string;
  readonly honorTimestamps?: boolean;
  readonly honorLabels?: boolean;
  readonly params?: Readonly<Record<string, readonly string[]>>;
  readonly scheme?: string;
  readonly tlsConfig?: SafeTlsConfig;
  readonly proxyUrl?: string;
  readonly [field: string]: unknown;
}

export interface ScrapeConfig extends KubeObject {
  readonly spec?: ScrapeConfigSpec;
}

/** What a ScrapeConfig became: the jobs of its good entries and one message per failure. */
export interface ScrapeConfigJobs {
  readonly jobs: readonly ScrapeJob[];
  readonly errors: readonly string[];
}

/** Upstream's HTTP SD refresh interval when `refreshInterval` is unset (Prometheus's own default is 60 s). */
export const HTTP_SD_DEFAULT_REFRESH_MS = 30_000;

const CONVERTED = new Set(['staticConfigs', 'httpSDConfigs', 'kubernetesSDConfigs']);

/** Fields of a KubernetesSDConfig that configure its own API connection, which is not supported. */
const OWN_CONNECTION = ['apiServer', 'basicAuth', 'authorization', 'oauth2', 'tlsConfig', 'proxyUrl', 'noProxy', 'proxyFromEnvironment', 'proxyConnectHeader'];

/** The spec's service discovery lists that are set but not converted (every `*SDConfigs` field but `httpSDConfigs`). */
export function unsupportedDiscoveries(spec: ScrapeConfigSpec): string[] {
  return Object.keys(spec)
    .filter((k) => /SDConfigs$/i.test(k) && !CONVERTED.has(k))
    .filter((k) => {
      const v = spec[k];
      return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null;
    })
    .sort();
}

/** Prefixes a Secret/ConfigMap read failure with the resource entry it is for. */
async function named<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    const msg = (err as Error).message;
    throw new Error(msg.startsWith(what) ? msg : `${what}: ${msg}`);
  }
}

/** The settings every job of the resource shares (`commonScrapeConfigConfig`). */
async function common(m: ScrapeConfig, what: string, jobName: string, o: GeneratorOptions): Promise<{ relabels: Relabels; metricRelabels: Relabels; build: (discovery: ScrapeJob['discovery'], r: Relabels) => ScrapeJob }> {
  const spec = m.spec ?? {};
  const ns = m.metadata.namespace ?? 'default';
  const relabels = initRelabels(what, o);
  relabels.add({ replacement: ns, target_label: '__meta_kubernetes_scrapeconfig_namespace' });
  relabels.add({ replacement: m.metadata.name, target_label: '__meta_kubernetes_scrapeconfig_name' });
  relabels.addOperator(spec.relabelings);
  const metricRelabels = new Relabels(`${what} metricRelabelings`);
  metricRelabels.addOperator(spec.metricRelabelings);
  const scheme = (spec.scheme ?? '').toLowerCase() || 'http';
  if (scheme !== 'http' && scheme !== 'https') throw new Error(`${what}: scheme ${JSON.stringify(spec.scheme)} is not supported; use HTTP or HTTPS`);
  const http = await named(what, httpSettings(spec, ns, o.secrets, undefined, what));
  const build = (discovery: ScrapeJob['discovery'], r: Relabels): ScrapeJob =>
    finish(
      { jobName, interval: spec.scrapeInterval, timeout: spec.scrapeTimeout, what, o, limits: spec },
      {
        discovery,
        relabelConfigs: r.configs,
        metricRelabelConfigs: metricRelabels.configs,
        metricsPath: spec.metricsPath || '/metrics',
        scheme,
        params: spec.params ?? {},
        honorLabels: spec.honorLabels ?? false,
        honorTimestamps: spec.honorTimestamps ?? true,
        http,
      },
    );
  return { relabels, metricRelabels, build };
}

/** The job of `staticConfigs[i]` (`generateStaticScrapeConfigConfig`). @throws Error naming the resource and entry. */
export async function staticScrapeConfigJob(m: ScrapeConfig, sc: StaticConfig, i: number, o: GeneratorOptions): Promise<ScrapeJob> {
  const ns = m.metadata.namespace ?? 'default';
  const jobName = `scrapeConfig/${ns}/${m.metadata.name}/static/${i}`;
  const what = `ScrapeConfig ${ns}/${m.metadata.name} staticConfigs[${i}]`;
  const { relabels, build } = await common(m, what, jobName, o);
  relabels.add({ source_labels: ['__address__'], target_label: 'instance' });
  const labels = { ...(sc.labels ?? {}) };
  const targets = (sc.targets ?? []).map((t) => ({ ...labels, __address__: t }));
  return build({ kind: 'static', targets }, relabels);
}

/** The job of `httpSDConfigs[i]` (`generateHTTPScrapeConfigConfig`). @throws Error naming the resource and entry. */
export async function httpScrapeConfigJob(m: ScrapeConfig, sd: HttpSdConfig, i: number, o: GeneratorOptions): Promise<ScrapeJob> {
  const ns = m.metadata.namespace ?? 'default';
  const jobName = `scrapeConfig/${ns}/${m.metadata.name}/http/${i}`;
  const what = `ScrapeConfig ${ns}/${m.metadata.name} httpSDConfigs[${i}]`;
  const { relabels, build } = await common(m, what, jobName, o);
  const refreshIntervalMs = duration(sd.refreshInterval, HTTP_SD_DEFAULT_REFRESH_MS, `${what}: refreshInterval`);
  if (refreshIntervalMs <= 0) throw new Error(`${what}: refreshInterval must be greater than 0`);
  let url: URL;
  try {
    url = new URL(sd.url ?? '');
  } catch {
    throw new Error(`${what}: url ${JSON.stringify(sd.url ?? '')} is not a URL; use http(s)://host[:port]/path`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${what}: url scheme must be 'http' or 'https', got ${JSON.stringify(sd.url)}`);
  const http: HttpClientSettings = await named(what, httpSettings(sd, ns, o.secrets, undefined, what));
  return build({ kind: 'http', url: sd.url, refreshIntervalMs, http }, relabels);
}

/** The job of `kubernetesSDConfigs[i]` (our extension, named as upstream names its others). @throws Error naming the resource and entry. */
export async function kubernetesScrapeConfigJob(m: ScrapeConfig, sd: KubernetesSdConfig, i: number, o: GeneratorOptions): Promise<ScrapeJob> {
  const ns = m.metadata.namespace ?? 'default';
  const jobName = `scrapeConfig/${ns}/${m.metadata.name}/kubernetes/${i}`;
  const what = `ScrapeConfig ${ns}/${m.metadata.name} kubernetesSDConfigs[${i}]`;
  const own = OWN_CONNECTION.filter((k) => sd[k] !== undefined && sd[k] !== null);
  if (own.length > 0) throw new Error(`${what}: ${own.join(', ')} ${own.length === 1 ? 'is' : 'are'} not supported: the discovery uses the component's client block to reach the API server`);
  const lower = (r: unknown): string => (typeof r === 'string' ? r.toLowerCase() : String(r));
  const parsed = kubernetesDiscoveryArgs.safeParse({
    role: lower(sd.role),
    namespaces: { own_namespace: sd.namespaces?.ownNamespace ?? false, names: [...(sd.namespaces?.names ?? [])] },
    selectors: (sd.selectors ?? []).map((x) => ({ role: lower(x.role), label: x.label ?? '', field: x.field ?? '' })),
    attach_metadata: { node: sd.attachMetadata?.node ?? false },
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${what}: ${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  const a = parsed.data;
  const { relabels, build } = await common(m, what, jobName, o);
  return build(
    {
      kind: 'kubernetes',
      role: a.role as Extract<ScrapeJob['discovery'], { kind: 'kubernetes' }>['role'],
      namespaces: a.namespaces?.names ?? [],
      attachNode: a.attach_metadata?.node ?? false,
      selectors: a.selectors,
      ownNamespace: a.namespaces?.own_namespace ?? false,
    },
    relabels,
  );
}

/** Every job of a ScrapeConfig (`GenerateScrapeConfigConfigs`), with one error per entry or list that could not be converted. */
export async function scrapeConfigJobs(m: ScrapeConfig, o: GeneratorOptions): Promise<ScrapeConfigJobs> {
  const spec = m.spec ?? {};
  const jobs: ScrapeJob[] = [];
  const errors: string[] = [];
  const attempt = async (make: () => Promise<ScrapeJob>): Promise<void> => {
    try {
      jobs.push(await make());
    } catch (err) {
      errors.push((err as Error).message);
    }
  };
  const statics = spec.staticConfigs ?? [];
  for (let i = 0; i < statics.length; i++) await attempt(() => staticScrapeConfigJob(m, statics[i]!, i, o));
  const https = spec.httpSDConfigs ?? [];
  for (let i = 0; i < https.length; i++) await attempt(() => httpScrapeConfigJob(m, https[i]!, i, o));
  const kubes = spec.kubernetesSDConfigs ?? [];
  for (let i = 0; i < kubes.length; i++) await attempt(() => kubernetesScrapeConfigJob(m, kubes[i]!, i, o));
  const unsupported = unsupportedDiscoveries(spec);
  if (unsupported.length > 0) {
    const ns = m.metadata.namespace ?? 'default';
    errors.push(
      `ScrapeConfig ${ns}/${m.metadata.name}: ${unsupported.join(', ')} ${unsupported.length === 1 ? 'is' : 'are'} not supported (staticConfigs, httpSDConfigs and kubernetesSDConfigs are converted); those targets are not scraped — use discovery.* with prometheus.scrape for them`,
    );
  }
  return { jobs, errors };
}
