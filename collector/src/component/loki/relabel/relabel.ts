/**
 * `loki.relabel`: applies `rule` blocks to the labels of every log entry appended to its exported
 * `receiver` and forwards the entries that keep a non-empty label set to `forward_to`. Exports the
 * rules as `rules`, for the `relabel_rules` argument of `loki.source.*` components.
 *
 * Contracts:
 * - Results are cached per stream (by `Labels` identity, then by label hash, up to
 *   `max_cache_size` entries), so one output `Labels` object is forwarded per input stream, which
 *   keeps downstream per-stream caches effective.
 * - An entry whose relabelled label set is empty, or that a rule drops, is not forwarded.
 * - `append` resolves after every downstream receiver accepted the relabelled batch.
 * - New rules swap atomically; the `receiver` export stays the same object across updates.
 */
import { z } from 'zod';
import { Counter } from 'prom-client';
import type { Component, ComponentDefinition, ComponentOptions } from '../../../runtime/component.js';
import { isLogsReceiver, type Labels, type LogEntry, type LogsReceiver } from '../../../loki/types.js';
import { relabelLiveLine } from '../../../loki/live-text.js';
import { optionalService, type LiveDebuggingService } from '../../../runtime/live-debugging.js';
import { RelabelCache } from '../../../prom/relabel/cache.js';
import { RelabelCacheMetrics } from '../../common/relabel-cache-metrics.js';
import { compileRules, processLabels, type CompiledRule, type RelabelConfig } from '../../../prom/relabel/relabel.js';
import { relabelRuleSchema } from '../../../prom/relabel/schema.js';
import { blocks, capsule } from '../../../syntax/vm/schema.js';
import { asCapsule } from '../../../syntax/vm/value.js';

export const argumentsSchema = z
  .object({
    forward_to: z.array(capsule<LogsReceiver>('LogsReceiver', isLogsReceiver)),
    rule: blocks(relabelRuleSchema).default([]),
    max_cache_size: z.number().int().positive({ error: 'max_cache_size must be greater than 0' }).default(10_000),
  })
  .strict();

export type Arguments = z.output<typeof argumentsSchema>;

export interface Exports {
  readonly receiver: LogsReceiver;
  readonly rules: readonly RelabelConfig[];
}

/** Relabels one stream's labels; `null` when dropped or left empty. */
export function relabelStream(labels: Labels, rules: readonly CompiledRule[]): Labels | null {
  const out = processLabels(labels, rules);
  return out === null || out.length === 0 ? null : out;
}

export class LokiRelabelComponent implements Component<Arguments> {
  readonly #opts: ComponentOptions<Exports>;
  #rules: CompiledRule[] = [];
  #forward: readonly LogsReceiver[] = [];
  readonly #cache: RelabelCache;
  readonly receiver: LogsReceiver;
  readonly #processed: Counter;
  readonly #cacheMetrics: RelabelCacheMetrics;
  readonly #written: Counter;
  readonly #live: LiveDebuggingService | undefined;

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    this.#live = optionalService((n) => opts.getService<LiveDebuggingService>(n));
    const registers = [opts.registry];
    this.#processed = new Counter({ name: 'loki_relabel_entries_processed', help: 'Total number of log entries processed', registers });
    this.#written = new Counter({ name: 'loki_relabel_entries_written', help: 'Total number of log entries forwarded', registers });
    this.#cacheMetrics = new RelabelCacheMetrics('loki_relabel', registers);
    this.#cache = new RelabelCache(args.max_cache_size);
    this.receiver = asCapsule<LogsReceiver>({ append: (entries) => this.#append(entries) }, 'LogsReceiver');
    this.update(args);
  }

  update(args: Arguments): void {
    this.#rules = compileRules(args.rule);
    this.#forward = args.forward_to;
    this.#cache.clear(args.max_cache_size);
    this.#opts.onStateChange({ receiver: this.receiver, rules: args.rule });
  }

  async #append(entries: readonly LogEntry[]): Promise<void> {
    const hits0 = this.#cache.hits;
    const misses0 = this.#cache.misses;
    const out: LogEntry[] = [];
    const after: (Labels | null)[] | undefined = this.#live?.active(this.#opts.id) ? [] : undefined;
    for (const e of entries) {
      let ls = this.#cache.get(e.labels);
      if (ls === undefined) {
        ls = relabelStream(e.labels, this.#rules);
        this.#cache.set(e.labels, ls);
      }
      after?.push(ls);
      if (ls === null) continue;
      out.push(ls === e.labels ? e : { ...e, labels: ls });
    }
    if (after) this.#live?.publish(this.#opts.id, () => entries.map((e, i) => relabelLiveLine(e, after[i] ?? null)));
    this.#processed.inc(entries.length);
    this.#written.inc(out.length);
    this.#cacheMetrics.record(this.#cache, hits0, misses0);
    if (out.length === 0) return;
    const fw = this.#forward;
    if (fw.length === 1) return fw[0]!.append(out);
    await Promise.all(fw.map((r) => r.append(out)));
  }

  run(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'loki.relabel',
  liveDebugging: true,
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['receiver', 'rules'],
  build: (opts, args) => new LokiRelabelComponent(opts, args),
};
