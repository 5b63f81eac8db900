/**
 * Definitions for upstream components this runtime cannot provide: any block of such a
 * component fails config evaluation (so `alloy validate` and `alloy run` report it at the block,
 * with file:line:col) with a message saying why and what to use instead. Nothing is built.
 */
import { z } from 'zod';
import type { ComponentDefinition } from '../../runtime/component.js';

/** `attrs`: the upstream component's required attributes, accepted so only the real problem is reported. */
export function unavailableComponent(name: string, why: string, attrs: readonly string[] = ['targets', 'forward_to']): ComponentDefinition<never, Record<string, never>> {
  const args = z.object(Object.fromEntries(attrs.map((a) => [a, z.unknown().optional()]))).superRefine((_v, ctx) => ctx.addIssue({ code: 'custom', message: `${name} cannot run in this collector: ${why}` }));
  return {
    name,
    stability: 'generally-available',
    args: args as unknown as z.ZodType<never>,
    exports: [],
    unavailable: why,
    build: () => {
      throw new Error(`${name} cannot run in this collector: ${why}`);
    },
  };
}
