/**
 * `discovery.relabel`: applies `rule` blocks to a list of targets and exports the kept targets
 * as `output` (all labels kept, `__meta_*` included: prometheus.scrape drops those) and the rules
 * as `rules` for components that take relabel rules. Recomputed on every update; never unhealthy
 * once its rules are valid (bad rules fail validation and keep the previous exports). Live
 * debugging shows each target as upstream does: `{labels before} => {labels after}` (`{}` when
 * dropped), on every recomputation.
 */
import { z } from 'zod';
import type { Component, ComponentDefinition } from '../../../runtime/component.js';
import { LabelsBuilder, labelsFromRecord, labelsToRecord, labelsToString } from '../../../prom/labels/labels.js';
import { optionalService, type LiveDebuggingService } from '../../../runtime/live-debugging.js';
import { compileRules, processBuilder, type CompiledRule, type RelabelConfig } from '../../../prom/relabel/relabel.js';
import { relabelRuleSchema } from '../../../prom/relabel/schema.js';
import { blocks } from '../../prometheus/scrape/schema-helpers.js';

export type Target = Readonly<Record<string, string>>;

export const argumentsSchema = z
  .object({
    targets: z.array(z.record(z.string(), z.string())),
    rule: blocks(relabelRuleSchema).default([]),
  })
  .strict();

export type Arguments = z.output<typeof argumentsSchema>;

export interface Exports {
  readonly output: readonly Target[];
  readonly rules: readonly RelabelConfig[];
}

/**
 * Relabels targets as Alloy does: a target is dropped only when a rule drops it. `live`, when
 * given, receives one `{before} => {after}` line per target.
 */
export function relabelTargets(targets: readonly Target[], rules: readonly CompiledRule[], live?: string[]): Target[] {
  const lb = new LabelsBuilder();
  const out: Target[] = [];
  for (const t of targets) {
    const before = labelsFromRecord(t);
    lb.reset(before);
    const keep = processBuilder(lb, rules);
    if (keep) out.push(labelsToRecord(lb.labels()));
    live?.push(`${labelsToString(before)} => ${keep ? labelsToString(lb.labels()) : '{}'}`);
  }
  return out;
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'discovery.relabel',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['output', 'rules'],
  liveDebugging: true,
  build(opts, args) {
    const live = optionalService((n) => opts.getService<LiveDebuggingService>(n));
    const apply = (a: Arguments): void => {
      const rules = compileRules(a.rule);
      const lines = live?.active(opts.id) ? [] : undefined;
      opts.onStateChange({ output: relabelTargets(a.targets, rules, lines), rules: a.rule });
      if (lines) live?.publish(opts.id, () => lines);
    };
    apply(args);
    const c: Component<Arguments> = {
      update: apply,
      run: (signal) =>
        new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        }),
    };
    return c;
  },
};
