/**
 * `stage.metrics`: counters, gauges and histograms updated from extracted values, exposed on the
 * collector's `/metrics` (with `component_id`) under `prefix + name`, labelled with the entry's
 * labels at that point of the pipeline. Series not updated for `max_idle_duration` are removed.
 * Values convert as Alloy's: numbers, numeric strings, Go durations (as seconds), booleans (1/0).
 * A rebuild (config update) removes the old metrics: they restart from zero, as in Alloy.
 */
import { z } from 'zod';
import type { Registry } from 'prom-client';
import { isValidMetricName } from '../../../../prom/labels/labels.js';
import { blocks, duration, parseDuration } from '../../../../syntax/vm/schema.js';
import { currentLabels, extractedString, type PEntry } from '../entry.js';
import type { StageDef } from '../pipeline.js';

const common = {
  name: z.string(),
  description: z.string().default(''),
  prefix: z.string().default('loki_process_custom_'),
  source: z.string().default(''),
  value: z.string().default(''),
  max_idle_duration: duration().default(5 * 60_000),
};

const checkCommon = (b: { name: string; prefix: string; max_idle_duration: number }, ctx: z.RefinementCtx): void => {
  if (!isValidMetricName(b.prefix + b.name)) ctx.addIssue({ code: 'custom', path: ['name'], message: `invalid metric name ${JSON.stringify(b.prefix + b.name)}: prefix + name must match [a-zA-Z_:][a-zA-Z0-9_:]*` });
  if (b.max_idle_duration < 1000) ctx.addIssue({ code: 'custom', path: ['max_idle_duration'], message: 'max_idle_duration must be at least "1s"' });
};

const counterSchema = z
  .object({ ...common, action: z.enum(['inc', 'add'], { error: 'counter action must be "inc" or "add"' }), match_all: z.boolean().default(false), count_entry_bytes: z.boolean().default(false) })
  .strict()
  .superRefine((b, ctx) => {
    checkCommon(b, ctx);
    if (b.match_all && b.value !== '') ctx.addIssue({ code: 'custom', path: ['value'], message: 'a counter cannot set both match_all = true and value' });
    if (b.count_entry_bytes && !b.match_all && b.action !== 'add') ctx.addIssue({ code: 'custom', path: ['count_entry_bytes'], message: 'count_entry_bytes needs match_all = true or action = "add"' });
  });

const gaugeSchema = z
  .object({ ...common, action: z.enum(['inc', 'dec', 'set', 'add', 'sub'], { error: 'gauge action must be one of "inc", "dec", "set", "add", "sub"' }) })
  .strict()
  .superRefine(checkCommon);

const histogramSchema = z
  .object({ ...common, buckets: z.array(z.number()).min(1, { error: 'buckets must list at least one upper bound' }) })
  .strict()
  .superRefine(checkCommon);

export const metricsSchema = z
  .object({
    'metric.counter': blocks(counterSchema).default([]),
    'metric.gauge': blocks(gaugeSchema).default([]),
    'metric.histogram': blocks(histogramSchema).default([]),
  })
  .strict();

/** An extracted value as a metric value; undefined when it does not convert. */
export function metricValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  if (t !== '' && !Number.isNaN(Number(t))) return Number(t);
  const ms = parseDuration(t);
  return ms === undefined ? undefined : ms / 1000;
}

interface Series {
  readonly labels: Record<string, string>;
  value: number;
  buckets?: number[];
  sum?: number;
  count?: number;
  updated: number;
}

