/**
 * The hand-kept list of every component the collector ships: one re-export per line, each a
 * `ComponentDefinition` (the exported name is free; keep lines sorted by component name so
 * concurrent additions merge). `runtime/registry.ts` registers everything exported here.
 */
export { component as discovery_kubernetes } from './discovery/kubernetes/kubernetes.js';
export { component as discovery_relabel } from './discovery/relabel/relabel.js';
export { component as local_file } from './local/file/file.js';
export { component as local_file_match } from './local/file_match/file-match.js';
export { component as loki_process } from './loki/process/process.js';
export { component as loki_relabel } from './loki/relabel/relabel.js';
export { component as loki_source_api } from './loki/source/api/api.js';
export { component as loki_source_file } from './loki/source/file/file.js';
export { component as loki_source_kubernetes } from './loki/source/kubernetes/kubernetes.js';
export { component as loki_write } from './loki/write/write.js';
export { component as otelcol_auth_basic } from './otelcol/auth/basic/basic.js';
export { component as otelcol_auth_bearer } from './otelcol/auth/bearer/bearer.js';
export { component as otelcol_auth_headers } from './otelcol/auth/headers/headers.js';
export { component as otelcol_connector_servicegraph } from './otelcol/connector/servicegraph/servicegraph.js';
export { component as otelcol_connector_spanmetrics } from './otelcol/connector/spanmetrics/spanmetrics.js';
export { component as otelcol_exporter_debug } from './otelcol/exporter/debug/debug.js';
export { component as otelcol_exporter_loadbalancing } from './otelcol/exporter/loadbalancing/loadbalancing.js';
export { component as otelcol_exporter_loki } from './otelcol/exporter/loki/loki.js';
export { component as otelcol_exporter_otlp } from './otelcol/exporter/otlp/otlp.js';
export { component as otelcol_exporter_otlphttp } from './otelcol/exporter/otlphttp/otlphttp.js';
export { component as otelcol_exporter_prometheus } from './otelcol/exporter/prometheus/prometheus.js';
export { component as otelcol_processor_attributes } from './otelcol/processor/attributes/attributes.js';
export { component as otelcol_processor_batch } from './otelcol/processor/batch/batch.js';
export { component as otelcol_processor_memory_limiter } from './otelcol/processor/memory_limiter/memory-limiter.js';
export { component as otelcol_receiver_loki } from './otelcol/receiver/loki/loki.js';
export { component as otelcol_receiver_otlp } from './otelcol/receiver/otlp/otlp.js';
export { component as otelcol_receiver_prometheus } from './otelcol/receiver/prometheus/prometheus.js';
export { component as prometheus_exporter_self } from './prometheus/exporter/self/self.js';
export { component as prometheus_operator_podmonitors } from './prometheus/operator/podmonitors/podmonitors.js';
export { component as prometheus_operator_probes } from './prometheus/operator/probes/probes.js';
export { component as prometheus_operator_servicemonitors } from './prometheus/operator/servicemonitors/servicemonitors.js';
export { component as prometheus_receive_http } from './prometheus/receive_http/receive-http.js';
export { component as prometheus_relabel } from './prometheus/relabel/relabel.js';
export { component as prometheus_remote_write } from './prometheus/remote_write/remote-write.js';
export { component as prometheus_scrape } from './prometheus/scrape/scrape.js';
export { component as pyroscope_ebpf } from './pyroscope/ebpf/ebpf.js';
export { component as pyroscope_java } from './pyroscope/java/java.js';
export { component as pyroscope_receive_http } from './pyroscope/receive_http/receive-http.js';
export { component as pyroscope_relabel } from './pyroscope/relabel/relabel.js';
export { component as pyroscope_scrape } from './pyroscope/scrape/scrape.js';
export { component as pyroscope_write } from './pyroscope/write/write.js';
