import { Registry } from 'prom-client';
import { decodeJson } from '../../../../otlp/json.js';
import { component as receiver, type OtlpReceiver } from '../../receiver/otlp/otlp.js';
import { CaptureConsumer, eventually, runComponent, silentLogger } from '../../otelcol.test-support.js';
import { argumentsSchema, limits, MemoryLimiter, type Exports } from './memory-limiter.js';

describe('otelcol.processor.memory_limiter', () => {
  it('computes soft and hard limits from absolute sizes and percentages', () => {
    const abs = argumentsSchema.parse({ check_interval: '1s', limit: '100MiB', output: {} });
    expect(limits(abs)).toEqual({ hard: 100 * 1024 * 1024, soft: 80 * 1024 * 1024 });
    const pct = argumentsSchema.parse({ check_interval: '1s', limit_percentage: 50, spike_limit_percentage: 10, output: {} });
    expect(limits(pct, 1000)).toEqual({ hard: 500, soft: 400 });
    expect(argumentsSchema.safeParse({ check_interval: '1s', output: {} }).success).toBe(false);
  });

  it('refuses retryably above the soft limit (a receiver answers 503) and passes data below it', async () => {
    let used = 90;
    const sink = new CaptureConsumer();
    let exports: Exports | undefined;
    const ml = new MemoryLimiter(
      { id: 'otelcol.processor.memory_limiter.t', logger: silentLogger, registry: new Registry(), dataPath: '', onStateChange: (e) => (exports = e), setHealth: () => undefined, getService: () => { throw new Error('none'); } },
      argumentsSchema.parse({ check_interval: '10ms', limit: '100B', spike_limit: '20B', output: { traces: [sink] } }),
      { usage: () => used },
    );
    const ac = new AbortController();
    const running = ml.run(ac.signal);
    const rx = await runComponent<never, Record<string, never>, OtlpReceiver>(receiver as never, { http: { endpoint: '127.0.0.1:0' }, output: { traces: [exports!.input] } });
    await eventually(() => rx.health().state === 'healthy', 5000, 'receiver');
    const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708', name: 'x' }] }] }] });
    const post = () => fetch(`http://${rx.component.addresses().http}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { message: string }).message).toMatch(/refused due to high memory usage/);
    await expect(exports!.input.consume(decodeJson('traces', body))).rejects.toMatchObject({ retryable: true });
    used = 10;
    await eventually(() => !ml.refusing, 2000, 'limiter to accept again');
    expect((await post()).status).toBe(200);
    expect(sink.count('traces')).toBe(1);
    await rx.stop();
    ac.abort();
    await running;
  });
});
