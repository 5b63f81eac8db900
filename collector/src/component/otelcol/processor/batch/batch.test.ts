import { decodeJson } from '../../../../otlp/json.js';
import type { Telemetry } from '../../../../otlp/data.js';
import { CaptureConsumer, eventually, officialDecode, runComponent, type Running } from '../../otelcol.test-support.js';
import { component, type Exports } from './batch.js';

type Obj = Record<string, unknown>;
let next = 1;
const spans = (n: number, service = 'svc'): Telemetry =>
  decodeJson('traces', JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans: Array.from({ length: n }, () => ({ traceId: '0102030405060708090a0b0c0d0e0f10', spanId: (next++).toString(16).padStart(16, '0'), name: 'op', startTimeUnixNano: '1700000000000000001' })) }] }] }));
const spanIds = (t: Telemetry): string[] => (officialDecode('traces', t.encode())['resourceSpans'] as Obj[]).flatMap((rs) => (rs['scopeSpans'] as Obj[]).flatMap((ss) => (ss['spans'] as Obj[]).map((s) => s['spanId'] as string)));

describe('otelcol.processor.batch', () => {
  let r: Running<unknown, Exports> | undefined;
  afterEach(async () => r?.stop());
  const start = async (cfg: Obj, sink: CaptureConsumer) => {
    r = await runComponent<never, Exports>(component as never, { ...cfg, output: { traces: [sink], logs: [sink], metrics: [sink] } });
    return r.exports().input;
  };

  it('acknowledges at once and sends one merged request when send_batch_size is reached', async () => {
    const sink = new CaptureConsumer();
    const input = await start({ send_batch_size: 5, timeout: '10s' }, sink);
    const parts = [spans(2), spans(2), spans(2)];
    await input.consume(parts[0]!);
    await input.consume(parts[1]!);
    expect(sink.received).toHaveLength(0);
    await input.consume(parts[2]!);
    await sink.waitFor(6, 'traces');
    expect(sink.received).toHaveLength(1);
    expect(sink.received[0]!.count).toBe(6);
    expect(spanIds(sink.received[0]!)).toEqual(parts.flatMap(spanIds));
  });

  it('flushes on timeout and splits by send_batch_max_size', async () => {
    const sink = new CaptureConsumer();
    const input = await start({ send_batch_size: 100, send_batch_max_size: 100, timeout: '30ms' }, sink);
    await input.consume(spans(1));
    await sink.waitFor(1, 'traces', 2000);
    await r!.stop();
    const sink2 = new CaptureConsumer();
    const input2 = await start({ send_batch_size: 4, send_batch_max_size: 4 }, sink2);
    const big = spans(10);
    await input2.consume(big);
    await sink2.waitFor(10, 'traces');
    expect(sink2.received.map((t) => t.count)).toEqual([4, 4, 2]);
    expect(sink2.received.flatMap(spanIds)).toEqual(spanIds(big));
  });

  it('keeps and re-sends a batch the output refused retryably; refuses once its buffer is full', async () => {
    const sink = new CaptureConsumer();
    sink.fail = { retryable: true, message: 'queue full' };
    const input = await start({ send_batch_size: 1000, timeout: '10ms' }, sink);
    const first = spans(3);
    await input.consume(first);
    await eventually(() => sink.refused >= 2, 5_000, 'the refused batch sent again');
    expect(sink.received).toHaveLength(0);
    // 10 x send_batch_size items may be held while the output refuses.
    for (let i = 0; i < 9; i++) await input.consume(spans(1000));
    await expect(input.consume(spans(1000))).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/batch buffer is full/) });
    sink.fail = undefined;
    await sink.waitFor(9003, 'traces', 5000);
    expect(sink.received.flatMap(spanIds).slice(0, 3)).toEqual(spanIds(first));
  });

  it('drops a batch the output refuses permanently, counting it', async () => {
    const sink = new CaptureConsumer();
    sink.fail = { retryable: false, message: 'invalid' };
    const input = await start({ send_batch_size: 2 }, sink);
    await input.consume(spans(2));
    const dropped = async () => (await r!.registry.getSingleMetric('otelcol_processor_batch_dropped_items_total')!.get()).values[0]?.value ?? 0;
    const deadline = Date.now() + 5000;
    while ((await dropped()) < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    expect(await dropped()).toBe(2);
  });

  it('batches per metadata_keys combination, keeping only those keys', async () => {
    const sink = new CaptureConsumer();
    const input = await start({ send_batch_size: 2, metadata_keys: ['tenant'], metadata_cardinality_limit: 2, timeout: '10s' }, sink);
    const md = (tenant: string) => new Map([['tenant', [tenant]], ['other', ['x']]]);
    await Promise.all([input.consume(spans(1).withMetadata(md('a'))), input.consume(spans(1).withMetadata(md('b'))), input.consume(spans(1).withMetadata(md('a'))), input.consume(spans(1).withMetadata(md('b')))]);
    await sink.waitFor(4, 'traces');
    expect(sink.received).toHaveLength(2);
    expect(sink.received.map((t) => [t.count, [...(t.metadata ?? [])]])).toEqual([
      [2, [['tenant', ['a']]]],
      [2, [['tenant', ['b']]]],
    ]);
    await input.consume(spans(1).withMetadata(md('c')));
    await input.consume(spans(1).withMetadata(md('d')));
    await expect(input.consume(spans(1).withMetadata(md('e')))).rejects.toThrow(/metadata_cardinality_limit 2/);
    await r!.stop();
    r = undefined;
    expect(sink.count('traces')).toBe(6);
  });

  it('rejects send_batch_max_size below send_batch_size', () => {
    expect(component.args.safeParse({ send_batch_size: 10, send_batch_max_size: 5, output: {} }).success).toBe(false);
  });
});
