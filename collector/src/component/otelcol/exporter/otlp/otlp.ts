/**
 * `otelcol.exporter.otlp`: sends every signal over OTLP/gRPC to `client.endpoint`, through the
 * `sending_queue` and `retry_on_failure` of `exporter/helper.ts`. TLS is on unless
 * `client { tls { insecure = true } }` (or an `http://` endpoint); `compression` defaults to gzip.
 */
import { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { block, duration } from '../../../../syntax/vm/schema.js';
import { queueBlock, retryBlock } from '../../config.js';
import { debugMetricsBlock } from '../../consumer.js';
import { GrpcSender, grpcClientSchema } from '../grpc-client.js';
import { QueuedExporter, type Exports } from '../queued-exporter.js';

export const argumentsSchema = z.object({
  timeout: duration().default(5_000),
  client: block(grpcClientSchema),
  retry_on_failure: retryBlock,
  sending_queue: queueBlock,
  debug_metrics: debugMetricsBlock,
});

export type Arguments = z.output<typeof argumentsSchema>;

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.exporter.otlp',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => new QueuedExporter<Arguments>(opts, args, (a) => new GrpcSender(a.client, a.timeout, opts.logger)),
};
