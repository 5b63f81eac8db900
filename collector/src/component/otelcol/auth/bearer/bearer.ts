/**
 * `otelcol.auth.bearer`: a `handler` for bearer tokens. Client side it sends
 * `<header>: <scheme> <token>` (`Authorization: Bearer <token>` by default; no scheme when
 * `scheme` is empty); server side it admits only requests carrying that exact value.
 */
import { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { secret } from '../../../../syntax/vm/schema.js';
import { headerValue, type AuthHandler } from '../../auth.js';
import { debugMetricsBlock, exportsOnly } from '../../consumer.js';
import { sameSecret } from '../basic/basic.js';

export const argumentsSchema = z.object({
  token: secret(),
  scheme: z.string().default('Bearer'),
  header: z.string().default('Authorization'),
  debug_metrics: debugMetricsBlock,
});
export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly handler: AuthHandler;
}

function handler(id: string, args: Arguments): AuthHandler {
  const value = args.scheme ? `${args.scheme} ${args.token.reveal()}` : args.token.reveal();
  const name = args.header.toLowerCase();
  return {
    component: id,
    clientHeaders: () => Promise.resolve({ [name]: value }),
    authenticate: (headers) => {
      const got = headerValue(headers, name);
      if (got === undefined) return `missing ${args.header} header: send a bearer token`;
      return sameSecret(got, value) ? undefined : 'invalid bearer token';
    },
  };
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.auth.bearer',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['handler'],
  build: (opts, args) => exportsOnly(opts, args, (a) => ({ handler: handler(opts.id, a) })),
};
