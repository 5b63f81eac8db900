import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../runtime/component.js';
import { isStaleNaN, STALE_NAN, type Labels, type MetricsReceiver, type SampleBatch } from '../../../prom/types.js';
import { labelsFromRecord, labelsToRecord } from '../../../prom/labels/labels.js';
import { argumentsSchema, RelabelCache, RelabelComponent, component, type Exports } from './relabel.js';

class Sink implements MetricsReceiver {
  batches: SampleBatch[] = [];
  fail = false;
  async append(b: SampleBatch): Promise<void> {
    if (this.fail) throw new Error('disk full');
    this.batches.push(b);
  }
}

function batch(rows: Array<[Labels, number]>, ts = 1000): SampleBatch {
  // Values go straight into the Float64Array: a plain JS double array would canonicalize STALE_NAN.
  const values = new Float64Array(rows.length);
  rows.forEach((r, i) => (values[i] = r[1]));
  return { series: rows.map((r) => r[0]), timestamps: new Float64Array(rows.length).fill(ts), values, length: rows.length };
}

function build(args: Record<string, unknown>) {
  const exports: Exports[] = [];
  const registry = new Registry();
  const opts: ComponentOptions<Exports> = {
    id: 'prometheus.relabel.t',
    logger: winston.createLogger({ silent: true }),
    registry,
    dataPath: '/tmp/unused',
    onStateChange: (e) => exports.push(e),
    setHealth: () => undefined,
    getService: () => {
      throw new Error('none');
    },
  };
  const comp = new RelabelComponent(opts, argumentsSchema.parse(args));
  return { comp, exports, registry };
}

describe('prometheus.relabel', () => {

  const up = labelsFromRecord({ __name__: 'up', job: 'a', instance: 'h:1' });
  const dropMe = labelsFromRecord({ __name__: 'go_gc_duration_seconds', job: 'a' });

  it('relabels, drops, forwards, and reuses output Labels objects across batches', async () => {
    const sink = new Sink();
    const { comp, exports, registry } = build({
      forward_to: [sink],
      rule: [
        { source_labels: ['__name__'], regex: 'go_.*', action: 'drop' },
        { source_labels: ['instance'], regex: '([^:]+):\\d+', target_label: 'host' },
      ],
    });
    expect(exports[0]!.receiver).toBe(comp.receiver);
    expect(exports[0]!.rules).toHaveLength(2);
    await comp.receiver.append(batch([[up, 1], [dropMe, 2]]));
    await comp.receiver.append(batch([[labelsFromRecord({ __name__: 'up', job: 'a', instance: 'h:1' }), 0]], 2000));
    expect(sink.batches).toHaveLength(2);
    expect(sink.batches[0]!.length).toBe(1);
    expect(labelsToRecord(sink.batches[0]!.series[0]!)).toEqual({ __name__: 'up', job: 'a', instance: 'h:1', host: 'h' });
    expect(sink.batches[1]!.series[0]).toBe(sink.batches[0]!.series[0]); // equal input (new object) → same output object
    expect(sink.batches[1]!.timestamps[0]).toBe(2000);
    const metrics = await registry.getMetricsAsJSON();
    const val = (n: string) => metrics.find((m) => m.name === n)!.values[0]!.value;
    expect(val('prometheus_relabel_metrics_processed')).toBe(3);
    expect(val('prometheus_relabel_metrics_written')).toBe(2);
    expect(val('prometheus_relabel_cache_hits')).toBe(1);
  });

  it('passes staleness markers through and evicts their series from the cache', async () => {
    const sink = new Sink();
    const { comp } = build({ forward_to: [sink], rule: [{ target_label: 'x', replacement: 'y' }] });
    await comp.receiver.append(batch([[up, STALE_NAN]]));
    expect(isStaleNaN(sink.batches[0]!.values[0]!)).toBe(true);
    const before = sink.batches[0]!.series[0];
    await comp.receiver.append(batch([[up, 1]]));
    expect(sink.batches[1]!.series[0]).not.toBe(before); // recomputed after eviction
    expect(labelsToRecord(sink.batches[1]!.series[0]!)).toMatchObject({ x: 'y' });
  });

  it('carries exemplars to the kept samples at their new index', async () => {
    const sink = new Sink();
    const { comp } = build({ forward_to: [sink], rule: [{ source_labels: ['__name__'], regex: 'go_.*', action: 'drop' }] });
    const b = batch([[dropMe, 1], [up, 2]]);
    const ex = { labels: [{ name: 'trace_id', value: 'abc' }], value: 2, timestamp: 5 };
    await comp.receiver.append({ ...b, exemplars: new Map([[1, ex]]) });
    expect(sink.batches[0]!.length).toBe(1);
    expect(sink.batches[0]!.exemplars?.get(0)).toBe(ex);
  });

  it('does not forward an empty batch and propagates downstream failures', async () => {
    const sink = new Sink();
    const { comp } = build({ forward_to: [sink], rule: [{ action: 'drop', source_labels: ['job'], regex: 'a' }] });
    await comp.receiver.append(batch([[up, 1]]));
    expect(sink.batches).toHaveLength(0);
    comp.update(argumentsSchema.parse({ forward_to: [sink], rule: [] }));
    sink.fail = true;
    await expect(comp.receiver.append(batch([[up, 1]]))).rejects.toThrow('disk full');
  });

  it('applies new rules on update with the same receiver', async () => {
    const sink = new Sink();
    const { comp, exports } = build({ forward_to: [sink], rule: [{ target_label: 'v', replacement: '1' }] });
    await comp.receiver.append(batch([[up, 1]]));
    comp.update(argumentsSchema.parse({ forward_to: [sink], rule: [{ target_label: 'v', replacement: '2' }] }));
    await comp.receiver.append(batch([[up, 1]]));
    expect(labelsToRecord(sink.batches[1]!.series[0]!)['v']).toBe('2');
    expect(exports[1]!.receiver).toBe(exports[0]!.receiver);
  });

  it('bounds the hash cache by max_cache_size', () => {
    const c = new RelabelCache(2);
    const a = labelsFromRecord({ a: '1' });
    const b = labelsFromRecord({ b: '1' });
    const d = labelsFromRecord({ d: '1' });
    c.set(a, a);
    c.set(b, null);
    c.set(d, d);
    expect(c.size).toBe(2);
    // Evicted from the hash side: an equal new object misses; the live object itself still answers.
    expect(c.get(labelsFromRecord({ a: '1' }))).toBeUndefined();
    expect(c.get(a)).toBe(a);
    expect(c.get(b)).toBeNull();
    expect(c.get(labelsFromRecord({ d: '1' }))).toBe(d);
  });

  it('rejects bad rules with the field named', () => {
    const r = argumentsSchema.safeParse({ forward_to: [], rule: [{ action: 'hashmod', target_label: 'x' }] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toContain('requires non-zero modulus');
    expect(r.error!.issues[0]!.path).toEqual(['rule', 0, 'modulus']);
    expect(component.exports).toEqual(['receiver', 'rules']);
  });
});
