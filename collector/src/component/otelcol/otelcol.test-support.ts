/**
 * Test helpers for otelcol.* components (imported by tests only): a capturing consumer, a
 * runner for a component definition, and a decoder built from the official OTLP definitions
 * (the protobufjs code generated from opentelemetry-proto that `@opentelemetry/otlp-proto-exporter-base`
 * ships), so tests check our wire output with code that is not ours.
 */
import { createRequire } from 'node:module';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { Component, ComponentDefinition, ComponentOptions, HealthState } from '../../runtime/component.js';
import type { Signal, Telemetry } from '../../otlp/data.js';
import { ConsumerError, type Consumer } from './consumer.js';
import type { LiveDebuggingService } from '../../runtime/live-debugging.js';

const require = createRequire(import.meta.url);

interface OfficialType {
  decode(b: Uint8Array): unknown;
  toObject(m: unknown, o: Record<string, unknown>): Record<string, unknown>;
}

const official = require('@opentelemetry/otlp-proto-exporter-base/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: Record<'trace' | 'metrics' | 'logs', { v1: Record<string, OfficialType> }> } };
};

/** Decodes an export request with the official generated code; int64 as strings, bytes as hex. */
export function officialDecode(signal: Signal, bytes: Uint8Array): Record<string, unknown> {
  const ns = official.opentelemetry.proto.collector;
  const t = signal === 'traces' ? ns.trace.v1['ExportTraceServiceRequest']! : signal === 'metrics' ? ns.metrics.v1['ExportMetricsServiceRequest']! : ns.logs.v1['ExportLogsServiceRequest']!;
  const obj = t.toObject(t.decode(bytes), { longs: String, enums: Number, bytes: Array, defaults: false });
  return JSON.parse(JSON.stringify(obj, (k, v: unknown) => (Array.isArray(v) && /(?:traceId|spanId|parentSpanId)$/.test(k) ? Buffer.from(v as number[]).toString('hex') : v))) as Record<string, unknown>;
}

export const silentLogger = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });

/** A consumer that records what it receives; `fail` makes it reject (retryable or not). */
export class CaptureConsumer implements Consumer {
  readonly received: Telemetry[] = [];
  fail: { retryable: boolean; message: string } | undefined;
  /** Deliveries refused because `fail` was set. */
  refused = 0;
  #waiters: { n: number; signal: Signal | undefined; resolve: () => void }[] = [];

  consume(data: Telemetry): Promise<void> {
    if (this.fail) return (this.refused++, Promise.reject(new ConsumerError(this.fail.message, this.fail.retryable, this.fail.retryable ? 1000 : undefined)));
    this.received.push(data);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.count(w.signal) >= w.n) {
        w.resolve();
        return false;
      }
      return true;
    });
    return Promise.resolve();
  }

  count(signal?: Signal): number {
    return this.received.filter((t) => signal === undefined || t.signal === signal).reduce((s, t) => s + t.count, 0);
  }

  /** Resolves when at least `n` items of `signal` arrived; rejects after `timeoutMs`. */
  waitFor(n: number, signal?: Signal, timeoutMs = 10_000): Promise<void> {
    if (this.count(signal) >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${n} ${signal ?? 'items'}, got ${this.count(signal)}`)), timeoutMs);
      this.#waiters.push({ n, signal, resolve: () => (clearTimeout(t), resolve()) });
    });
  }
}

export interface Running<C, E> {
  readonly component: C;
  readonly exports: () => E;
  readonly health: () => { state: HealthState; message: string };
  readonly registry: Registry;
  stop(): Promise<void>;
}

/** Parses `cfg` with the definition's schema, builds and runs the component (with `live` as its live-debugging service when given). */
export async function runComponent<A, E extends object, C extends Component<A> = Component<A>>(def: ComponentDefinition<A, E>, cfg: Record<string, unknown>, id = `${def.name}.test`, live?: LiveDebuggingService): Promise<Running<C, E>> {
  const registry = new Registry();
  let exports: E | undefined;
  let health: { state: HealthState; message: string } = { state: 'unknown', message: '' };
  const opts: ComponentOptions<E> = {
    id,
    logger: silentLogger,
    registry,
    dataPath: '/nonexistent',
    onStateChange: (e) => (exports = e),
    setHealth: (state, message) => (health = { state, message }),
    getService: <T>(name: string): T => {
      if (name === 'livedebugging' && live) return live as T;
      throw new Error('no services in tests');
    },
  };
  const component = (await def.build(opts, def.args.parse(cfg))) as C;
  const ac = new AbortController();
  const running = component.run(ac.signal);
  return {
    component,
    exports: () => exports as E,
    health: () => health,
    registry,
    stop: async () => {
      ac.abort();
      await running;
    },
  };
}

export { eventually } from '../../clock/eventually.test-support.js';
