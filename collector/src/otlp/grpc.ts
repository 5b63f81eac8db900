/**
 * gRPC service definitions of the three OTLP collector services for `@grpc/grpc-js`, with
 * pass-through serializers: requests travel as raw bytes (decoded by `Telemetry.decode`, so a
 * malformed request becomes our own INVALID_ARGUMENT message) and responses as encoded bytes.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import type { Signal } from './data.js';

export const SERVICE_PATH: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

const passBuffer = (b: Buffer): Buffer => b;

export function serviceDefinition(signal: Signal): ServiceDefinition {
  return {
    Export: {
      path: SERVICE_PATH[signal],
      requestStream: false,
      responseStream: false,
      requestSerialize: passBuffer,
      requestDeserialize: passBuffer,
      responseSerialize: passBuffer,
      responseDeserialize: passBuffer,
    },
  };
}
