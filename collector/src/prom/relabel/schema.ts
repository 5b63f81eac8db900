/**
 * zod schema of Alloy's `rule` block (shared by prometheus.relabel, discovery.relabel and the
 * scrape-side relabel users). Decodes snake_case fields, applies Alloy's defaults and turns
 * validation failures into issues whose messages name the field to fix.
 */
import { z } from 'zod';
import { RELABEL_ACTIONS, validateRelabelConfig, withDefaults, type RelabelConfig } from './relabel.js';

/** Field names in the order they are looked for in a validation message to point the issue at. */
const FIELDS = ['target_label', 'replacement', 'regex', 'modulus', 'source_labels', 'separator', 'action'] as const;

export const relabelRuleSchema: z.ZodType<RelabelConfig> = z
  .object({
    source_labels: z.array(z.string()).optional(),
    separator: z.string().optional(),
    regex: z.string().optional(),
    modulus: z.number().int().nonnegative().optional(),
    target_label: z.string().optional(),
    replacement: z.string().optional(),
    action: z.string().optional(),
  })
  .strict()
  .transform((raw, ctx): RelabelConfig => {
    const action = raw.action ?? 'replace';
    const cfg = withDefaults({ ...raw, action: action as RelabelConfig['action'] });
    const msg = validateRelabelConfig(cfg);
    if (msg !== undefined) {
      const field = FIELDS.find((f) => msg.includes(f)) ?? (RELABEL_ACTIONS.includes(action as RelabelConfig['action']) ? undefined : 'action');
      ctx.addIssue({ code: 'custom', message: msg, path: field ? [field] : [] });
      return z.NEVER;
    }
    return cfg;
  });

/** Repeated `rule` blocks; absent means no rules. */
export const relabelRulesSchema = z.array(relabelRuleSchema).default([]);
