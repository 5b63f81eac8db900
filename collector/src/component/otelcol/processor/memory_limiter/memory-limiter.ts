/**
 * `otelcol.processor.memory_limiter`: every `check_interval` it measures the process's memory
 * (resident set size) and, while it is above the soft limit (`limit - spike_limit`), refuses
 * data with a retryable `ConsumerError` (HTTP 503 / gRPC UNAVAILABLE at a receiver, so senders
 * retry later). Below the soft limit data passes through unchanged.
 * Limits are absolute (`limit`, `spike_limit`) or a percentage of the machine's (or cgroup's)
 * memory (`limit_percentage`, `spike_limit_percentage`); `spike_limit` defaults to 20% of the limit.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Gauge, Counter } from 'prom-client';
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions } from '../../../../runtime/component.js';
import { duration } from '../../../../syntax/vm/schema.js';
import { byteSize } from '../../../../loki/bytes.js';
import { ConsumerError, debugMetricsBlock, fanOut, outputBlock, pause, type Consumer } from '../../consumer.js';
import { telemetryPublisher } from '../../live-debugging.js';

export const argumentsSchema = z
  .object({
    check_interval: duration().refine((ms) => ms > 0, 'check_interval must be greater than zero'),
    limit: byteSize().default(0),
    spike_limit: byteSize().optional(),
    limit_percentage: z.number().int().min(0).max(100).default(0),
    spike_limit_percentage: z.number().int().min(0).max(100).default(0),
    output: outputBlock(),
    debug_metrics: debugMetricsBlock,
  })
  .superRefine((a, ctx) => {
    if (a.limit === 0 && a.limit_percentage === 0) ctx.addIssue({ code: 'custom', message: 'set limit (e.g. "1GiB") or limit_percentage (e.g. 80)' });
    if (a.limit > 0 && a.limit_percentage > 0) ctx.addIssue({ code: 'custom', message: 'limit and limit_percentage are mutually exclusive' });
    if (a.limit > 0 && a.spike_limit !== undefined && a.spike_limit >= a.limit) ctx.addIssue({ code: 'custom', path: ['spike_limit'], message: 'spike_limit must be smaller than limit' });
    if (a.limit_percentage > 0 && a.spike_limit_percentage >= a.limit_percentage) ctx.addIssue({ code: 'custom', path: ['spike_limit_percentage'], message: 'spike_limit_percentage must be smaller than limit_percentage' });
  });

export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly input: Consumer;
}

/** Total memory available to the process: the cgroup limit when one is set, else the machine's. */
function totalMemory(): number {
  for (const f of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const v = Number(readFileSync(f, 'utf8').trim());
      if (Number.isFinite(v) && v > 0 && v < os.totalmem()) return v;
    } catch {
      // no such cgroup file
    }
  }
  return os.totalmem();
}

export function limits(a: Arguments, total = totalMemory()): { hard: number; soft: number } {
  const hard = a.limit > 0 ? a.limit : Math.floor((total * a.limit_percentage) / 100);
  const spike = a.limit > 0 ? (a.spike_limit ?? Math.floor(hard / 5)) : Math.floor((total * (a.spike_limit_percentage || a.limit_percentage / 5)) / 100);
  return { hard, soft: hard - spike };
}

export interface MemoryLimiterHooks {
  /** Memory in use, bytes; the process RSS by default. */
  readonly usage?: () => number;
}

export class MemoryLimiter implements Component<Arguments> {
  readonly #opts: ComponentOptions<Exports>;
  readonly #usage: () => number;
  #args: Arguments;
  #limits: { hard: number; soft: number };
  #refusing = false;
  #wake: (() => void) | undefined;
  readonly #refused: Counter;
  readonly #inUse: Gauge;

  constructor(opts: ComponentOptions<Exports>, args: Arguments, hooks: MemoryLimiterHooks = {}) {
    this.#opts = opts;
    this.#args = args;
    this.#limits = limits(args);
    this.#usage = hooks.usage ?? (() => process.memoryUsage.rss());
    const registers = [opts.registry];
    this.#refused = new Counter({ name: 'otelcol_processor_refused_items_total', help: 'Items refused by the memory limiter.', labelNames: ['signal'], registers });
    this.#inUse = new Gauge({ name: 'otelcol_processor_memory_limiter_memory_in_use_bytes', help: 'Memory in use at the last check.', registers });
    this.#check();
    const publish = telemetryPublisher(opts);
    opts.onStateChange({
      input: {
        consume: (data) => {
          if (this.#refusing) {
            this.#refused.inc({ signal: data.signal }, data.count);
            return Promise.reject(new ConsumerError(`${opts.id}: data refused due to high memory usage (soft limit ${this.#limits.soft} bytes)`, true, this.#args.check_interval));
          }
          publish(data);
          return fanOut(this.#args.output, data);
        },
      },
    });
  }

  #check(): void {
    const used = this.#usage();
    this.#inUse.set(used);
    const was = this.#refusing;
    this.#refusing = used >= this.#limits.soft;
    if (this.#refusing !== was) {
      if (this.#refusing) this.#opts.logger.warn(`${this.#opts.id}: memory usage ${used} bytes is above the soft limit ${this.#limits.soft}; refusing data`);
      else this.#opts.logger.info(`${this.#opts.id}: memory usage ${used} bytes is below the soft limit again; accepting data`);
    }
  }

  /** True while data is refused. */
  get refusing(): boolean {
    return this.#refusing;
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#opts.setHealth('healthy', `soft limit ${this.#limits.soft} bytes, hard limit ${this.#limits.hard} bytes`);
    while (!signal.aborted) {
      await pause(this.#args.check_interval, signal, (w) => (this.#wake = w));
      this.#check();
    }
  }

  update(args: Arguments): void {
    this.#args = args;
    this.#limits = limits(args);
    this.#check();
    this.#wake?.();
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.processor.memory_limiter',
  liveDebugging: true,
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => new MemoryLimiter(opts, args),
};
