/**
 * HTTP service discovery as Prometheus's `discovery/http` does it: GET the URL (headers
 * `Accept: application/json`, `X-Prometheus-Refresh-Interval-Seconds`), at once and then every
 * refresh interval, with the refresh interval as the request timeout. The answer must be 200 with
 * Content-Type `application/json` (optionally `; charset=utf-8`) and a JSON array of
 * `{ "targets": [...], "labels": {...} }` groups; every target becomes a label set with the
 * group's labels, `__meta_url` (the configured URL) and `__address__`. Requests go through the
 * scrape HTTP client (`transport/`: TLS, basic auth, authorization, OAuth2, proxy, redirects).
 *
 * Used by `prometheus.operator.scrapeconfigs` for `httpSDConfigs`; a `discovery.http` component
 * would wrap the same engine.
 *
 * Contracts:
 * - `run` never throws: a failed refresh (transport error, non-200, wrong content type, invalid
 *   JSON, an invalid label name, a null group) is reported through `onError` with the reason and
 *   the last good targets stay; the next good refresh clears it (`onError(undefined)`).
 * - `onTargets` is called after every good refresh, also when the targets are unchanged.
 */
import { sleep } from '../../../clock/clock.js';
import { ScrapeHttpClient, type HttpClientSettings } from '../../prometheus/scrape/http-client.js';

export type LabelSet = Record<string, string>;

export interface HttpDiscoveryOptions {
  readonly url: string;
  readonly refreshIntervalMs: number;
  readonly http: HttpClientSettings;
  readonly userAgent: string;
  readonly onTargets: (targets: readonly LabelSet[]) => void;
  readonly onError: (error: string | undefined) => void;
  /** Maps a `host:port` to the address to connect to (clustering's `dialAddress`). */
  readonly dial?: ((hostPort: string) => string) | undefined;
}

const CONTENT_TYPE = /^application\/json(;\s*charset=("utf-8"|utf-8))?$/i;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Upper bound of an SD answer; Prometheus reads it whole, this keeps a broken server from exhausting memory. */
const MAX_BODY = 64 * 1024 * 1024;

/** Prometheus's `targetgroup.Group` JSON decoding, flattened to one label set per target. @throws Error naming the problem. */
export function parseTargetGroups(body: string, url: string): LabelSet[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new Error(`the answer is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new Error('the answer is not a JSON array of target groups');
  const out: LabelSet[] = [];
  doc.forEach((g: unknown, i) => {
    if (g === null) throw new Error('nil target group item found');
    if (typeof g !== 'object' || Array.isArray(g)) throw new Error(`target group ${i} is not a JSON object`);
    for (const k of Object.keys(g)) if (k !== 'targets' && k !== 'labels') throw new Error(`target group ${i}: unknown field ${JSON.stringify(k)}`);
    const { targets, labels } = g as { targets?: unknown; labels?: unknown };
    if (targets !== undefined && targets !== null && (!Array.isArray(targets) || targets.some((t) => typeof t !== 'string'))) throw new Error(`target group ${i}: targets must be a list of strings`);
    const groupLabels: LabelSet = {};
    if (labels !== undefined && labels !== null) {
      if (typeof labels !== 'object' || Array.isArray(labels)) throw new Error(`target group ${i}: labels must be an object of strings`);
      for (const [k, v] of Object.entries(labels)) {
        if (!LABEL_NAME.test(k)) throw new Error(`target group ${i}: ${JSON.stringify(k)} is not a valid label name`);
        if (typeof v !== 'string') throw new Error(`target group ${i}: the value of label ${JSON.stringify(k)} is not a string`);
        groupLabels[k] = v;
      }
    }
    groupLabels['__meta_url'] = url;
    for (const t of (targets as string[] | null | undefined) ?? []) out.push({ ...groupLabels, __address__: t });
  });
  return out;
}

export class HttpDiscovery {
  readonly #o: HttpDiscoveryOptions;
  readonly #client: ScrapeHttpClient;

  /** @throws Error when the HTTP client settings are unusable (unreadable TLS file, bad proxy URL). */
  constructor(o: HttpDiscoveryOptions) {
    this.#o = o;
    this.#client = new ScrapeHttpClient(o.http, o.dial);
  }

  /** Closes idle connections; `run` does this when it returns. */
  close(): void {
    this.#client.close();
  }

  /** One refresh. @throws Error with the reason (the caller keeps its last targets). */
  async refresh(signal?: AbortSignal): Promise<LabelSet[]> {
    const o = this.#o;
    const res = await this.#client.fetch({
      url: new URL(o.url),
      headers: { 'user-agent': o.userAgent, accept: 'application/json', 'x-prometheus-refresh-interval-seconds': String(o.refreshIntervalMs / 1000) },
      timeoutMs: o.refreshIntervalMs,
      bodySizeLimit: MAX_BODY,
      signal,
    });
    if (res.status !== 200) throw new Error(`server returned HTTP status ${res.status}`);
    const ct = (res.contentType ?? '').trim();
    if (!CONTENT_TYPE.test(ct)) throw new Error(`unsupported content type ${JSON.stringify(ct)}; the server must answer application/json`);
    return parseTargetGroups(res.body.toString('utf8'), o.url);
  }

  /** Refreshes until `signal` aborts; see the module contracts. */
  async run(signal: AbortSignal): Promise<void> {
    const o = this.#o;
    try {
      while (!signal.aborted) {
        try {
          const targets = await this.refresh(signal);
          if (signal.aborted) break;
          o.onTargets(targets);
          o.onError(undefined);
        } catch (err) {
          if (signal.aborted) break;
          o.onError(`HTTP service discovery from ${o.url}: ${(err as Error).message}`);
        }
        await sleep(o.refreshIntervalMs, signal);
      }
    } finally {
      this.close();
    }
  }
}
