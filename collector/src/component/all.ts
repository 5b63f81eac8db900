/**
 * The hand-kept list of every component the collector ships: its name and the module that
 * defines it, imported only when a configuration uses it (`LazyComponent`). Keep lines sorted by
 * component name so concurrent additions merge; `component/registry.ts` registers everything
 * here, and its test checks that each module defines the component named on its line.
 */
import type { LazyComponent } from '../runtime/registry.js';

export const COMPONENTS: readonly LazyComponent[] = [
  { name: 'discovery.kubernetes', load: () => import('./discovery/kubernetes/kubernetes.js') },
  { name: 'discovery.relabel', load: () => import('./discovery/relabel/relabel.js') },
  { name: 'local.file', load: () => import('./local/file/file.js') },
  { name: 'local.file_match', load: () => import('./local/file_match/file-match.js') },
  { name: 'loki.process', load: () => import('./loki/process/process.js') },
  { name: 'loki.relabel', load: () => import('./loki/relabel/relabel.js') },
  { name: 'loki.source.api', load: () => import('./loki/source/api/api.js') },
  { name: 'loki.source.file', load: () => import('./loki/source/file/file.js') },
  { name: 'loki.source.kubernetes', load: () => import('./loki/source/kubernetes/kubernetes.js') },
  { name: 'loki.write', load: () => import('./loki/write/write.js') },
  { name: 'otelcol.auth.basic', load: () => import('./otelcol/auth/basic/basic.js') },
  { name: 'otelcol.auth.bearer', load: () => import('./otelcol/auth/bearer/bearer.js') },
  { name: 'otelcol.auth.headers', load: () => import('./otelcol/auth/headers/headers.js') },
  { name: 'otelcol.connector.servicegraph', load: () => import('./otelcol/connector/servicegraph/servicegraph.js') },
  { name: 'otelcol.connector.spanmetrics', load: () => import('./otelcol/connector/spanmetrics/spanmetrics.js') },
  { name: 'otelcol.exporter.debug', load: () => import('./otelcol/exporter/debug/debug.js') },
  { name: 'otelcol.exporter.loadbalancing', load: () => import('./otelcol/exporter/loadbalancing/loadbalancing.js') },
  { name: 'otelcol.exporter.loki', load: () => import('./otelcol/exporter/loki/loki.js') },
  { name: 'otelcol.exporter.otlp', load: () => import('./otelcol/exporter/otlp/otlp.js') },
  { name: 'otelcol.exporter.otlphttp', load: () => import('./otelcol/exporter/otlphttp/otlphttp.js') },
  { name: 'otelcol.exporter.prometheus', load: () => import('./otelcol/exporter/prometheus/prometheus.js') },
  { name: 'otelcol.processor.attributes', load: () => import('./otelcol/processor/attributes/attributes.js') },
  { name: 'otelcol.processor.batch', load: () => import('./otelcol/processor/batch/batch.js') },
  { name: 'otelcol.processor.memory_limiter', load: () => import('./otelcol/processor/memory_limiter/memory-limiter.js') },
  { name: 'otelcol.receiver.loki', load: () => import('./otelcol/receiver/loki/loki.js') },
  { name: 'otelcol.receiver.otlp', load: () => import('./otelcol/receiver/otlp/otlp.js') },
  { name: 'otelcol.receiver.prometheus', load: () => import('./otelcol/receiver/prometheus/prometheus.js') },
  { name: 'prometheus.exporter.self', load: () => import('./prometheus/exporter/self/self.js') },
  { name: 'prometheus.operator.podmonitors', load: () => import('./prometheus/operator/podmonitors/podmonitors.js') },
  { name: 'prometheus.operator.probes', load: () => import('./prometheus/operator/probes/probes.js') },
  { name: 'prometheus.operator.scrapeconfigs', load: () => import('./prometheus/operator/scrapeconfigs/scrapeconfigs.js') },
  { name: 'prometheus.operator.servicemonitors', load: () => import('./prometheus/operator/servicemonitors/servicemonitors.js') },
  { name: 'prometheus.receive_http', load: () => import('./prometheus/receive_http/receive-http.js') },
  { name: 'prometheus.relabel', load: () => import('./prometheus/relabel/relabel.js') },
  { name: 'prometheus.remote_write', load: () => import('./prometheus/remote_write/remote-write.js') },
  { name: 'prometheus.scrape', load: () => import('./prometheus/scrape/scrape.js') },
  { name: 'pyroscope.ebpf', load: () => import('./pyroscope/ebpf/ebpf.js') },
  { name: 'pyroscope.java', load: () => import('./pyroscope/java/java.js') },
  { name: 'pyroscope.receive_http', load: () => import('./pyroscope/receive_http/receive-http.js') },
  { name: 'pyroscope.relabel', load: () => import('./pyroscope/relabel/relabel.js') },
  { name: 'pyroscope.scrape', load: () => import('./pyroscope/scrape/scrape.js') },
  { name: 'pyroscope.write', load: () => import('./pyroscope/write/write.js') },
];
