/**
 * Scrape jobs from ScrapeConfig resources (monitoring.coreos.com/v1alpha1), as upstream Alloy's
 * `configgen` (`config_gen_scrapeconfig.go`) generates them: one job per `staticConfigs` entry
 * (`scrapeConfig/<ns>/<name>/static/<i>`) and one per `httpSDConfigs` entry
 * (`scrapeConfig/<ns>/<name>/http/<i>`). Relabelings, in order: the component's `rule` blocks,
 * `job` → `__tmp_prometheus_job_name`, `__meta_kubernetes_scrapeconfig_namespace` and
 * `__meta_kubernetes_scrapeconfig_name`, the resource's `relabelings`, and for static configs
 * `__address__` → `instance` last. `metricRelabelings` apply to scraped series. Scrape settings
 * (interval, timeout, protocols, path, params, scheme lowercased, honor*, limits) and the HTTP
 * client (TLS, basic auth, authorization, OAuth2, proxy URL; credentials from Secrets and
 * ConfigMaps) come from the spec; scrape classes are not applied, as upstream.
 *
 * Contracts:
 * - Each entry is generated on its own: a bad entry (unparsable refresh interval, invalid URL)
 *   is an error naming the resource, the list and the index, and the other entries still make
 *   jobs; errors shared by every entry (bad duration, invalid relabeling, missing Secret) fail
 *   all of them.
 * - Every other service discovery list of the spec (`kubernetesSDConfigs`, `consulSDConfigs`,
 *   `fileSDConfigs`, ...) is not converted by upstream either; a non-empty one is an error naming
 *   the field, so the resource is reported instead of silently scraping less than it says.
 */
import type { HttpClientSettings } from '../../prometheus/scrape/http-client.js';
import type { KubeObject } from '../../common/kube/client.js';
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

export interface ScrapeConfigSpec extends MonitorLimits, Auth {
  readonly jobName?: string;
  readonly staticConfigs?: readonly StaticConfig[];
  readonly httpSDConfigs?: readonly HttpSdConfig[];
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

const CONVERTED = new Set(['staticConfigs', 'httpSDConfigs']);

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
  const unsupported = unsupportedDiscoveries(spec);
  if (unsupported.length > 0) {
    const ns = m.metadata.namespace ?? 'default';
    errors.push(
      `ScrapeConfig ${ns}/${m.metadata.name}: ${unsupported.join(', ')} ${unsupported.length === 1 ? 'is' : 'are'} not supported (as in Alloy, only staticConfigs and httpSDConfigs are converted); those targets are not scraped — use discovery.* with prometheus.scrape for them`,
    );
  }
  return { jobs, errors };
}
