/**
 * `pyroscope.relabel`: applies `rule` blocks (the relabel engine of `prometheus.relabel`) to the
 * labels of every profile appended to its exported `receiver` (push and `/ingest` alike) and
 * forwards the kept profiles to `forward_to`. A profile whose rules drop it, or that has no
 * labels left, is dropped (counted) and its append resolves.
 *
 * Contracts:
 * - Results are cached per label set (`max_cache_size` entries, the same cache as
 *   `prometheus.relabel`); new rules clear it and swap atomically.
 * - `append`/`appendIngest` resolve after every `forward_to` receiver accepted the profile and
 *   reject with the first receiver's error.
 * - The `receiver` export stays the same object across updates.
 */
import { z } from 'zod';
import { Counter } from 'prom-client';
import type { Component, ComponentDefinition, ComponentOptions } from '../../../runtime/component.js';
import { compileRules, processLabels, type CompiledRule, type RelabelConfig } from '../../../prom/relabel/relabel.js';
import { relabelRuleSchema } from '../../../prom/relabel/schema.js';
import { RelabelCache } from '../../prometheus/relabel/relabel.js';
import { RelabelCacheMetrics } from '../../common/relabel-cache-metrics.js';
import { blocks, capsule } from '../../../syntax/vm/schema.js';
import { isProfilesReceiver, type IncomingProfile, type Labels, type ProfilesReceiver, type RawSample } from '../../../pyroscope/types.js';

export const argumentsSchema = z
  .object({
    forward_to: z.array(capsule<ProfilesReceiver>('ProfilesReceiver', isProfilesReceiver)),
    rule: blocks(relabelRuleSchema).default([]),
    max_cache_size: z.number().int().positive({ error: 'max_cache_size must be greater than 0' }).default(10_000),
  })
  .strict();

export type Arguments = z.output<typeof argumentsSchema>;

export interface Exports {
  readonly receiver: ProfilesReceiver;
  readonly rules: readonly RelabelConfig[];
}

export class PyroscopeRelabelComponent implements Component<Arguments> {
  readonly #opts: ComponentOptions<Exports>;
  #rules: CompiledRule[] = [];
  #forward: readonly ProfilesReceiver[] = [];
  readonly #cache: RelabelCache;
  readonly receiver: ProfilesReceiver;
  readonly #processed: Counter;
  readonly #cacheMetrics: RelabelCacheMetrics;
  readonly #written: Counter;
  readonly #dropped: Counter;

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    const registers = [opts.registry];
    this.#processed = new Counter({ name: 'pyroscope_relabel_profiles_processed', help: 'Total number of profiles processed', registers });
    this.#written = new Counter({ name: 'pyroscope_relabel_profiles_written', help: 'Total number of profiles forwarded', registers });
    this.#dropped = new Counter({ name: 'pyroscope_relabel_profiles_dropped', help: 'Total number of profiles dropped by relabeling rules', registers });
    this.#cacheMetrics = new RelabelCacheMetrics('pyroscope_relabel', registers);
    this.#cache = new RelabelCache(args.max_cache_size);
    this.receiver = { append: (l, s, signal) => this.#append(l, s, signal), appendIngest: (p, signal) => this.#appendIngest(p, signal) };
    this.update(args);
  }

  update(args: Arguments): void {
    this.#rules = compileRules(args.rule);
    this.#forward = args.forward_to;
    this.#cache.clear(args.max_cache_size);
    this.#opts.onStateChange({ receiver: this.receiver, rules: args.rule });
  }

  /** The relabelled labels, or null when the profile is dropped. */
  #relabel(input: Labels): Labels | null {
    const hits0 = this.#cache.hits;
    const misses0 = this.#cache.misses;
    let out = this.#cache.get(input);
    if (out === undefined) {
      out = processLabels(input, this.#rules);
      if (out !== null && out.length === 0) out = null;
      this.#cache.set(input, out);
    }
    this.#cacheMetrics.record(this.#cache, hits0, misses0);
    this.#processed.inc();
    if (out === null) this.#dropped.inc();
    return out;
  }

  async #append(labels: Labels, samples: readonly RawSample[], signal: AbortSignal | undefined): Promise<void> {
    const out = this.#relabel(labels);
    if (out === null) return;
    await Promise.all(this.#forward.map((r) => r.append(out, samples, signal)));
    this.#written.inc();
  }

  async #appendIngest(p: IncomingProfile, signal: AbortSignal | undefined): Promise<void> {
    const out = this.#relabel(p.labels);
    if (out === null) return;
    await Promise.all(this.#forward.map((r) => r.appendIngest({ ...p, labels: out }, signal)));
    this.#written.inc();
  }

  run(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'pyroscope.relabel',
  stability: 'public-preview',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['receiver', 'rules'],
  build: (opts, args) => new PyroscopeRelabelComponent(opts, args),
};
