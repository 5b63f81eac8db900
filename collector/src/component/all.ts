/**
 * The hand-kept list of every component the collector ships: one re-export per line, each a
 * `ComponentDefinition` (the exported name is free; keep lines sorted by component name so
 * concurrent additions merge). `runtime/registry.ts` registers everything exported here.
 */
export { component as discovery_relabel } from './discovery/relabel/relabel.js';
export { component as local_file } from './local/file/file.js';
export { component as local_file_match } from './local/file_match/file-match.js';
export { component as loki_process } from './loki/process/process.js';
export { component as loki_relabel } from './loki/relabel/relabel.js';
export { component as loki_source_api } from './loki/source/api/api.js';
export { component as loki_source_file } from './loki/source/file/file.js';
export { component as loki_write } from './loki/write/write.js';
export { component as prometheus_exporter_self } from './prometheus/exporter/self/self.js';
export { component as prometheus_receive_http } from './prometheus/receive_http/receive-http.js';
export { component as prometheus_relabel } from './prometheus/relabel/relabel.js';
export { component as prometheus_remote_write } from './prometheus/remote_write/remote-write.js';
export { component as prometheus_scrape } from './prometheus/scrape/scrape.js';
