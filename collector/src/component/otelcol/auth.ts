/**
 * The `otelcol.Handler` capsule exported by `otelcol.auth.*` as `handler`: client-side it adds
 * request headers (gRPC metadata or HTTP headers) of exporters; server-side it checks the
 * headers of requests a receiver accepts.
 */
import type { z } from 'zod';
import { capsule } from '../../syntax/vm/schema.js';
import type { ClientMetadata } from '../../otlp/data.js';

/** Request headers as Node gives them (lower-case names). */
export type IncomingHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface AuthHandler {
  /** Name of the component, for messages. */
  readonly component: string;
  /**
   * Client side: headers to add to an outgoing request, given the client metadata the data
   * carries (`include_metadata`); undefined when the handler has no client side.
   */
  readonly clientHeaders?: (metadata: ClientMetadata | undefined) => Promise<Record<string, string>>;
  /** Server side: undefined when the request may pass, otherwise why not; undefined function when the handler has no server side. */
  readonly authenticate?: (headers: IncomingHeaders) => string | undefined;
}

const isHandler = (v: object): boolean => typeof (v as { component?: unknown }).component === 'string';

export const handlerCapsule = (): z.ZodType<AuthHandler, AuthHandler> => capsule<AuthHandler>('otelcol.Handler', isHandler);

/** First value of a header. */
export function headerValue(headers: IncomingHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : (v as string | undefined);
}
