/**
 * The stage chain of `loki.process`. Each stage is built with `next`, the rest of the chain;
 * `process(e)` either calls `next(e)` (possibly with a changed entry), calls it later (buffering
 * stages: `multiline`, `cri` partial lines, blocking `limit`), or drops the entry by not calling it.
 *
 * Contracts:
 * - Stages never throw for a line they cannot handle: they follow their documented failure
 *   behaviour (keep the entry unchanged, or drop it when configured) and count drops in
 *   `loki_process_dropped_lines_total{reason}`.
 * - `close()` flushes buffered entries into `next` and stops timers; `pending()` counts entries
 *   held by buffering stages that release them on their own (blocking `limit`), so the
 *   component can apply backpressure until they are released.
 */
import type { Logger } from 'winston';
import type { Counter, Registry } from 'prom-client';
import type { PEntry } from './entry.js';

export type Next = (e: PEntry) => void;

export interface Stage {
  process(e: PEntry): void;
  close?(): void;
  pending?(): number;
}

export interface StageContext {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly dropped: Counter<'reason'>;
  readonly droppedByLabel: Counter<'label_name' | 'label_value'>;
  /** Current time in ms (injectable for tests). */
  readonly now: () => number;
  /** Registers a metric name created by `stage.metrics`, so it is removed on rebuild. */
  readonly ownMetric: (name: string) => void;
}

export interface StageConfig {
  readonly type: string;
  readonly body: unknown;
}

export interface StageDef<B> {
  build(body: B, ctx: StageContext, next: Next, buildNested: (stages: readonly StageConfig[], next: Next) => Pipeline): Stage;
}

export class Pipeline {
  readonly stages: readonly Stage[];
  readonly head: Next;

  constructor(stages: readonly Stage[], head: Next) {
    this.stages = stages;
    this.head = head;
  }

  close(): void {
    for (const s of this.stages) s.close?.();
  }

  pending(): number {
    let n = 0;
    for (const s of this.stages) n += s.pending?.() ?? 0;
    return n;
  }
}

/** Builds the chain back to front so each stage holds its `next`. */
export function buildPipeline(configs: readonly StageConfig[], defs: Readonly<Record<string, StageDef<never>>>, ctx: StageContext, tail: Next): Pipeline {
  const stages: Stage[] = [];
  let next = tail;
  const nested = (cs: readonly StageConfig[], n: Next): Pipeline => buildPipeline(cs, defs, ctx, n);
  for (let i = configs.length - 1; i >= 0; i--) {
    const c = configs[i]!;
    const def = defs[c.type];
    if (!def) throw new Error(`unknown stage ${c.type}`);
    const stage = def.build(c.body as never, ctx, next, nested);
    stages.unshift(stage);
    const s = stage;
    next = (e) => s.process(e);
  }
  return new Pipeline(stages, next);
}
