/**
 * `prometheus.relabel`: applies `rule` blocks to every sample appended to its exported
 * `receiver` and forwards the kept samples to `forward_to`. Contracts:
 * - Results are cached per input series (first by `Labels` object identity, then by label hash
 *   up to `max_cache_size` entries), so the same output `Labels` object is forwarded for the same
 *   input series across batches; a staleness marker passes through and evicts its series.
 * - `append` resolves after every downstream receiver accepted the relabelled batch.
 * - New rules swap atomically; the `receiver` export stays the same object across updates.
 */
import { z } from 'zod';
import { Counter } from 'prom-client';
import type { Component, ComponentDefinition, ComponentOptions } from '../../../runtime/component.js';
import { optionalService, type LiveDebuggingService } from '../../../runtime/live-debugging.js';
import { sampleLines } from '../../../prom/live-text.js';
import { isStaleNaN, type Exemplar, type Labels, type MetricsReceiver, type SampleBatch } from '../../../prom/types.js';
import { RelabelCache } from '../../../prom/relabel/cache.js';
import { RelabelCacheMetrics } from '../../common/relabel-cache-metrics.js';
import { compileRules, processLabels, type CompiledRule, type RelabelConfig } from '../../../prom/relabel/relabel.js';
import { relabelRuleSchema } from '../../../prom/relabel/schema.js';
import { blocks, capsule } from '../scrape/schema-helpers.js';
import { asCapsule } from '../../../syntax/vm/value.js';

export const argumentsSchema = z
  .object({
    forward_to: z.array(capsule<MetricsReceiver>('MetricsReceiver', (v) => typeof (v as MetricsReceiver).append === 'function')),
    rule: blocks(relabelRuleSchema).default([]),
    max_cache_size: z.number().int().positive({ error: 'max_cache_size must be greater than 0' }).default(100_000),
  })
  .strict();

export type Arguments = z.output<typeof argumentsSchema>;

export interface Exports {
  readonly receiver: MetricsReceiver;
  readonly rules: readonly RelabelConfig[];
}

export { RelabelCache };

export class RelabelComponent implements Component<Arguments> {
  readonly #opts: ComponentOptions<Exports>;
  #rules: CompiledRule[] = [];
  #forward: readonly MetricsReceiver[] = [];
  readonly #cache: RelabelCache;
  readonly receiver: MetricsReceiver;
  readonly #processed: Counter;
  readonly #cacheMetrics: RelabelCacheMetrics;
  readonly #written: Counter;
  readonly #live: LiveDebuggingService | undefined;

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    this.#live = optionalService((n) => opts.getService<LiveDebuggingService>(n));
    const registers = [opts.registry];
    this.#processed = new Counter({ name: 'prometheus_relabel_metrics_processed', help: 'Total number of metrics processed', registers });
    this.#written = new Counter({ name: 'prometheus_relabel_metrics_written', help: 'Total number of metrics written', registers });
    this.#cacheMetrics = new RelabelCacheMetrics('prometheus_relabel', registers);
    this.#cache = new RelabelCache(args.max_cache_size);
    const self = this;
    this.receiver = asCapsule<MetricsReceiver>({ append: (batch: SampleBatch) => self.#append(batch) }, 'MetricsReceiver');
    this.update(args);
  }

  update(args: Arguments): void {
    const rules = compileRules(args.rule);
    this.#rules = rules;
    this.#forward = args.forward_to;
    this.#cache.clear(args.max_cache_size);
    this.#opts.onStateChange({ receiver: this.receiver, rules: args.rule });
  }

  /** Relabels one series through the cache; `null` means dropped. */
  relabel(input: Labels, value: number): Labels | null {
    let out = this.#cache.get(input);
    if (out === undefined) {
      out = processLabels(input, this.#rules);
      this.#cache.set(input, out);
    }
    if (isStaleNaN(value)) this.#cache.delete(input);
    return out;
  }

  async #append(batch: SampleBatch): Promise<void> {
    const n = batch.length;
    const hits0 = this.#cache.hits;
    const misses0 = this.#cache.misses;
    const series: Labels[] = [];
    const ts = new Float64Array(n);
    const vals = new Float64Array(n);
    let exemplars: Map<number, Exemplar> | undefined;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const v = batch.values[i]!;
      const out = this.relabel(batch.series[i]!, v);
      if (out === null) continue;
      series.push(out);
      ts[k] = batch.timestamps[i]!;
      vals[k] = v;
      const ex = batch.exemplars?.get(i);
      if (ex) (exemplars ??= new Map()).set(k, ex);
      k++;
    }
    this.#processed.inc(n);
    this.#written.inc(k);
    this.#cacheMetrics.record(this.#cache, hits0, misses0);
    if (k > 0) this.#live?.publish(this.#opts.id, () => sampleLines({ series, timestamps: ts, values: vals, length: k }));
    if (k === 0) return;
    const out: SampleBatch = { series, timestamps: ts.subarray(0, k), values: vals.subarray(0, k), length: k, ...(exemplars ? { exemplars } : {}), ...(batch.context ? { context: batch.context } : {}) };
    await Promise.all(this.#forward.map((r) => r.append(out)));
  }

  run(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'prometheus.relabel',
  liveDebugging: true,
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['receiver', 'rules'],
  build: (opts, args) => new RelabelComponent(opts, args),
};

