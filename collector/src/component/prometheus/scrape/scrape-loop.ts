/**
 * One target's scrape loop: scheduling at a stable offset, fetch → parse → label mutation through
 * a per-target series cache (raw series text → reused `Labels` object), limits, synthetic report
 * series, staleness markers, and appending one batch per scrape to the `forward_to` receivers.
 * Contracts: `scrapeOnce` never throws (failures become `up=0` and the target's last error);
 * scrapes of one target never overlap; `stop(true)` writes staleness markers for every series the
 * target last exposed, including its report series.
 */
import { appendFile } from 'node:fs';
import type { Logger } from 'winston';
import type { Exemplar, Label, Labels, MetricMetadata, MetricsReceiver, SampleBatch, ScrapeContext } from '../../../prom/types.js';
import { STALE_NAN } from '../../../prom/types.js';
import { LabelsBuilder, labelsToRecord, METRIC_NAME, sortLabels } from '../../../prom/labels/labels.js';
import { processBuilder, type CompiledRule } from '../../../prom/relabel/relabel.js';
import { detach, formatForContentType, TextParser, type ExpositionFormat } from '../../../prom/textparse/textparse.js';
import { BodySizeLimitError, type ScrapeHttpClient } from './http-client.js';
import type { Target } from './target.js';
import { redactText, redactUrl } from '../../../logging/redact.js';

/** Longest stretch of synchronous parsing in one scrape before it yields to the event loop. */
const YIELD_EVERY_MS = 20;

export interface LoopConfig {
  readonly jobName: string;
  readonly honorLabels: boolean;
  readonly honorTimestamps: boolean;
  readonly trackTimestampsStaleness: boolean;
  readonly sampleLimit: number;
  readonly labelLimit: number;
  readonly labelNameLengthLimit: number;
  readonly labelValueLengthLimit: number;
  readonly bodySizeLimit: number;
  readonly enableCompression: boolean;
  readonly extraMetrics: boolean;
  readonly accept: string;
  readonly fallbackFormat: ExpositionFormat;
  readonly userAgent: string;
  /** `scrape_failure_log_file`: failed scrapes are appended here as JSON lines. */
  readonly failureLogFile?: string | undefined;
  /**
   * Prometheus `metric_relabel_configs`, applied to each scraped series after the target labels
   * (not to the report series such as `up`); a series a rule drops is not appended.
   */
  readonly metricRelabel?: readonly CompiledRule[] | undefined;
}

export type TargetHealth = 'up' | 'down' | 'unknown';

export interface TargetStatus {
  readonly job: string;
  readonly url: string;
  readonly health: TargetHealth;
  readonly labels: Record<string, string>;
  readonly discovered_labels: Readonly<Record<string, string>>;
  readonly last_error: string;
  readonly last_scrape: string | null;
  readonly last_scrape_duration: string;
}

interface SeriesEntry {
  /** The raw series text (detached from the body). */
  readonly key: string;
  /** `null`: dropped by `metricRelabel` (cached so the rules run once per series). */
  readonly labels: Labels | null;
  lastIter: number;
}

/** An entry whose series is appended (not dropped by metric relabeling). */
type KeptEntry = SeriesEntry & { readonly labels: Labels };

/** Accumulates one scrape's samples; grows its typed arrays and is reused across scrapes. */
export class BatchBuilder {
  #series: Labels[] = [];
  #ts = new Float64Array(1024);
  #vals = new Float64Array(1024);
  #len = 0;
  #exemplars: Map<number, Exemplar> | undefined;

  get length(): number {
    return this.#len;
  }

  reset(): void {
    this.#series.length = 0;
    this.#len = 0;
    this.#exemplars = undefined;
  }