/** A metric family whose label names vary per series (prom-client's `Registry` shape). */
class DynamicFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, Series>();
  readonly #idleMs: number;
  readonly #bounds: number[];
  readonly #now: () => number;

  constructor(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', idleMs: number, now: () => number, bounds: number[] = []) {
    this.name = name;
    this.help = help || name;
    this.type = type;
    this.#idleMs = idleMs;
    this.#now = now;
    this.#bounds = [...bounds].sort((a, b) => a - b);
  }

  series(e: PEntry): Series {
    const ls = currentLabels(e);
    let key = '';
    const names = [...ls.keys()].filter((k) => !k.startsWith('__')).sort();
    for (const k of names) key += k + '\x00' + ls.get(k) + '\x00';
    let s = this.#series.get(key);
    if (!s) {
      const labels: Record<string, string> = {};
      for (const k of names) labels[k] = ls.get(k)!;
      s = { labels, value: 0, updated: 0 };
      if (this.type === 'histogram') {
        s.buckets = new Array<number>(this.#bounds.length).fill(0);
        s.sum = 0;
        s.count = 0;
      }
      this.#series.set(key, s);
    }
    s.updated = this.#now();
    return s;
  }

  observe(s: Series, v: number): void {
    for (let i = 0; i < this.#bounds.length; i++) if (v <= this.#bounds[i]!) s.buckets![i]!++;
    s.sum! += v;
    s.count!++;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: { value: number; labels: Record<string, string | number>; metricName?: string }[] } {
    const now = this.#now();
    const values: { value: number; labels: Record<string, string | number>; metricName?: string }[] = [];
    for (const [k, s] of this.#series) {
      if (now - s.updated > this.#idleMs) {
        this.#series.delete(k);
        continue;
      }
      if (this.type !== 'histogram') {
        values.push({ value: s.value, labels: s.labels });
        continue;
      }
      this.#bounds.forEach((b, i) => values.push({ metricName: `${this.name}_bucket`, value: s.buckets![i]!, labels: { ...s.labels, le: b } }));
      values.push({ metricName: `${this.name}_bucket`, value: s.count!, labels: { ...s.labels, le: '+Inf' } });
      values.push({ metricName: `${this.name}_sum`, value: s.sum!, labels: s.labels });
      values.push({ metricName: `${this.name}_count`, value: s.count!, labels: s.labels });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#series.clear();
  }
}

function register(registry: Registry, fam: DynamicFamily): void {
  registry.registerMetric(fam as unknown as Parameters<Registry['registerMetric']>[0]);
}

type Update = (e: PEntry) => void;

export const metrics: StageDef<z.output<typeof metricsSchema>> = {
  build(b, ctx, next) {
    const updates: Update[] = [];
    const family = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', idle: number, buckets?: number[]): DynamicFamily => {
      if (ctx.registry.getSingleMetric(name)) throw new Error(`metric ${JSON.stringify(name)} is defined twice in this loki.process`);
      const f = new DynamicFamily(name, help, type, idle, ctx.now, buckets);
      register(ctx.registry, f);
      ctx.ownMetric(name);
      return f;
    };
    const sourceOf = (m: { name: string; source: string }): string => m.source || m.name;
    const matched = (m: { value: string }, e: PEntry, src: string): unknown => {
      const v = e.extracted[src];
      if (v === undefined) return undefined;
      if (m.value !== '' && extractedString(v) !== m.value) return undefined;
      return v;
    };
    for (const m of b['metric.counter']) {
      const f = family(m.prefix + m.name, m.description, 'counter', m.max_idle_duration);
      const src = sourceOf(m);
      updates.push((e) => {
        let v: unknown = true;
        if (!m.match_all) {
          v = matched(m, e, src);
          if (v === undefined) return;
        }
        if (m.action === 'inc') {
          f.series(e).value += 1;
          return;
        }
        const n = m.count_entry_bytes ? Buffer.byteLength(e.line) : metricValue(v);
        if (n === undefined || n < 0) return;
        f.series(e).value += n;
      });
    }
    for (const m of b['metric.gauge']) {
      const f = family(m.prefix + m.name, m.description, 'gauge', m.max_idle_duration);
      const src = sourceOf(m);
      updates.push((e) => {
        const v = matched(m, e, src);
        if (v === undefined) return;
        if (m.action === 'inc' || m.action === 'dec') {
          f.series(e).value += m.action === 'inc' ? 1 : -1;
          return;
        }
        const n = metricValue(v);
        if (n === undefined || n < 0) return;
        const s = f.series(e);
        if (m.action === 'set') s.value = n;
        else s.value += m.action === 'add' ? n : -n;
      });
    }
    for (const m of b['metric.histogram']) {
      const f = family(m.prefix + m.name, m.description, 'histogram', m.max_idle_duration, m.buckets);
      const src = sourceOf(m);
      updates.push((e) => {
        const v = matched(m, e, src);
        if (v === undefined) return;
        const n = metricValue(v);
        if (n !== undefined) f.observe(f.series(e), n);
      });
    }
    return {
      process(e) {
        for (const u of updates) u(e);
        next(e);
      },
    };
  },
};
