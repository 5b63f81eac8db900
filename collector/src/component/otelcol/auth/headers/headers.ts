/**
 * `otelcol.auth.headers`: a client-only `handler` that sets request headers from `header`
 * blocks: a fixed `value`, or `from_context` (the client metadata a receiver kept with
 * `include_metadata`, preserved through `otelcol.processor.batch` by its `metadata_keys`).
 * `from_attribute` needs server-side auth attributes, which this collector does not carry.
 * Used on a receiver it rejects every request, as upstream's client-only authenticators do.
 */
import { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { blocks, optionalSecret } from '../../../../syntax/vm/schema.js';
import { Secret } from '../../../../syntax/vm/value.js';
import type { AuthHandler } from '../../auth.js';
import { debugMetricsBlock, exportsOnly } from '../../consumer.js';

const headerSchema = z
  .object({
    key: z.string().min(1),
    action: z.enum(['insert', 'update', 'upsert', 'delete']).default('upsert'),
    value: optionalSecret().optional(),
    from_context: z.string().optional(),
    from_attribute: z.string().optional(),
  })
  .superRefine((h, ctx) => {
    const set = [h.value !== undefined, h.from_context !== undefined, h.from_attribute !== undefined].filter(Boolean).length;
    if (h.action !== 'delete' && set !== 1) ctx.addIssue({ code: 'custom', message: `header ${JSON.stringify(h.key)}: exactly one of value, from_context or from_attribute must be set` });
    if (h.from_attribute !== undefined) ctx.addIssue({ code: 'custom', message: `header ${JSON.stringify(h.key)}: from_attribute is not supported by this collector; use value or from_context` });
  });

export const argumentsSchema = z
  .object({
    // The block marker must stay on the field itself (a wrapping .min() would hide it from the decoder).
    header: blocks(headerSchema).default([]),
    debug_metrics: debugMetricsBlock,
  })
  .superRefine((a, ctx) => {
    if (a.header.length === 0) ctx.addIssue({ code: 'custom', path: ['header'], message: 'at least one header block is required' });
  });
export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly handler: AuthHandler;
}

function handler(id: string, args: Arguments): AuthHandler {
  return {
    component: id,
    clientHeaders: (metadata) => {
      const out: Record<string, string> = {};
      for (const h of args.header) {
        const name = h.key.toLowerCase();
        if (h.action === 'delete') {
          delete out[name];
          continue;
        }
        const v = h.value !== undefined ? (h.value instanceof Secret ? h.value.reveal() : h.value) : metadata?.get(h.from_context!.toLowerCase())?.[0];
        if (v === undefined) continue;
        if (h.action === 'insert' && name in out) continue;
        if (h.action === 'update' && !(name in out)) continue;
        out[name] = v;
      }
      return Promise.resolve(out);
    },
    authenticate: () => `${id} only supports client authentication`,
  };
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.auth.headers',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['handler'],
  build: (opts, args) => exportsOnly(opts, args, (a) => ({ handler: handler(opts.id, a) })),
};
