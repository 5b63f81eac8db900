/**
 * The arguments every `prometheus.operator.*` component shares (Alloy's `operator.Arguments`):
 * `forward_to`, `namespaces`, `kubernetes_role`, `informer_sync_timeout` and the blocks `client`,
 * `selector` (`match_labels`, `match_expression`), `clustering`, `rule`, `scrape` and
 * `scrape_class`. Also the translation of `selector` to a Kubernetes label selector string.
 */
import { z } from 'zod';
import type { MetricsReceiver } from '../../../prom/types.js';
import { relabelRuleSchema } from '../../../prom/relabel/schema.js';
import { block, blocks, capsule, duration, unsupported } from '../../../syntax/vm/schema.js';
import { authorizationSchema } from '../../common/http-client.js';
import { tlsConfig } from '../../common/http-client-config.js';
import { kubeClientBlockSchema } from '../../common/kube/config.js';
import { labelSelectorError } from '../../common/kube/selectors.js';

const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

const matchExpression = z
  .object({ key: z.string(), operator: z.string(), values: z.array(z.string()).default([]) })
  .strict()
  .superRefine((e, ctx) => {
    if (!(SELECTOR_OPERATORS as readonly string[]).includes(e.operator)) {
      ctx.addIssue({ code: 'custom', path: ['operator'], message: `${JSON.stringify(e.operator)} is not a valid label selector operator; use one of ${SELECTOR_OPERATORS.join(', ')}` });
      return;
    }
    if ((e.operator === 'In' || e.operator === 'NotIn') && e.values.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `values: Required value: must be specified when operator is ${e.operator}` });
    }
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && e.values.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `values: Forbidden: may not be specified when operator is ${e.operator}` });
    }
  });

export const selectorSchema = z
  .object({ match_labels: z.record(z.string(), z.string()).default({}), match_expression: blocks(matchExpression).default([]) })
  .strict()
  .superRefine((s, ctx) => {
    const err = labelSelectorError(labelSelectorString(s));
    if (err) ctx.addIssue({ code: 'custom', message: err });
  });

export type Selector = z.output<typeof selectorSchema>;

/** `selector` as the `labelSelector` query of a list/watch (metav1.LabelSelectorAsSelector). */
export function labelSelectorString(s: { readonly match_labels: Readonly<Record<string, string>>; readonly match_expression: ReadonlyArray<{ key: string; operator: string; values: readonly string[] }> }): string {
  const terms = Object.keys(s.match_labels)
    .sort()
    .map((k) => `${k}=${s.match_labels[k]}`);
  for (const e of s.match_expression) {
    const values = [...e.values].sort().join(',');
    if (e.operator === 'In') terms.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') terms.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') terms.push(e.key);
    else if (e.operator === 'DoesNotExist') terms.push(`!${e.key}`);
  }
  return terms.join(',');
}

const scrapeOptions = z
  .object({
    default_scrape_interval: duration().default(60_000),
    default_scrape_timeout: duration().default(10_000),
    default_sample_limit: z.number().int().nonnegative().default(0),
    scrape_native_histograms: z.boolean().default(false),
    honor_metadata: z.boolean().default(false),
    enable_type_and_unit_labels: unsupported('remove enable_type_and_unit_labels: this collector does not add __type__/__unit__ labels'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.default_scrape_interval <= 0) ctx.addIssue({ code: 'custom', path: ['default_scrape_interval'], message: 'default_scrape_interval must be greater than 0' });
    if (s.default_scrape_timeout <= 0) ctx.addIssue({ code: 'custom', path: ['default_scrape_timeout'], message: 'default_scrape_timeout must be greater than 0' });
  });

export type ScrapeOptions = z.output<typeof scrapeOptions>;

const scrapeClass = z
  .object({
    name: z.string(),
    default: z.boolean().default(false),
    tls_config: block(tlsConfig).optional(),
    authorization: block(authorizationSchema.strict()).optional(),
    relabel_rule: blocks(relabelRuleSchema).default([]),
    metric_relabel_rule: blocks(relabelRuleSchema).default([]),
    attach_metadata: block(z.object({ node: z.boolean().default(false) }).strict()).optional(),
  })
  .strict();

export type ScrapeClass = z.output<typeof scrapeClass>;

export const argumentsSchema = z
  .object({
    client: block(kubeClientBlockSchema).prefault({}),
    forward_to: z.array(capsule<MetricsReceiver>('MetricsReceiver', (v) => typeof (v as MetricsReceiver).append === 'function')),
    namespaces: z.array(z.string()).default([]),
    kubernetes_role: z.string().default('endpoints'),
    informer_sync_timeout: duration().default(60_000),
    selector: block(selectorSchema).optional(),
    clustering: block(z.object({ enabled: z.boolean().default(false) }).strict()).prefault({}),
    rule: blocks(relabelRuleSchema).default([]),
    scrape: block(scrapeOptions).prefault({}),
    scrape_class: blocks(scrapeClass).default([]),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.kubernetes_role !== 'endpoints' && a.kubernetes_role !== 'endpointslice') {
      ctx.addIssue({ code: 'custom', path: ['kubernetes_role'], message: `only endpoints and endpointslice are supported as kubernetes_role, got ${JSON.stringify(a.kubernetes_role)}` });
    }
    const seen = new Set<string>();
    let defaults = 0;
    a.scrape_class.forEach((c, i) => {
      if (c.name === '') ctx.addIssue({ code: 'custom', path: ['scrape_class', i, 'name'], message: 'scrape_class name must not be empty' });
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['scrape_class', i, 'name'], message: `found multiple scrape_class blocks with name ${JSON.stringify(c.name)}` });
      seen.add(c.name);
      if (c.default && ++defaults > 1) ctx.addIssue({ code: 'custom', path: ['scrape_class', i, 'default'], message: 'only one scrape_class may be marked as default' });
    });
  });

export type Arguments = z.output<typeof argumentsSchema>;
