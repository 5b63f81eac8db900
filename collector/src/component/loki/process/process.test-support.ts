/**
 * Test-only: builds a `loki.process` from Alloy source text (the stage blocks of its body), decoded
 * and validated exactly as a config file is, and runs log lines through it.
 */
import winston from 'winston';
import { Registry } from 'prom-client';
import { decodeBody, formatDiagnostics, parseFile, stdlibScope, type ast } from '../../../syntax/index.js';
import type { ComponentOptions } from '../../../runtime/component.js';
import type { Label, LogEntry, LogsReceiver } from '../../../loki/types.js';
import { argumentsSchema, LokiProcessComponent, type Arguments, type Exports } from './process.js';
import type { LiveDebuggingService } from '../../../runtime/live-debugging.js';

/** Decodes `loki.process "t" { <body> }` with `forward_to = []`; throws with formatted diagnostics. */
export function decodeStages(body: string): Arguments {
  const src = `loki.process "t" {\n  forward_to = []\n${body}\n}\n`;
  const sources = new Map([['config.alloy', src]]);
  const parsed = parseFile('config.alloy', src);
  if (parsed.diags.length > 0) throw new Error(formatDiagnostics(parsed.diags, sources));
  const blk = parsed.file.body[0] as ast.BlockStmt;
  const r = decodeBody(blk.body, argumentsSchema, stdlibScope(), { start: blk.start, end: blk.end });
  if (r.diags.some((d) => d.severity === 'error')) throw new Error(formatDiagnostics(r.diags, sources));
  return r.value as Arguments;
}

export class Collect implements LogsReceiver {
  readonly got: LogEntry[] = [];
  async append(entries: readonly LogEntry[]): Promise<void> {
    this.got.push(...entries);
  }
}

export interface Harness {
  readonly c: LokiProcessComponent;
  readonly sink: Collect;
  readonly registry: Registry;
  /** Extracted maps of the entries that left the stages, in order. */
  readonly extracted: Record<string, unknown>[];
  /** Sends lines (one batch) and returns what came out of this batch. */
  push(lines: readonly string[], labels?: Record<string, string>, ts?: { timestampMs: number; timestampNanos: number }): Promise<LogEntry[]>;
}

const streams = new Map<string, readonly Label[]>();

/** One frozen `Labels` object per label set, as producers do. */
export function streamLabels(labels: Record<string, string>): readonly Label[] {
  const key = JSON.stringify(Object.entries(labels).sort());
  let ls = streams.get(key);
  if (!ls) {
    ls = Object.freeze(
      Object.entries(labels)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, value]) => ({ name, value })),
    );
    streams.set(key, ls);
  }
  return ls;
}

/** `tap = false` skips recording extracted maps (benchmarks). */
export function processHarness(body: string, now: () => number = Date.now, tap = true, live?: LiveDebuggingService): Harness {
  const sink = new Collect();
  const registry = new Registry();
  const opts: ComponentOptions<Exports> = {
    id: 'loki.process.t',
    logger: winston.createLogger({ silent: true }),
    registry,
    dataPath: '/nonexistent',
    onStateChange: () => undefined,
    setHealth: () => undefined,
    getService: <T>(name: string): T => {
      if (name === 'livedebugging' && live) return live as T;
      throw new Error('none');
    },
  };
  const args = { ...decodeStages(body), forward_to: [sink] };
  const extracted: Record<string, unknown>[] = [];
  const c = new LokiProcessComponent(opts, args, tap ? { now, tap: (e) => extracted.push({ ...e.extracted }) } : { now });
  return {
    c,
    extracted,
    sink,
    registry,
    async push(lines, labels = {}, ts = { timestampMs: 1_000, timestampNanos: 0 }) {
      const before = sink.got.length;
      const ls = streamLabels(labels);
      await c.receiver.append(lines.map((line) => ({ labels: ls, line, ...ts })));
      return sink.got.slice(before);
    },
  };
}
