/**
 * Stages that keep, drop or delay entries: `drop`, `match`, `limit`, `sampling`. Drops are
 * counted in `loki_process_dropped_lines_total{reason}` with each stage's reason.
 */
import { z } from 'zod';
import { byteSize } from '../../../../loki/bytes.js';
import { compileRe2, re2Search } from '../../../../prom/regex/re2.js';
import { duration } from '../../../../syntax/vm/schema.js';
import { extractedString, getLabel, type PEntry } from '../entry.js';
import { parseLogSelector } from '../logql.js';
import type { Next, StageConfig, StageDef } from '../pipeline.js';

// ---- drop ----

export const dropSchema = z
  .object({
    source: z.string().default(''),
    separator: z.string().default(';'),
    expression: z.string().default(''),
    value: z.string().default(''),
    older_than: duration().optional(),
    longer_than: byteSize().optional(),
    drop_counter_reason: z.string().default('drop_stage'),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.source === '' && b.expression === '' && b.older_than === undefined && b.longer_than === undefined) {
      ctx.addIssue({ code: 'custom', message: 'stage.drop needs at least one of source, expression, older_than or longer_than' });
    }
    if (b.expression !== '' && b.value !== '') ctx.addIssue({ code: 'custom', path: ['value'], message: 'stage.drop takes expression or value, not both' });
    if (b.value !== '' && b.source === '') ctx.addIssue({ code: 'custom', path: ['value'], message: 'value needs source: set source to the extracted value(s) to compare' });
    if (b.expression !== '') {
      try {
        compileRe2(b.expression);
      } catch (err: unknown) {
        ctx.addIssue({ code: 'custom', path: ['expression'], message: (err as Error).message });
      }
    }
  });

export const drop: StageDef<z.output<typeof dropSchema>> = {
  build(b, ctx, next) {
    const re = b.expression !== '' ? re2Search(compileRe2(b.expression)) : undefined;
    const sources = b.source === '' ? [] : b.source.split(',').map((s) => s.trim());
    const sourceString = (e: PEntry): string | undefined => {
      const parts: string[] = [];
      for (const s of sources) {
        const v = e.extracted[s];
        if (v === undefined) return undefined;
        parts.push(extractedString(v) ?? '');
      }
      return parts.join(b.separator);
    };
    const shouldDrop = (e: PEntry): boolean => {
      if (b.longer_than !== undefined && !(Buffer.byteLength(e.line) > b.longer_than)) return false;
      if (b.older_than !== undefined && !(e.timestampMs < ctx.now() - b.older_than)) return false;
      if (sources.length > 0) {
        const s = sourceString(e);
        if (s === undefined) return false;
        if (re !== undefined) return re.test(s);
        if (b.value !== '') return s === b.value;
        return true;
      }
      if (re !== undefined) return re.test(e.line);
      return true;
    };
    return {
      process(e) {
        if (shouldDrop(e)) ctx.dropped.inc({ reason: b.drop_counter_reason });
        else next(e);
      },
    };
  },
};

// ---- match ----

export const matchBody = {
  selector: z.string(),
  action: z.enum(['keep', 'drop'], { error: 'action must be "keep" or "drop"' }).default('keep'),
  drop_counter_reason: z.string().default('match_stage'),
  pipeline_name: z.string().default(''),
};

export function checkMatch(b: { selector: string; action: string; stages: readonly StageConfig[] }, ctx: z.RefinementCtx): void {
  try {
    parseLogSelector(b.selector);
  } catch (err: unknown) {
    ctx.addIssue({ code: 'custom', path: ['selector'], message: (err as Error).message });
  }
  if (b.action === 'keep' && b.stages.length === 0) ctx.addIssue({ code: 'custom', message: 'stage.match with action "keep" needs at least one nested stage.* block' });
  if (b.action === 'drop' && b.stages.length > 0) ctx.addIssue({ code: 'custom', message: 'stage.match with action "drop" must not contain nested stages' });
}

export interface MatchBody {
  readonly selector: string;
  readonly action: 'keep' | 'drop';
  readonly drop_counter_reason: string;
  readonly pipeline_name: string;
  readonly stages: readonly StageConfig[];
}