  push(series: Labels, ts: number, value: number, exemplar?: Exemplar): void {
    const n = this.#len;
    if (n === this.#ts.length) {
      const ts2 = new Float64Array(n * 2);
      ts2.set(this.#ts);
      this.#ts = ts2;
      const v2 = new Float64Array(n * 2);
      v2.set(this.#vals);
      this.#vals = v2;
    }
    this.#series.push(series);
    this.#ts[n] = ts;
    this.#vals[n] = value;
    if (exemplar) (this.#exemplars ??= new Map()).set(n, exemplar);
    this.#len = n + 1;
  }

  /** A batch over copies of the current contents (consumers may hold it while we reuse buffers). */
  build(context?: ScrapeContext): SampleBatch {
    const n = this.#len;
    const batch: SampleBatch = {
      series: this.#series.slice(0, n),
      timestamps: this.#ts.slice(0, n),
      values: this.#vals.slice(0, n),
      length: n,
      ...(this.#exemplars ? { exemplars: this.#exemplars } : {}),
      ...(context ? { context } : {}),
    };
    return batch;
  }
}

class ScrapeFailure extends Error {}

/** Counters Prometheus's scrape manager exposes (names as in Prometheus), shared by a component's loops. */
export interface ScrapeCounters {
  exceededSampleLimit(): void;
  exceededBodySizeLimit(): void;
  duplicateTimestamp(n: number): void;
}

export interface LoopDeps {
  readonly counters?: ScrapeCounters | undefined;
  /** The current client (replaced when HTTP settings change). */
  readonly client: () => ScrapeHttpClient;
  readonly receivers: () => readonly MetricsReceiver[];
  /** Sees every scraped batch before it is forwarded (live debugging). */
  readonly publish?: (batch: SampleBatch) => void;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class ScrapeLoop {
  #target: Target;
  #interval = 0;
  /** When the next scrape is due (ms, on the loop's clock). */
  #next = 0;
  #cfg: LoopConfig;
  readonly #deps: LoopDeps;
  readonly #now: () => number;
  readonly #cache = new Map<string, SeriesEntry>();
  #prev: KeptEntry[] = [];
  /** Entries in exposition order of the last successful parse (position hints for lookups). */
  #order: SeriesEntry[] = [];
  #iter = 0;
  readonly #lb = new LabelsBuilder();
  readonly #batch = new BatchBuilder();
  /** Metadata of the last successful scrape (kept on failures, as Prometheus's cache). */
  #metadata: ReadonlyMap<string, MetricMetadata> = EMPTY_METADATA;
  #ctx: ScrapeContext | undefined;
  readonly #reportLabels = new Map<string, Labels>();
  #reportedLast: Labels[] = [];
  // Status.
  #health: TargetHealth = 'unknown';
  #lastError = '';
  #lastScrape: number | null = null;
  #lastDurationMs = 0;
  // Scheduling.
  #timer: NodeJS.Timeout | undefined;
  #abort = new AbortController();
  #inflight: Promise<void> | undefined;
  #stopped = false;

  constructor(target: Target, cfg: LoopConfig, deps: LoopDeps) {
    this.#target = target;
    this.#cfg = cfg;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  get target(): Target {
    return this.#target;
  }

  /**
   * Swaps in the same target with a new interval/timeout (same `key`), keeping the series cache
   * and staleness state. A changed interval reschedules a started loop at `offsetMs` (its stable
   * offset within the new interval), as Prometheus restarts loops whose interval changed: a loop
   * must not wait out the rest of a long old interval before the new one applies.
   */
  retarget(target: Target, offsetMs: number): void {
    if (target.key !== this.#target.key) throw new Error('retarget: target identity differs');
    const changed = target.intervalMs !== this.#target.intervalMs;
    this.#target = target;
    if (this.#interval === 0) return;
    this.#interval = target.intervalMs;
    if (changed && !this.#stopped) this.#schedule(offsetMs);
  }

  /** Applies new settings from the next scrape on; the series cache is kept when label handling is unchanged. */
  setConfig(cfg: LoopConfig): void {
    if (cfg.honorLabels !== this.#cfg.honorLabels || cfg.metricRelabel !== this.#cfg.metricRelabel || cfg.labelLimit !== this.#cfg.labelLimit || cfg.labelNameLengthLimit !== this.#cfg.labelNameLengthLimit || cfg.labelValueLengthLimit !== this.#cfg.labelValueLengthLimit) {
      this.#cache.clear();
      this.#order = [];
    }
    this.#cfg = cfg;
  }

  /** Starts scraping after `offsetMs`, then every target interval (missed ticks are skipped). */
  start(offsetMs: number): void {
    this.#interval = this.#target.intervalMs;
    this.#schedule(offsetMs);
  }

  /** The next scrape in `offsetMs`, replacing a pending one; later ones follow every interval. */
  #schedule(offsetMs: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#next = this.#now() + offsetMs;
    this.#timer = setTimeout(this.#tick, Math.max(0, offsetMs));
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    // Rescheduled while a scrape was in flight: that scrape's completion schedules the next one.
    if (this.#stopped || this.#inflight) return;
    this.#inflight = this.scrapeOnce().finally(() => {
      this.#inflight = undefined;
      if (this.#stopped || this.#timer) return;
      const now = this.#now();
      const interval = this.#interval;
      this.#next += interval;
      if (this.#next <= now) this.#next += Math.ceil((now - this.#next + 1) / interval) * interval;
      this.#timer = setTimeout(this.#tick, this.#next - now);
    });
  };

  /** Stops the loop; with `markStale`, writes staleness markers for everything last exposed. */
  async stop(markStale: boolean): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#abort.abort();
    if (this.#inflight) await this.#inflight;
    if (!markStale) return;
    const ts = this.#now();
    const b = this.#batch;
    b.reset();
    for (const e of this.#prev) b.push(e.labels, ts, STALE_NAN);
    for (const l of this.#reportedLast) b.push(l, ts, STALE_NAN);
    this.#prev = [];
    this.#reportedLast = [];
    if (b.length > 0) await this.#append(b.build(this.#context()));
  }

  status(): TargetStatus {
    return {
      job: this.#cfg.jobName,
      url: redactUrl(this.#target.url.href),
      health: this.#health,
      labels: labelsToRecord(this.#target.labels),
      discovered_labels: this.#target.discovered,
      last_error: this.#lastError,
      last_scrape: this.#lastScrape === null ? null : new Date(this.#lastScrape).toISOString(),
      last_scrape_duration: `${(this.#lastDurationMs / 1000).toFixed(6)}s`,
    };
  }

  /** The batch context for the current target and metadata (one object while both are unchanged). */
  #context(): ScrapeContext {
    const t = this.#target;
    const c = this.#ctx;
    if (c && c.metadata === this.#metadata && c.discoveredLabels === t.discovered) return c;
    return (this.#ctx = { metadata: this.#metadata, discoveredLabels: t.discovered, scheme: t.url.protocol.replace(/:$/, '') });
  }

  #reportSeries(name: string): Labels {
    let l = this.#reportLabels.get(name);
    if (!l) {
      const arr: Label[] = this.#target.labels.filter((x) => x.name !== METRIC_NAME).slice();
      arr.push({ name: METRIC_NAME, value: name });
      l = sortLabels(arr);
      this.#reportLabels.set(name, l);
    }
    return l;
  }

  /** Target labels and metric relabeling applied to a scraped series (Prometheus `mutateSampleLabels`); null when dropped. */
  #mutate(exposed: Labels): Labels | null {
    const lb = this.#lb.reset(exposed);
    const tl = this.#target.labels;
    // Target labels go in as the target's own `Label` objects, shared by all its series.
    if (this.#cfg.honorLabels) {
      for (const l of tl) if (lb.get(l.name) === '') lb.setLabel(l);
    } else {
      let conflicts: Label[] | undefined;
      for (const l of tl) {
        const existing = lb.get(l.name);
        if (existing !== '') (conflicts ??= []).push({ name: l.name, value: existing });
        lb.setLabel(l);
      }
      if (conflicts) {
        conflicts.sort((a, b) => a.name.length - b.name.length);
        for (const c of conflicts) {
          let name = c.name;
          for (;;) {
            name = 'exported_' + name;
            if (lb.get(name) === '') {
              lb.set(name, c.value);
              break;
            }
          }
        }
      }
    }
    const cfg = this.#cfg;
    if (cfg.metricRelabel && cfg.metricRelabel.length > 0 && !processBuilder(lb, cfg.metricRelabel)) return null;
    const out = lb.labels();
    if (out.length === 0) return null;
    if (cfg.labelLimit > 0 && out.length > cfg.labelLimit) {
      throw new ScrapeFailure(`label_limit exceeded (metric: ${getName(out)}, number of labels: ${out.length}, limit: ${cfg.labelLimit})`);
    }
    if (cfg.labelNameLengthLimit > 0 || cfg.labelValueLengthLimit > 0) {
      for (const l of out) {
        if (cfg.labelNameLengthLimit > 0 && l.name.length > cfg.labelNameLengthLimit) {
          throw new ScrapeFailure(`label_name_length_limit exceeded (metric: ${getName(out)}, label name: ${l.name}, limit: ${cfg.labelNameLengthLimit})`);
        }
        if (cfg.labelValueLengthLimit > 0 && l.value.length > cfg.labelValueLengthLimit) {
          throw new ScrapeFailure(`label_value_length_limit exceeded (metric: ${getName(out)}, label name: ${l.name}, value: ${JSON.stringify(l.value)}, limit: ${cfg.labelValueLengthLimit})`);
        }
      }
    }
    return out;
  }

  /** One scrape: never throws. Resolves after the batch was appended (or the append failed). */
  async scrapeOnce(): Promise<void> {
    const cfg = this.#cfg;
    const iter = ++this.#iter;
    const start = this.#now();
    const t0 = performance.now();
    const b = this.#batch;
    b.reset();
    const cur: KeptEntry[] = [];
    let scraped = 0;
    let added = 0;
    let bodyBytes = 0;
    let duplicates = 0;
    let err: string | undefined;
    try {
      const res = await this.#deps.client().fetch({
        url: this.#target.url,
        headers: {
          Accept: cfg.accept,
          'Accept-Encoding': cfg.enableCompression ? 'gzip' : 'identity',
          'User-Agent': cfg.userAgent,
          'X-Prometheus-Scrape-Timeout-Seconds': String(this.#target.timeoutMs / 1000),
        },
        timeoutMs: this.#target.timeoutMs,
        bodySizeLimit: cfg.bodySizeLimit,
        signal: this.#abort.signal,
      });
      bodyBytes = res.body.length;
      if (res.status !== 200) throw new ScrapeFailure(`server returned HTTP status ${res.status} ${httpStatusText(res.status)}`);
      const format = formatForContentType(res.contentType, cfg.fallbackFormat);
      const p = new TextParser(res.body.toString('utf8'), format);
      const honorTs = cfg.honorTimestamps;
      const cache = this.#cache;
      const order = this.#order;
      const nextOrder: SeriesEntry[] = [];
      let pos = 0;
      let sliceStart = performance.now();
      let meta: Map<string, MetricMetadata> | undefined;
      for (let k = p.next(); k !== 'eof'; k = p.next()) {
        if (k !== 'series') {
          if (k === 'type' || k === 'help' || k === 'unit') meta = addMetadata(meta ?? new Map(), k, p.metricName, p.text);
          continue;
        }
        scraped++;
        // A large exposition (100k+ series) is parsed in slices of at most YIELD_EVERY_MS so the
        // event loop keeps serving HTTP (keep-alive sockets, /metrics) and remote-write sends.
        if ((scraped & 1023) === 0 && performance.now() - sliceStart > YIELD_EVERY_MS) {
          await new Promise<void>((r) => setImmediate(r));
          if (this.#stopped) throw new ScrapeFailure('scrape loop stopped');
          sliceStart = performance.now();
        }
        const key = p.seriesKey;
        // Expositions usually list series in the same order every scrape: comparing with the
        // entry at the same position is ~3x cheaper than hashing the key for a Map lookup.
        const cand = order[pos];
        let e = cand !== undefined && cand.key === key ? cand : cache.get(key);
        if (e === undefined) {
          const own = detach(key);
          e = { key: own, labels: this.#mutate(p.labels()), lastIter: 0 };
          cache.set(own, e);
          added++;
        }
        nextOrder[pos++] = e;
        if (e.labels === null) {
          e.lastIter = iter; // dropped by metric relabeling; kept in the cache while exposed
          continue;
        }
        if (e.lastIter === iter) {
          duplicates++; // duplicate series in one exposition: first sample wins
          continue;
        }
        e.lastIter = iter;
        const exposedTs = p.timestamp;
        const ts = honorTs && exposedTs !== undefined ? exposedTs : start;
        if (!honorTs || exposedTs === undefined || cfg.trackTimestampsStaleness) cur.push(e as KeptEntry);
        b.push(e.labels, ts, p.value, p.exemplar());
      }
      this.#order = nextOrder;
      this.#metadata = meta ?? EMPTY_METADATA;
      if (duplicates > 0) this.#deps.counters?.duplicateTimestamp(duplicates);
      if (cfg.sampleLimit > 0 && b.length > cfg.sampleLimit) {
        this.#deps.counters?.exceededSampleLimit();
        throw new ScrapeFailure(`sample limit exceeded: ${b.length} samples, sample_limit is ${cfg.sampleLimit}`);
      }
    } catch (e) {
      err = e instanceof Error ? e.message : String(e);
      if (e instanceof BodySizeLimitError) this.#deps.counters?.exceededBodySizeLimit();
      if (this.#abort.signal.aborted && this.#stopped) err = 'scrape loop stopped';
      b.reset();
      for (const c of cur) c.lastIter = 0;
      for (const c of this.#cache.values()) if (c.lastIter === iter) c.lastIter = 0;
      cur.length = 0;
      added = 0;
      // Position hints must come from the previous successful scrape (whose entries eviction keeps).
      this.#order = [];
    }
    // A scrape cut short by stop() reports nothing; stop() marks the last exposed series stale.
    if (this.#stopped && err !== undefined) return;
    const appended = b.length;
    // Staleness: series exposed last time but not now.
    for (const e of this.#prev) if (e.lastIter !== iter) b.push(e.labels, start, STALE_NAN);
    this.#prev = cur;
    // Evict series not seen in the last two scrapes.
    if (iter % 2 === 0) for (const [k, e] of this.#cache) if (e.lastIter < iter - 1) this.#cache.delete(k);
    const durationMs = performance.now() - t0;
    const report: Array<[string, number]> = [
      ['up', err === undefined ? 1 : 0],
      ['scrape_duration_seconds', durationMs / 1000],
      ['scrape_samples_scraped', scraped],
      ['scrape_samples_post_metric_relabeling', appended],
      ['scrape_series_added', added],
    ];
    if (cfg.extraMetrics) {
      report.push(['scrape_timeout_seconds', this.#target.timeoutMs / 1000], ['scrape_sample_limit', cfg.sampleLimit], ['scrape_body_size_bytes', err === undefined ? bodyBytes : 0]);
    }
    const reported: Labels[] = [];
    for (const [name, v] of report) {
      const l = this.#reportSeries(name);
      reported.push(l);
      b.push(l, start, v);
    }
    for (const l of this.#reportedLast) if (!reported.includes(l)) b.push(l, start, STALE_NAN);
    this.#reportedLast = reported;
    if (err !== undefined) {
      this.#deps.logger.debug('scrape failed', { target: redactUrl(this.#target.url.href), job: cfg.jobName, err });
      if (cfg.failureLogFile) this.#logFailure(cfg.failureLogFile, start, err);
    }
    this.#health = err === undefined ? 'up' : 'down';
    this.#lastError = err ?? '';
    this.#lastScrape = start;
    this.#lastDurationMs = durationMs;
    await this.#append(b.build(this.#context()));
  }

  /** Prometheus's scrape failure log: one JSON object per failed scrape; write errors are logged once. */
  #logFailure(file: string, ts: number, err: string): void {
    const line = JSON.stringify({ time: new Date(ts).toISOString(), level: 'ERROR', msg: redactText(err), job: this.#cfg.jobName, url: redactUrl(this.#target.url.href), labels: labelsToRecord(this.#target.labels) }) + '\n';
    appendFile(file, line, (e) => {
      if (e && !this.#failureLogBroken) {
        this.#failureLogBroken = true;
        this.#deps.logger.error(`cannot write scrape_failure_log_file ${file}: ${e.message}`);
      }
    });
  }
  #failureLogBroken = false;

  async #append(batch: SampleBatch): Promise<void> {
    this.#deps.publish?.(batch);
    const receivers = this.#deps.receivers();
    if (receivers.length === 0) return;
    try {
      await Promise.all(receivers.map((r) => r.append(batch)));
    } catch (e) {
      const msg = `appending scraped samples failed: ${e instanceof Error ? e.message : String(e)}`;
      this.#deps.logger.warn(msg, { target: redactUrl(this.#target.url.href) });
      if (this.#lastError === '') this.#lastError = msg;
    }
  }
}

const EMPTY_METADATA: ReadonlyMap<string, MetricMetadata> = new Map();

/** Records one `# TYPE`/`# HELP`/`# UNIT` entry (text-format `untyped` is `unknown`). */
function addMetadata(m: Map<string, MetricMetadata>, kind: 'type' | 'help' | 'unit', family: string, text: string): Map<string, MetricMetadata> {
  const cur = m.get(family) ?? { type: 'unknown', help: '', unit: '' };
  if (kind === 'type') m.set(family, { ...cur, type: text === 'untyped' ? 'unknown' : (text as MetricMetadata['type']) });
  else if (kind === 'help') m.set(family, { ...cur, help: text });
  else m.set(family, { ...cur, unit: text });
  return m;
}

function getName(ls: Labels): string {
  for (const l of ls) if (l.name === METRIC_NAME) return l.value;
  return '';
}

const STATUS_TEXT: Record<number, string> = { 301: 'Moved Permanently', 302: 'Found', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
function httpStatusText(code: number): string {
  return STATUS_TEXT[code] ?? '';
}
