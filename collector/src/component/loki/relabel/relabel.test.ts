import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../runtime/component.js';
import { formatStreamLabels } from '../../../loki/labels.js';
import type { LogEntry, LogsReceiver } from '../../../loki/types.js';
import { LokiSink } from '../../../loki/loki.test-support.js';
import { LiveDebugging } from '../../../runtime/live-debugging.js';
import { freePort, runConfig } from '../loki.test-support.js';
import { argumentsSchema, LokiRelabelComponent, type Exports } from './relabel.js';

class Collect implements LogsReceiver {
  readonly got: LogEntry[] = [];
  async append(entries: readonly LogEntry[]): Promise<void> {
    this.got.push(...entries);
  }
}

function build(rule: Record<string, unknown>[], sink: LogsReceiver, live?: LiveDebugging) {
  const exports: Exports[] = [];
  const registry = new Registry();
  const opts: ComponentOptions<Exports> = {
    id: 'loki.relabel.t',
    logger: winston.createLogger({ silent: true }),
    registry,
    dataPath: '/nonexistent',
    onStateChange: (e) => exports.push(e),
    setHealth: () => undefined,
    getService: <T>(name: string): T => {
      if (name === 'livedebugging' && live) return live as T;
      throw new Error('none');
    },
  };
  const c = new LokiRelabelComponent(opts, argumentsSchema.parse({ forward_to: [sink], rule }));
  return { c, exports, registry };
}

const entry = (labels: Record<string, string>, line: string): LogEntry => ({
  labels: Object.freeze(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, value]) => ({ name, value }))),
  line,
  timestampMs: 1,
  timestampNanos: 0,
});

describe('loki.relabel', () => {
  it('publishes each entry with its labels before and after to a live-debugging viewer, as upstream words it', async () => {
    const live = new LiveDebugging();
    live.enabled = true;
    const seen: string[] = [];
    const { c } = build([{ source_labels: ['app'], regex: 'drop-me', action: 'drop' }, { target_label: 'env', replacement: 'prod' }], new Collect(), live);
    await c.receiver.append([entry({ app: 'web' }, 'before watching')]);
    const stop = live.subscribe('loki.relabel.t', (items) => seen.push(...items));
    await c.receiver.append([entry({ app: 'web' }, 'GET /'), entry({ app: 'drop-me' }, 'gone')]);
    stop();
    await c.receiver.append([entry({ app: 'web' }, 'after watching')]);
    expect(seen).toEqual(['entry: GET /, labels: {app="web"} => {app="web", env="prod"}', 'entry: gone, labels: {app="drop-me"} => {}']);
  });

  it('rewrites labels, drops entries a rule drops or empties, and reuses one output Labels per stream', async () => {
    const sink = new Collect();
    const { c, exports, registry } = build(
      [
        { source_labels: ['__path__'], target_label: 'file' },
        { source_labels: ['level'], regex: 'debug', action: 'drop' },
        { regex: '__path__', action: 'labeldrop' },
      ],
      sink,
    );
    expect(exports[0]!.receiver).toBe(c.receiver);
    expect(exports[0]!.rules).toHaveLength(3);
    const a = entry({ __path__: '/var/log/a.log', level: 'info' }, 'one');
    await c.receiver.append([a, { ...a, line: 'two' }, entry({ level: 'debug' }, 'dropped'), entry({ __path__: '' }, 'empty')]);
    expect(sink.got.map((e) => [formatStreamLabels(e.labels), e.line])).toStrictEqual([
      ['{file="/var/log/a.log", level="info"}', 'one'],
      ['{file="/var/log/a.log", level="info"}', 'two'],
    ]);
    expect(sink.got[0]!.labels).toBe(sink.got[1]!.labels);
    const text = await registry.metrics();
    expect(text).toMatch(/loki_relabel_entries_processed 4/);
    expect(text).toMatch(/loki_relabel_entries_written 2/);
  });

  it('rejects invalid rules with the field named', () => {
    const r = argumentsSchema.safeParse({ forward_to: [], rule: [{ action: 'hashmod', target_label: 'x' }] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/hashmod requires non-zero modulus/);
  });

  it('its rules drive loki.source.api relabel_rules in a running config', async () => {
    const sink = new LokiSink();
    await sink.start();
    const port = await freePort();
    const t = await runConfig(`
loki.relabel "r" {
  forward_to = []
  rule {
    source_labels = ["__host"]
    target_label  = "host"
  }
  rule {
    source_labels = ["app"]
    regex         = "noisy"
    action        = "drop"
  }
  rule {
    regex  = "tmp_.*"
    action = "labeldrop"
  }
}
loki.source.api "in" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${port}
  }
  forward_to     = [loki.write.out.receiver]
  relabel_rules  = loki.relabel.r.rules
}
loki.write "out" {
  endpoint {
    url        = "${sink.url}"
    batch_wait = "10ms"
  }
}
`);
    try {
      expect(t.load.message).toBe('');
      const body = {
        streams: [
          { stream: { app: 'web', __host: 'h1', tmp_x: 'y' }, values: [['1', 'kept']] },
          { stream: { app: 'noisy' }, values: [['2', 'dropped']] },
        ],
      };
      const res = await fetch(`http://127.0.0.1:${port}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(204);
      const end = Date.now() + 5000;
      while (sink.entries.length < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(sink.entries.map((e) => [e.stream, e.line])).toStrictEqual([['{app="web", host="h1"}', 'kept']]);
    } finally {
      await t.stop();
      await sink.stop();
    }
  });
});