export const match: StageDef<MatchBody> = {
  build(b, ctx, next, nested) {
    const sel = parseLogSelector(b.selector);
    const matches = (e: PEntry): boolean => {
      for (const m of sel.matchers) if (!m.test(getLabel(e, m.name) ?? '')) return false;
      for (const f of sel.filters) if (!f.test(e.line)) return false;
      return true;
    };
    if (b.action === 'drop') {
      return {
        process(e) {
          if (matches(e)) ctx.dropped.inc({ reason: b.drop_counter_reason });
          else next(e);
        },
      };
    }
    const inner = nested(b.stages, next);
    return {
      process(e) {
        if (matches(e)) inner.head(e);
        else next(e);
      },
      close: () => inner.close(),
      pending: () => inner.pending(),
    };
  },
};

// ---- limit ----

export const limitSchema = z
  .object({
    rate: z.number().positive({ error: 'rate must be greater than 0 (lines per second)' }),
    burst: z.number().int().positive({ error: 'burst must be a positive integer' }),
    by_label_name: z.string().default(''),
    drop: z.boolean().default(false),
    max_distinct_labels: z.number().int().positive().default(10_000),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.by_label_name !== '' && !b.drop) ctx.addIssue({ code: 'custom', path: ['drop'], message: 'by_label_name needs drop = true' });
  });

/** A token bucket of `burst` tokens refilled at `rate` per second. */
export class TokenBucket {
  #tokens: number;
  #last: number;
  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#last = now;
  }
  #refill(now: number): void {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
  }
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }
  /** Milliseconds until one token is available. */
  waitMs(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.rate) * 1000);
  }
}

export const limit: StageDef<z.output<typeof limitSchema>> = {
  build(b, ctx, next) {
    if (b.by_label_name !== '') {
      const buckets = new Map<string, TokenBucket>();
      return {
        process(e) {
          const v = getLabel(e, b.by_label_name);
          if (v === undefined) return next(e);
          let bk = buckets.get(v);
          if (!bk) {
            if (buckets.size >= b.max_distinct_labels) buckets.delete(buckets.keys().next().value!);
            buckets.set(v, (bk = new TokenBucket(b.rate, b.burst, ctx.now())));
          }
          if (bk.take(ctx.now())) return next(e);
          ctx.droppedByLabel.inc({ label_name: b.by_label_name, label_value: v });
          ctx.dropped.inc({ reason: 'ratelimit_drop_stage' });
        },
      };
    }
    const bucket = new TokenBucket(b.rate, b.burst, ctx.now());
    if (b.drop) {
      return {
        process(e) {
          if (bucket.take(ctx.now())) next(e);
          else ctx.dropped.inc({ reason: 'ratelimit_drop_stage' });
        },
      };
    }
    // Blocking: entries over the rate wait in order; the component holds producers back
    // (backpressure) while any are waiting.
    const queue: PEntry[] = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = (): void => {
      timer = undefined;
      while (queue.length > 0 && bucket.take(ctx.now())) next(queue.shift()!);
      if (queue.length > 0) timer = setTimeout(drain, Math.max(1, bucket.waitMs(ctx.now())));
    };
    return {
      process(e) {
        if (queue.length === 0 && bucket.take(ctx.now())) return next(e);
        queue.push(e);
        if (!timer) timer = setTimeout(drain, Math.max(1, bucket.waitMs(ctx.now())));
      },
      close() {
        clearTimeout(timer);
        timer = undefined;
        for (const e of queue.splice(0)) next(e);
      },
      pending: () => queue.length,
    };
  },
};

// ---- sampling ----

export const samplingSchema = z
  .object({
    rate: z.number().min(0, { error: 'rate must be within [0, 1]' }).max(1, { error: 'rate must be within [0, 1]' }),
    drop_counter_reason: z.string().default('sampling_stage'),
  })
  .strict();

export const sampling: StageDef<z.output<typeof samplingSchema>> = {
  build(b, ctx, next: Next) {
    return {
      process(e) {
        if (b.rate >= 1 || (b.rate > 0 && Math.random() < b.rate)) next(e);
        else ctx.dropped.inc({ reason: b.drop_counter_reason });
      },
    };
  },
};
