import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../runtime/component.js';
import { parseStreamLabels } from '../../../loki/labels.js';
import { LokiSink } from '../../../loki/loki.test-support.js';
import type { LogEntry } from '../../../loki/types.js';
import { argumentsSchema } from './arguments.js';
import { LokiWriteComponent, type Exports } from './write.js';
import { eventually } from '../../../clock/eventually.test-support.js';

const log = winston.createLogger({ silent: true });
const app = parseStreamLabels('{job="app"}');
const entry = (line: string): LogEntry => ({ labels: app, line, timestampMs: 1_700_000_000_000, timestampNanos: 0 });

describe('loki.write WAL', () => {
  let dir: string;
  let sink: LokiSink;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'loki-wal-'));
    sink = new LokiSink();
    await sink.start();
  });
  afterEach(async () => {
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(extra: Record<string, unknown> = {}, endpoint: Record<string, unknown> = {}) {
    let ex: Exports | undefined;
    const registry = new Registry();
    const opts: ComponentOptions<Exports> = {
      id: 'loki.write.wal',
      logger: log,
      registry,
      dataPath: dir,
      onStateChange: (e) => (ex = e),
      setHealth: () => undefined,
      getService: () => {
        throw new Error('none');
      },
    };
    const args = argumentsSchema.parse({
      endpoint: [{ url: sink.url, batch_wait: '10ms', min_backoff_period: '10ms', max_backoff_period: '20ms', max_backoff_retries: 1000, ...endpoint }],
      wal: { enabled: true, min_read_frequency: '10ms', max_read_frequency: '50ms', drain_timeout: '200ms', ...extra },
    });
    const c = await LokiWriteComponent.create(opts, args);
    const ac = new AbortController();
    const running = c.run(ac.signal);
    return {
      receiver: ex!.receiver,
      registry,
      stop: async () => {
        ac.abort();
        await running;
      },
    };
  }

  it('keeps entries accepted while Loki is down across a restart, then delivers each once', async () => {
    sink.down = true;
    const a = await start();
    for (let i = 0; i < 20; i++) await a.receiver.append(Array.from({ length: 50 }, (_x, j) => entry(`l${i * 50 + j}`)));
    await a.stop();
    expect(sink.entries).toHaveLength(0);
    sink.down = false;
    const b = await start();
    await sink.until(1000);
    // Window, not synchronisation: proves no entry is delivered twice.
    await new Promise((r) => setTimeout(r, 100));
    expect(sink.lines()).toStrictEqual(Array.from({ length: 1000 }, (_x, i) => `l${i}`));
    await b.stop();
    // Delivered entries are not sent again after another restart.
    const c = await start();
    await new Promise((r) => setTimeout(r, 200));
    await c.stop();
    expect(sink.entries).toHaveLength(1000);
  });

  it('cuts a torn tail and keeps the records before it', async () => {
    sink.down = true;
    const a = await start();
    await a.receiver.append([entry('one'), entry('two')]);
    await a.stop();
    const seg = path.join(dir, 'wal', readdirSync(path.join(dir, 'wal')).filter((n) => /^\d{8}$/.test(n)).sort().pop()!);
    appendFileSync(seg, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5]));
    sink.down = false;
    const b = await start();
    await sink.until(2);
    await b.receiver.append([entry('three')]);
    await sink.until(3);
    await b.stop();
    expect(sink.lines()).toStrictEqual(['one', 'two', 'three']);
  });

  it('deletes delivered segments once they are older than a rotation', async () => {
    const a = await start({ max_segment_age: '100ms' });
    for (let i = 0; i < 5; i++) {
      await a.receiver.append([entry(`x${i}`)]);
      await sink.until(i + 1);
      // Scenario time, not synchronisation: each entry lands in a segment older than max_segment_age.
      await new Promise((r) => setTimeout(r, 400));
    }
    const segments = (): string[] => readdirSync(path.join(dir, 'wal')).filter((n) => /^\d{8}$/.test(n));
    await eventually(() => segments().length <= 2, 5_000, 'delivered segments deleted');
    const segs = segments();
    expect(segs.length).toBeLessThanOrEqual(2);
    expect(Number(segs.sort().pop())).toBeGreaterThan(2);
    await a.stop();
  });

  it('queue_config.block_on_overflow = false drops entries while the queue is full', async () => {
    sink.down = true;
    let ex: Exports | undefined;
    const registry = new Registry();
    const opts: ComponentOptions<Exports> = {
      id: 'loki.write.nb',
      logger: log,
      registry,
      dataPath: dir,
      onStateChange: (e) => (ex = e),
      setHealth: () => undefined,
      getService: () => {
        throw new Error('none');
      },
    };
    const args = argumentsSchema.parse({ endpoint: [{ url: sink.url, batch_wait: '10ms', min_backoff_period: '1s', max_backoff_period: '1s', queue_config: { capacity: '10B', block_on_overflow: false, drain_timeout: '10ms' } }] });
    const c = await LokiWriteComponent.create(opts, args);
    const ac = new AbortController();
    const running = c.run(ac.signal);
    await ex!.receiver.append([entry('first entry fills the queue')]);
    await ex!.receiver.append([entry('second is dropped')]);
    const text = await registry.metrics();
    expect(text).toMatch(/loki_write_dropped_entries_total\{host="[^"]+",reason="queue_full"\} 1/);
    ac.abort();
    await running;
  });
});
