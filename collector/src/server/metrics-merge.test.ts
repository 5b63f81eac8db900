import { Counter, Histogram, Registry } from 'prom-client';
import { mergeExpositions } from './metrics-merge.js';

describe('mergeExpositions', () => {
  it('writes a family shared by two component registries once, with both samples', async () => {
    const regs = ['prometheus.remote_write.a', 'prometheus.remote_write.b'].map((id, i) => {
      const r = new Registry();
      r.setDefaultLabels({ component_id: id });
      new Counter({ name: 'prometheus_remote_storage_samples_total', help: 'Samples sent.', registers: [r] }).inc(i + 1);
      new Histogram({ name: 'lat_seconds', help: 'Latency.', buckets: [1], registers: [r] }).observe(0.5);
      return r;
    });
    const text = mergeExpositions(await Promise.all(regs.map((r) => r.metrics())));
    expect(text.match(/# TYPE prometheus_remote_storage_samples_total counter/g)).toHaveLength(1);
    expect(text).toContain('prometheus_remote_storage_samples_total{component_id="prometheus.remote_write.a"} 1');
    expect(text).toContain('prometheus_remote_storage_samples_total{component_id="prometheus.remote_write.b"} 2');
    expect(text.match(/# HELP lat_seconds/g)).toHaveLength(1);
    const lat = text.slice(text.indexOf('# HELP lat_seconds'));
    expect(lat.split('\n').filter((l) => l.startsWith('lat_seconds_count'))).toHaveLength(2);
  });
});
