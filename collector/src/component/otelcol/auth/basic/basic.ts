/**
 * `otelcol.auth.basic`: a `handler` for HTTP Basic authentication. Client side it sends
 * `Authorization: Basic base64(username:password)`; server side (a receiver's `auth`) it admits
 * only requests carrying exactly those credentials.
 */
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { secret } from '../../../../syntax/vm/schema.js';
import { headerValue, type AuthHandler } from '../../auth.js';
import { debugMetricsBlock, exportsOnly } from '../../consumer.js';

export const argumentsSchema = z.object({
  username: z.string(),
  password: secret(),
  debug_metrics: debugMetricsBlock,
});
export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly handler: AuthHandler;
}

/** Constant-time string comparison. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function handler(id: string, args: Arguments): AuthHandler {
  const expected = `Basic ${Buffer.from(`${args.username}:${args.password.reveal()}`).toString('base64')}`;
  return {
    component: id,
    clientHeaders: () => Promise.resolve({ authorization: expected }),
    authenticate: (headers) => {
      const got = headerValue(headers, 'authorization');
      if (got === undefined) return 'missing Authorization header: send HTTP Basic credentials';
      return sameSecret(got, expected) ? undefined : 'invalid HTTP Basic credentials';
    },
  };
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.auth.basic',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['handler'],
  build: (opts, args) => exportsOnly(opts, args, (a) => ({ handler: handler(opts.id, a) })),
};
