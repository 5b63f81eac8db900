import { decodeJson } from '../../../../otlp/json.js';
import type { MetricsRequest } from '../../../../otlp/types.js';
import { labelsToRecord } from '../../../../prom/labels/labels.js';
import { argumentsSchema, convert } from './prometheus.js';

const T = '1700000000000000000';
const req = decodeJson(
  'metrics',
  JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }, { key: 'service.namespace', value: { stringValue: 'prod' } }, { key: 'service.instance.id', value: { stringValue: 'i-1' } }, { key: 'k8s.pod.name', value: { stringValue: 'p1' } }] },
        scopeMetrics: [
          {
            scope: { name: 'lib', version: '2' },
            metrics: [
              { name: 'http.server.duration', unit: 'ms', histogram: { aggregationTemporality: 2, dataPoints: [{ attributes: [{ key: 'http.route', value: { stringValue: '/a' } }], timeUnixNano: T, count: '3', sum: 12.5, bucketCounts: ['1', '2', '0'], explicitBounds: [5, 10] }] } },
              { name: 'requests', unit: '{request}', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: T, asInt: '42' }] } },
              { name: 'cpu.utilization', unit: '1', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 0.25 }] } },
              { name: 'queue.size', unit: 'By', sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [{ timeUnixNano: T, asInt: '7' }] } },
              { name: 'delta.calls', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: T, asInt: '1' }] } },
            ],
          },
        ],
      },
    ],
  }),
);

describe('otelcol.exporter.prometheus', () => {
  it('translates names, units, labels, histograms and target_info as upstream does', () => {
    const { out, dropped } = convert(argumentsSchema.parse({ forward_to: [] }), req.request as MetricsRequest, 1_700_000_000_999);
    const rows = out.series.map((s, i) => [labelsToRecord(s), out.timestamps[i], out.values[i]]);
    const common = { job: 'prod/shop', instance: 'i-1', otel_scope_name: 'lib', otel_scope_version: '2' };
    expect(rows).toEqual([
      [{ __name__: 'target_info', job: 'prod/shop', instance: 'i-1', k8s_pod_name: 'p1' }, 1_700_000_000_999, 1],
      [{ ...common, __name__: 'http_server_duration_milliseconds_bucket', http_route: '/a', le: '5' }, 1_700_000_000_000, 1],
      [{ ...common, __name__: 'http_server_duration_milliseconds_bucket', http_route: '/a', le: '10' }, 1_700_000_000_000, 3],
      [{ ...common, __name__: 'http_server_duration_milliseconds_bucket', http_route: '/a', le: '+Inf' }, 1_700_000_000_000, 3],
      [{ ...common, __name__: 'http_server_duration_milliseconds_sum', http_route: '/a' }, 1_700_000_000_000, 12.5],
      [{ ...common, __name__: 'http_server_duration_milliseconds_count', http_route: '/a' }, 1_700_000_000_000, 3],
      [{ ...common, __name__: 'requests_total' }, 1_700_000_000_000, 42],
      [{ ...common, __name__: 'cpu_utilization_ratio' }, 1_700_000_000_000, 0.25],
      [{ ...common, __name__: 'queue_size_bytes' }, 1_700_000_000_000, 7],
    ]);
    expect(dropped).toBe(1);
  });

  it('honours add_metric_suffixes, include_scope_labels, include_target_info and resource_to_telemetry_conversion', () => {
    const { out } = convert(argumentsSchema.parse({ forward_to: [], add_metric_suffixes: false, include_scope_labels: false, include_target_info: false, resource_to_telemetry_conversion: true }), req.request as MetricsRequest);
    const first = labelsToRecord(out.series[0]!);
    expect(first).toEqual({ __name__: 'http_server_duration_bucket', job: 'prod/shop', instance: 'i-1', service_name: 'shop', service_namespace: 'prod', service_instance_id: 'i-1', k8s_pod_name: 'p1', http_route: '/a', le: '5' });
    expect(out.series.map((s) => labelsToRecord(s)['__name__'])).toContain('requests');
  });
});
